"""Parts of ``bench/peer.py``: the gateway and the Bento peer measured side by side.

``build`` makes the peer binary (cached by source hash), ``procs`` starts and stops what the bench
runs (a private Kafka, Bento) and reads their processes' memory and CPU, ``load`` drives them (paced
pushes, stream readers, idle connections), ``reader`` is the stream reader run as its own process,
``table`` prints the result.
"""
