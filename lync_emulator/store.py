"""The Central Management Store: versioned documents, with JSON persistence.

Documents are plain JSON-safe dicts grouped in collections (one per Lync object family) and
keyed by their case-folded canonical identity. Every write creates a new store version
stamped with its time; the replication model replays the recent writes to bring each
replica's local copy forward, so the store keeps them (:attr:`ManagementStore.writes`) until
every replica has applied them.

Documents are never changed in place: a write replaces the whole document. That lets a
replica's local copy share unchanged documents with the store, so a snapshot costs a
shallow dict copy instead of a deep one even with thousands of objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Doc = Mapping[str, Any]
Data = dict[str, dict[str, Doc]]

# 2: users moved out of the store into the service's directory (Active Directory).
STATE_FORMAT = 2


@dataclass(frozen=True)
class Change:
    """One document replaced (``doc``) or deleted (``doc is None``)."""

    collection: str
    key: str
    doc: Doc | None


@dataclass(frozen=True)
class Write:
    """One committed store version: the changes of one cmdlet invocation."""

    version: int
    at: float
    changes: tuple[Change, ...]


class StoreView:
    """Read access to a set of collections: the live store or a replica's local copy."""

    def __init__(self, data: Data) -> None:
        self._data = data

    def get(self, collection: str, key: str) -> Doc | None:
        """The document with that key, or None."""
        return self._data.get(collection, {}).get(key)

    def values(self, collection: str) -> list[Doc]:
        """Every document of a collection, in creation order."""
        return list(self._data.get(collection, {}).values())

    def documents(self, collection: str) -> Mapping[str, Doc]:
        """A collection's documents by key, in creation order, without copying them.

        The mapping is live (it follows the data's later writes), so it is for reading
        during one call; an index derived from it must check that it has not changed.
        """
        return self._data.get(collection, {})


def copy_data(data: Data) -> Data:
    """A snapshot sharing the (immutable) documents: cheap even for large collections."""
    return {name: dict(docs) for name, docs in data.items()}


def apply_changes(data: Data, changes: Iterable[Change]) -> None:
    """Replay changes onto a data set (the store itself or a replica's local copy)."""
    for change in changes:
        docs = data.setdefault(change.collection, {})
        if change.doc is None:
            docs.pop(change.key, None)
        else:
            docs[change.key] = change.doc


class ManagementStore:
    """The authoritative configuration store, as the front end's CMS holds it.

    Not thread-safe by itself: the service serializes access with its lock.
    """

    def __init__(self, seed: Data, now: float) -> None:
        self._data: Data = copy_data(seed)
        self.version = 1
        self.version_time = now
        self.writes: list[Write] = []

    def view(self) -> StoreView:
        """Read access to the current data."""
        return StoreView(self._data)

    def snapshot(self) -> Data:
        """A copy of the current data, for a replica that applies the current version."""
        return copy_data(self._data)

    def commit(self, changes: Iterable[Change], at: float) -> Write:
        """Apply changes as one new version written at ``at``."""
        frozen = tuple(
            Change(c.collection, c.key, None if c.doc is None else dict(c.doc)) for c in changes
        )
        apply_changes(self._data, frozen)
        self.version += 1
        self.version_time = at
        write = Write(self.version, at, frozen)
        self.writes.append(write)
        return write

    def writes_after(self, version: int) -> list[Write]:
        """The retained writes newer than ``version``, oldest first."""
        if not self.writes:
            return []
        start = max(0, version - self.writes[0].version + 1)
        return self.writes[start:]

    def forget_writes_through(self, version: int) -> None:
        """Drop writes every replica has applied; they are no longer needed to replay."""
        self.writes = self.writes_after(version)

    def to_state(self) -> dict[str, Any]:
        """A JSON-safe dump of everything a restart needs."""
        return {
            "version": self.version,
            "version_time": self.version_time,
            "data": dump_data(self._data),
            "writes": [
                {
                    "version": w.version,
                    "at": w.at,
                    "changes": [[c.collection, c.key, c.doc] for c in w.changes],
                }
                for w in self.writes
            ],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ManagementStore:
        """Rebuild a store from :meth:`to_state` output."""
        store = cls({}, float(state["version_time"]))
        store._data = load_data(state["data"])
        store.version = int(state["version"])
        store.writes = [
            Write(
                int(w["version"]),
                float(w["at"]),
                tuple(Change(coll, key, doc) for coll, key, doc in w["changes"]),
            )
            for w in state["writes"]
        ]
        return store


def dump_data(data: Data) -> dict[str, list[list[Any]]]:
    """A JSON-safe form of a data set (the store's or a replica's local copy).

    Lists of ``[key, doc]`` pairs keep creation order explicit in the file.
    """
    return {name: [[key, dict(doc)] for key, doc in docs.items()] for name, docs in data.items()}


def load_data(dumped: Mapping[str, list[list[Any]]]) -> Data:
    """The inverse of :func:`dump_data`."""
    return {name: {key: doc for key, doc in pairs} for name, pairs in dumped.items()}


def save_state(path: Path, state: Mapping[str, Any]) -> None:
    """Write the state file atomically: a crash leaves the old file or the new, never half.

    The temporary file lives in the same directory so ``os.replace`` is a rename on one
    file system.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # json.dumps runs the C encoder; json.dump to a file would stream through the much
        # slower pure-Python one, which dominates a write with 1,000 objects in the store.
        text = json.dumps({"format": STATE_FORMAT, **state}, ensure_ascii=False)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no file yet (first start)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    state: dict[str, Any] = json.loads(text)
    if state.get("format") != STATE_FORMAT:
        raise ValueError(f"{path}: unsupported state format {state.get('format')!r}")
    return state
