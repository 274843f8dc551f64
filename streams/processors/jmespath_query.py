"""``jmespath`` processor: replace each JSON message with the result of a JMESPath query.

As in Bento (``processor_jmespath.go``): the payload is parsed as JSON, every JSON number is
read as a float64 before the search (so ``5.0`` comes out as ``5``), and the query's result
replaces the payload (a string result as a JSON string, quoted). A payload that is not JSON, or a search that fails (a function given the
wrong types), leaves the message as it was and flags it with the error. The query is compiled
once, when the stream is built; a query that does not compile is a load-time problem.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError, ParseError

from streams import registry
from streams.bloblang.values import JsonFloat
from streams.contracts import ConfigError, MessageProcessor, Transaction
from streams.engine.resources import Resources
from streams.message import Message
from streams.processors.jq_query import set_structured
from streams.processors.query_checks import compiles
from streams.registry import Field


def compile_query(text: str) -> Any:
    """The compiled query; raises ``ValueError`` with Bento's wording."""
    try:
        return jmespath.compile(text)
    except ParseError as exc:
        # One line: the library's text goes on with the query and a caret line below it.
        first = str(exc).splitlines()[0].rstrip(":").removesuffix(", for expression")
        where = "" if "column" in first else f" at column {exc.lex_position}"
        raise ValueError(f"failed to compile JMESPath query: {first}{where}") from None
    except JMESPathError as exc:
        raise ValueError(f"failed to compile JMESPath query: {str(exc).splitlines()[0]}") from None


def numbers_as_floats(value: Any) -> Any:
    """A JSON number decoded with its text kept becomes a plain float64, as Bento's
    ``clearNumbers`` does before searching (integers stay integers, their float64 text is the same)."""
    if isinstance(value, JsonFloat):
        return float(value)
    if isinstance(value, dict):
        return {k: numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers_as_floats(v) for v in value]
    return value


class JmespathProcessor(MessageProcessor):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        try:
            self.query = compile_query(str(conf["query"]))
        except ValueError as exc:
            raise ConfigError(f"{res.path}.query: {exc}") from None
        self.log = res.logger()
        self.res = res

    def process_message(self, msg: Message, batch: list[Message], index: int, txn: Transaction) -> Message:
        try:
            document = numbers_as_floats(msg.value)
            result = self.query.search(document)
        except (ValueError, JMESPathError) as exc:
            self.log.debug(f"jmespath failed: {exc}")
            self.res.incr("processor_error")
            msg.error = str(exc)
            return msg
        set_structured(msg, result)
        return msg


def _factory(conf: dict[str, Any], res: Resources) -> JmespathProcessor:
    return JmespathProcessor(conf, res)


SPEC = registry.processor(
    "jmespath",
    _factory,
    Field("query", "string", doc="The JMESPath query applied to each JSON message.", check=compiles(compile_query, "a JMESPath query")),
    doc="Replace each JSON message with the result of a JMESPath query.",
)
