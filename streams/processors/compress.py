"""``compress`` and ``decompress`` processors: each message's payload through one algorithm.

The algorithms are the Bloblang runtime's ``compress``/``decompress`` methods (same formats and
errors): compress takes ``gzip``, ``pgzip``, ``zlib``, ``flate``, ``snappy`` and ``lz4`` at a
``level`` (-1: the algorithm's default), decompress those and ``bzip2``. A message that fails is
kept as it was and flagged.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.bloblang.errors import ExecError
from streams.bloblang.lib_encoding import compress, decompress
from streams.contracts import MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

COMPRESS = ("gzip", "pgzip", "zlib", "flate", "snappy", "lz4")
DECOMPRESS = ("gzip", "pgzip", "zlib", "bzip2", "flate", "snappy", "lz4")


class CompressProcessor(MessageProcessor):
    def __init__(self, algorithm: str, level: int, res: Resources) -> None:
        self.algorithm = algorithm
        self.level = level
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            msg.set_content(compress(msg.content, self.algorithm, self.level))
        except ExecError as exc:
            msg.error = f"failed to compress message: {exc}"
            self.log.error(msg.error)
        return msg


class DecompressProcessor(MessageProcessor):
    def __init__(self, algorithm: str, res: Resources) -> None:
        self.algorithm = algorithm
        self.log = res.logger()

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            msg.set_content(decompress(msg.content, self.algorithm))
        except ExecError as exc:
            msg.error = f"failed to decompress message: {exc}"
            self.log.error(msg.error)
        return msg


def _compress(conf: dict[str, Any], res: Resources) -> CompressProcessor:
    return CompressProcessor(conf["algorithm"], int(conf["level"]), res)


def _decompress(conf: dict[str, Any], res: Resources) -> DecompressProcessor:
    return DecompressProcessor(conf["algorithm"], res)


SPEC_COMPRESS = registry.processor(
    "compress",
    _compress,
    Field("algorithm", "string", doc="The compression algorithm.", options=COMPRESS),
    Field("level", "int", -1, "The compression level (-1: the algorithm's default)."),
    doc="Compress each message's payload.",
)
SPEC_DECOMPRESS = registry.processor(
    "decompress",
    _decompress,
    Field("algorithm", "string", doc="The decompression algorithm.", options=DECOMPRESS),
    doc="Decompress each message's payload.",
)
