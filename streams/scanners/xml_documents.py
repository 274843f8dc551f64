"""``xml_documents`` scanner: a message per XML document of a stream of concatenated documents,
each converted as ``parse_xml`` converts one (Bento ``internal/impl/pure/scanner_xml.go``; the
rules are in ``streams.bloblang.goxml``). Text and markup between documents are skipped; a bad
document fails the source after the documents before it.

``operator`` must be ``to_json`` (Bento's default, ``""``, is refused as Bento refuses it).
NOTE: ``cast`` is accepted and, as in Bento (v1.20 and since), not applied: every value stays a
string. A config written for Bento therefore gives the same messages here.

A document is cut once its root element closes; until then reading resumes, as bytes arrive,
from the last whole token (a document spread over many chunks is read once, not once per chunk).
"""

from __future__ import annotations

from typing import Any

from streams.bloblang import goxml
from streams.message import Message
from streams.registry import Field
from streams.scanners.base import ScanConfigError, ScanError, Scanner, ScannerMaker, spec


class XmlDocumentsScanner(Scanner):
    def __init__(self) -> None:
        self.reader: goxml.DocumentReader | None = None  # the document being read, if any

    def feed(self, chunk: bytes) -> list[Message]:
        self.raise_held()
        if self.reader is None:
            self.reader = goxml.DocumentReader(chunk, final=False)
        else:
            self.reader.extend(chunk)
        return self._documents(final=False)

    def end(self) -> list[Message]:
        self.raise_held()
        if self.reader is None:
            return []
        self.reader.extend(b"", final=True)
        return self._documents(final=True)

    def _documents(self, final: bool) -> list[Message]:
        out: list[Message] = []
        try:
            while self.reader is not None:
                doc = self.reader.read()
                if doc is None:  # only text and markup outside documents so far: keep reading them
                    if final:
                        self.reader = None
                    break
                out.append(Message.from_value(doc))
                rest = self.reader.rest()
                self.reader = goxml.DocumentReader(rest, final=final) if rest else None
        except goxml.Truncated as exc:
            if final:
                self.reader = None
                return self.hold(out, ScanError(str(exc)))
        except goxml.XmlError as exc:
            self.reader = None
            return self.hold(out, ScanError(str(exc)))
        return out


def build(conf: dict[str, Any]) -> ScannerMaker:
    if conf["operator"] != "to_json":
        raise ScanConfigError(("operator",), f"operator not recognised: {conf['operator']}")
    return lambda name: XmlDocumentsScanner()


SPEC = spec(
    "xml_documents",
    build,
    Field("operator", "string", "", "The conversion applied to each document: to_json."),
    Field("cast", "bool", False, "Accepted and, as in Bento, not applied (values stay strings)."),
    doc="A message per XML document of a stream of documents, as JSON.",
)
