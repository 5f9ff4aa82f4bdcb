"""The audit log: every cmdlet invocation the emulator ran, and what came of it.

Tests and benchmarks use it to prove what reached the server, for example that a preview
wrote nothing (``audit.writes() == []``). Entries are kept in memory and, when a path is
given, appended to a JSON-lines file so a run can be inspected after the process ends.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["ok", "error", "failed"]


@dataclass(frozen=True)
class AuditEntry:
    """One invocation.

    ``cmdlet`` is in canonical casing when the cmdlet is known (as typed otherwise);
    ``parameters`` holds bound values by canonical name, or the raw arguments when binding
    failed (positional ones as ``"$args[i]"``). ``outcome`` is ``ok``, ``error`` (only
    non-terminating errors) or ``failed`` (a terminating error); ``error_id`` is the first
    error's FullyQualifiedErrorId. ``wrote`` says whether the invocation changed anything
    the server keeps: the Central Management Store or, for user cmdlets, the directory.
    ``time`` is the server's clock (skew included).
    """

    time: datetime
    role: str
    username: str
    cmdlet: str
    parameters: Mapping[str, Any]
    outcome: Outcome
    error_id: str | None
    wrote: bool

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-safe values (datetimes in ISO 8601)."""
        return {
            "time": self.time.isoformat(),
            "role": self.role,
            "username": self.username,
            "cmdlet": self.cmdlet,
            "parameters": json_safe(dict(self.parameters)),
            "outcome": self.outcome,
            "error_id": self.error_id,
            "wrote": self.wrote,
        }


def json_safe(value: Any) -> Any:
    """Plain JSON values from the seam's values (datetimes, unsigned wrappers, nesting)."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return str(value)


class AuditLog:
    """Thread-safe record of invocations, optionally mirrored to a JSON-lines file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._entries: list[AuditEntry] = []

    def record(self, entry: AuditEntry) -> None:
        """Append an entry (and its JSON line, if a file is configured)."""
        with self._lock:
            self._entries.append(entry)
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")

    def entries(self, cmdlet: str | None = None) -> list[AuditEntry]:
        """All entries in order, or those of one cmdlet (case-insensitive)."""
        with self._lock:
            chosen = list(self._entries)
        if cmdlet is None:
            return chosen
        return [e for e in chosen if e.cmdlet.casefold() == cmdlet.casefold()]

    def writes(self) -> list[AuditEntry]:
        """The entries that changed the store."""
        return [e for e in self.entries() if e.wrote]

    def failures(self) -> list[AuditEntry]:
        """The entries that reported any error."""
        return [e for e in self.entries() if e.outcome != "ok"]

    def clear(self) -> None:
        """Forget the in-memory entries (the file, an append-only record, is kept)."""
        with self._lock:
            self._entries.clear()
