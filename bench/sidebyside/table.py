"""The one table ``bench/peer.py`` prints: each measure for Bento and for the gateway, and the
gateway's figure as a ratio to the peer's, oriented so that ≥ 1.0 always means "as good or better"."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    measure: str
    bento: float | None
    streams: float | None
    higher_is_better: bool
    unit: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.bento or not self.streams:
            return None
        return self.streams / self.bento if self.higher_is_better else self.bento / self.streams


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def render(rows: list[Row]) -> str:
    head = ("measure", "Bento", "streams", "ratio", "ratio is", "notes")
    body = [
        (
            f"{r.measure}{f' ({r.unit})' if r.unit else ''}", fmt(r.bento), fmt(r.streams),
            "–" if r.ratio is None else f"{r.ratio:.2f}×",
            "streams/Bento" if r.higher_is_better else "Bento/streams", r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    out = []
    for n, line in enumerate([head, *body]):
        cells = [str(c).ljust(w) if i in (0, 4, 5) else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
