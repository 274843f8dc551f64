"""Bento's scanners: splitters that cut a stream of bytes into messages, without I/O.

``streams.scanners.catalog`` lists them and checks and builds their configs; ``base`` says what a
scanner is. One module per scanner."""
