"""``stdout`` output: each message becomes one line of the gateway's log.

Bento writes to the process's standard output, which under a gateway belongs to the operator's
log stream; here every message is one log record (logger ``streams.engine``, level INFO) carrying
the API, the stream and ``output=stdout``, so the lines of several streams and workers stay
apart. It is also what a stream without ``output`` writes to (Bento's default,
``streams.forms.DEFAULT_OUTPUT``). A line break inside a message is written as ``\\n``: one
message, one line, whichever log format the gateway uses.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.contracts import Output, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


def log_line(content: bytes) -> str:
    """A message as one line of text (invalid UTF-8 replaced, line breaks escaped)."""
    text = content.decode("utf-8", "replace")
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class StdoutOutput(Output):
    def __init__(self, res: Resources) -> None:
        self.log = res.logger().bind(output="stdout")

    def write(self, batch: list[Message], txn: Transaction) -> None:
        for msg in batch:
            self.log.info(log_line(msg.content))


def _factory(conf: dict[str, Any], res: Resources) -> StdoutOutput:
    return StdoutOutput(res)


SPEC = registry.output(
    "stdout",
    _factory,
    Field("codec", "string", "lines", "Accepted for compatibility; every message is one log line."),
    doc="Write each message as one line of the gateway's log, with the API and stream names.",
)
