"""A write-ahead journal of creates, kept on the machine that runs ``pulumi up``.

The engine records nothing for a create that fails, and a Python dynamic provider cannot hand
back partial state. Two failures would then be unrecoverable: a ``New-`` whose reply was lost
in an outage leaves an object the next ``up`` cannot tell from a hand-made one, and a takeover
of a singleton whose write was applied makes the next ``up`` record the written value as the
one to restore. So before its first write a create journals what it is about to do (the
object, the values it will write, and for a takeover the prior values it read), and removes
the entry once the engine has its result. A later create of the same object on the same
server reads the entry: its prior values are the true ones, and an object that exists with
exactly the journaled values is this resource's own.

The journal lives in ``.lync-provider/journal`` of the project directory (the provider
process's working directory), or in ``LYNC_JOURNAL_DIR``. A create retried on another machine
does not see it and falls back to the safe behaviour: an existing object is not taken over
without ``adopt``. Entries hold property values, never credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JOURNAL_ENV = "LYNC_JOURNAL_DIR"
DEFAULT_DIR = Path(".lync-provider") / "journal"


@dataclass(frozen=True)
class Entry:
    """What a create was about to do: write ``desired``; ``prior`` for a takeover."""

    desired: dict[str, Any]
    prior: dict[str, Any] | None


class Journal:
    """Entries keyed by server, resource kind and identity (case-insensitively)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or Path(os.environ.get(JOURNAL_ENV) or DEFAULT_DIR)

    def _path(self, endpoint: str, kind: str, identity: str) -> Path:
        key = "\n".join((endpoint.casefold(), kind, identity.casefold())).encode()
        return self.directory / f"{hashlib.sha256(key).hexdigest()}.json"

    def find(self, endpoint: str, kind: str, identity: str) -> Entry | None:
        """The pending entry for this object, if an earlier create left one."""
        try:
            data = json.loads(self._path(endpoint, kind, identity).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return Entry(dict(data["desired"]), data["prior"])

    def record(
        self,
        endpoint: str,
        kind: str,
        identity: str,
        desired: Mapping[str, Any],
        prior: Mapping[str, Any] | None,
    ) -> None:
        """Write the entry atomically (a crash leaves the old one or the new one)."""
        path = self._path(endpoint, kind, identity)
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "endpoint": endpoint,
            "kind": kind,
            "identity": identity,
            "desired": dict(desired),
            "prior": None if prior is None else dict(prior),
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out)
        os.replace(temporary, path)

    def discard(self, endpoint: str, kind: str, identity: str) -> None:
        """The create's outcome is settled (in state, or undone): forget it."""
        self._path(endpoint, kind, identity).unlink(missing_ok=True)
