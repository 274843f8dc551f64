"""What a reload does to each API: keep it, start it, replace it or stop it (no I/O).

A reload must not touch what did not change: an API whose definition is the same as the one
running keeps its instances and every open WebSocket, SSE and long-poll connection. So each API
is identified by its definition file and compared by a fingerprint of everything the engine
reads from the definition (``fingerprint``); only a different fingerprint replaces it.

A file that is still there but no longer valid is not a removal: the last good version keeps
running (``broken``) until the file is fixed or deleted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any


def fingerprint(
    name: str,
    listen_path: str,
    streams: Mapping[str, Any],
    *,
    strip: bool = False,
    traffic_logs: bool = False,
    context_variables: bool = True,
    auth: Any = None,
    rate_limits: list[Any] | None = None,
) -> str:
    """A digest of what the engine serves from a definition; equal digests serve the same.
    ``auth`` (the API's ``AuthConfig``) and ``rate_limits`` (``ApiRateLimits.facts``) count only
    when set, so an open API without limits keeps the digest it always had."""
    facts: dict[str, Any] = {
        "name": name,
        "listen_path": listen_path,
        "strip": strip,
        "traffic_logs": traffic_logs,
        "context_variables": context_variables,
        "streams": streams,
    }
    if auth is not None:
        facts["auth"] = repr(auth)
    if rate_limits:
        facts["rate_limits"] = rate_limits
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ReloadPlan:
    """The outcome of comparing the running APIs with the loaded definitions, by source.

    ``keep``: unchanged; ``start``: new; ``replace``: changed (stop the old, start the new);
    ``stop``: gone (file removed, or made inactive); ``kept_broken``: the file is invalid now,
    the last good version keeps running.
    """

    keep: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    kept_broken: list[str] = field(default_factory=list)

    @classmethod
    def between(
        cls, running: Mapping[str, str], wanted: Mapping[str, str], broken: Collection[str] = ()
    ) -> ReloadPlan:
        """``running`` and ``wanted`` map a source to its fingerprint; ``broken`` holds the
        sources that exist but failed validation."""
        plan = cls()
        for source in sorted(running):
            if source in wanted:
                target = plan.keep if wanted[source] == running[source] else plan.replace
                target.append(source)
            elif source in broken:
                plan.kept_broken.append(source)
            else:
                plan.stop.append(source)
        plan.start = sorted(s for s in wanted if s not in running)
        return plan

    @property
    def changes(self) -> bool:
        """Whether anything starts or stops."""
        return bool(self.start or self.replace or self.stop)

    def summary(self) -> dict[str, int]:
        return {
            "kept": len(self.keep),
            "started": len(self.start),
            "replaced": len(self.replace),
            "stopped": len(self.stop),
            "kept_broken": len(self.kept_broken),
        }
