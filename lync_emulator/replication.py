"""CMS replication: each replica's local copy and the status it reports, evaluated lazily.

Real Lync pushes every configuration change from the Master Replicator to a read-only copy on
each server; Get-CsManagementStoreReplicationStatus reports whether each copy has applied the
latest change. A deployment tool must not trust that report blindly, so this model
reproduces its quirks, each switchable at runtime through :class:`ReplicationSettings`:

* a healthy replica applies version v (written at w_v) at w_v + ``delay_seconds``;
* for ``stale_window_seconds`` after a write, a replica that was up to date before it still
  reports ``UpToDate=True`` with its previous status (the gate trap);
* a ``broken`` replica never applies anything and reports blank status fields, as a real
  Edge with failing replication does;
* a ``stalled`` replica ignores incremental updates but applies a forced full push;
* Invoke-CsManagementStoreReplication schedules a full push ``forced_push_delay_seconds``
  later; until it lands the replica's status record is deleted, so it reports not up to date.

What a status reports, all in the server's clock (the service's, skew included):

* ``LastUpdateCreation``: when the configuration snapshot the replica last applied was
  created, i.e. the time of the newest CMS write that snapshot contains (ODP
  Get-CsManagementStoreReplicationStatus Example 4 uses it as when a computer was "last
  replicated"; the snapshot model is the page's DESCRIPTION). It moves only when the
  replica applies a newer snapshot: during the stale window it is the *old* snapshot's time,
  a forced push of unchanged data keeps it, and a write that never reaches the CMS (user
  accounts live in Active Directory) never moves it. So "UpToDate and LastUpdateCreation
  later than any LastUpdateCreation reported before my write" means "applied my write".
* ``LastStatusReport``: when the replica last reported, i.e. applied a snapshot or push.
* ``ProductVersion``: the server product's (see :mod:`lync_emulator.versions`).

Nothing runs in the background: every query first advances each replica to the clock's
current time, which keeps tests deterministic with a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lync_emulator.invocation import Role
from lync_emulator.store import (
    Data,
    ManagementStore,
    StoreView,
    apply_changes,
    dump_data,
    load_data,
)

Clock = Callable[[], float]


@dataclass(frozen=True)
class ReplicaSpec:
    """A server holding a replica: its FQDN and whether it is a front end or an Edge."""

    fqdn: str
    role: Literal["frontend", "edge"]


DEFAULT_REPLICAS: tuple[ReplicaSpec, ...] = (
    ReplicaSpec("fe01.contoso.local", "frontend"),
    ReplicaSpec("edge01.contoso.local", "edge"),
)


@dataclass(frozen=True)
class ReplicationSettings:
    """The replication timing and faults; ``broken`` and ``stalled`` hold replica FQDNs."""

    delay_seconds: float = 0.0
    stale_window_seconds: float = 0.0
    broken: frozenset[str] = frozenset()
    stalled: frozenset[str] = frozenset()
    forced_push_delay_seconds: float = 0.0


@dataclass(frozen=True)
class ReplicaStatus:
    """What Get-CsManagementStoreReplicationStatus reports for one replica."""

    fqdn: str
    up_to_date: bool
    last_status_report: datetime | None
    last_update_creation: datetime | None
    product_version: str | None


def utc(timestamp: float) -> datetime:
    """A clock reading as an aware UTC datetime. Which zone the real status cmdlet's times
    are in is undocumented (lync-cmdlet-fidelity.md); the provider compares only server
    times with each other and reads a time without a zone as UTC, so either works."""
    return datetime.fromtimestamp(timestamp, tz=UTC)


@dataclass
class _Replica:
    """One replica's applied version, its local copy, pending pushes and stale report."""

    spec: ReplicaSpec
    applied: int
    applied_at: float
    creation: float
    data: Data
    pushes: list[float] = field(default_factory=list)
    # The status this replica had when version ``stale_for`` was written, if up to date then.
    stale_for: int = 0
    stale_reported_at: float = 0.0
    stale_creation: float = 0.0

    def to_state(self, current_version: int) -> dict[str, Any]:
        # An up-to-date copy equals the store's data, so it is not written twice.
        return {
            "applied": self.applied,
            "applied_at": self.applied_at,
            "creation": self.creation,
            "data": None if self.applied == current_version else dump_data(self.data),
            "pushes": self.pushes,
            "stale": [self.stale_for, self.stale_reported_at, self.stale_creation],
        }

    @classmethod
    def from_state(
        cls, spec: ReplicaSpec, state: Mapping[str, Any], store: ManagementStore
    ) -> _Replica:
        stale_for, stale_at, stale_creation = state["stale"]
        data = store.snapshot() if state["data"] is None else load_data(state["data"])
        return cls(
            spec,
            int(state["applied"]),
            float(state["applied_at"]),
            float(state["creation"]),
            data,
            [float(p) for p in state["pushes"]],
            int(stale_for),
            float(stale_at),
            float(stale_creation),
        )


def _flagged(replica: _Replica, fqdns: frozenset[str]) -> bool:
    """Whether a settings set names the replica; FQDNs compare case-insensitively."""
    return replica.spec.fqdn.casefold() in {name.casefold() for name in fqdns}


class UnknownReplicaError(LookupError):
    """No replica has that FQDN."""


class Replication:
    """The replicas of one store. Callers hold ``lock`` (shared with the service)."""

    def __init__(
        self,
        store: ManagementStore,
        replicas: Sequence[ReplicaSpec] = DEFAULT_REPLICAS,
        settings: ReplicationSettings | None = None,
        *,
        product_version: str,
        clock: Clock = time.time,
        lock: threading.RLock | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        if not replicas:
            raise ValueError("at least one replica is needed")
        self.lock = lock or threading.RLock()
        self._store = store
        self._product_version = product_version
        self._clock = clock
        self._settings = settings or ReplicationSettings()
        saved = (state or {}).get("replicas", {})
        now = clock()
        self._replicas: dict[str, _Replica] = {}
        for spec in replicas:
            key = spec.fqdn.casefold()
            if key in saved:
                self._replicas[key] = _Replica.from_state(spec, saved[key], store)
            else:
                # A replica new to this store starts as a fresh install: a full copy now.
                self._replicas[key] = _Replica(
                    spec, store.version, now, store.version_time, store.snapshot()
                )

    @property
    def settings(self) -> ReplicationSettings:
        """The current settings."""
        return self._settings

    @settings.setter
    def settings(self, value: ReplicationSettings) -> None:
        # Settle the past under the old settings so a change only affects the future.
        with self.lock:
            self.advance(self._clock())
            self._settings = value

    @property
    def replicas(self) -> tuple[ReplicaSpec, ...]:
        """The replicas, in configuration order."""
        return tuple(r.spec for r in self._replicas.values())

    def fqdn_for(self, role: Role) -> str:
        """The replica on the server a request reached (``local`` means the front end)."""
        wanted = "edge" if role is Role.EDGE else "frontend"
        for replica in self._replicas.values():
            if replica.spec.role == wanted:
                return replica.spec.fqdn
        raise UnknownReplicaError(f"no {wanted} replica is configured")

    def _replica(self, fqdn: str) -> _Replica:
        try:
            return self._replicas[fqdn.casefold()]
        except KeyError:
            raise UnknownReplicaError(fqdn) from None

    def advance(self, now: float) -> None:
        """Apply everything each replica would have applied by ``now``."""
        for replica in self._replicas.values():
            self._advance(replica, now)
        self._store.forget_writes_through(min(r.applied for r in self._replicas.values()))

    def _advance(self, replica: _Replica, now: float) -> None:
        settings = self._settings
        due = [p for p in replica.pushes if p <= now]
        replica.pushes = [p for p in replica.pushes if p > now]
        if _flagged(replica, settings.broken):
            return
        pending = self._store.writes_after(replica.applied)
        # Candidates are (version, applied_at, creation); the newest version wins.
        candidates: list[tuple[int, float, float]] = []
        if not _flagged(replica, settings.stalled):
            reached = [w for w in pending if w.at + settings.delay_seconds <= now]
            if reached:
                last = reached[-1]
                candidates.append((last.version, last.at + settings.delay_seconds, last.at))
        for push in due:
            written = [w for w in pending if w.at <= push]
            if written:
                candidates.append((written[-1].version, push, written[-1].at))
            else:
                candidates.append((replica.applied, push, replica.creation))
        if not candidates:
            return
        version, applied_at, creation = max(candidates)
        apply_changes(
            replica.data,
            (change for w in pending if w.version <= version for change in w.changes),
        )
        replica.applied, replica.applied_at, replica.creation = version, applied_at, creation

    def before_write(self, now: float) -> None:
        """Record each replica's status as the write about to happen will find it.

        That status is what an up-to-date replica keeps reporting during the stale window.
        """
        self.advance(now)
        upcoming = self._store.version + 1
        for replica in self._replicas.values():
            if self._up_to_date(replica):
                replica.stale_for = upcoming
                replica.stale_reported_at = replica.applied_at
                replica.stale_creation = replica.creation
            else:
                replica.stale_for = 0

    def _up_to_date(self, replica: _Replica) -> bool:
        return replica.applied == self._store.version and not replica.pushes

    def status(self, now: float, fqdn: str | None = None) -> list[ReplicaStatus]:
        """The reported status of one replica (UnknownReplicaError if none) or of all."""
        self.advance(now)
        chosen = [self._replica(fqdn)] if fqdn else list(self._replicas.values())
        return [self._report(replica, now) for replica in chosen]

    def _report(self, replica: _Replica, now: float) -> ReplicaStatus:
        settings = self._settings
        fqdn = replica.spec.fqdn
        if _flagged(replica, settings.broken):
            return ReplicaStatus(fqdn, False, None, utc(replica.creation), None)
        stale_until = self._store.version_time + settings.stale_window_seconds
        if replica.stale_for == self._store.version and now < stale_until:
            return ReplicaStatus(
                fqdn,
                True,
                utc(replica.stale_reported_at),
                utc(replica.stale_creation),
                self._product_version,
            )
        return ReplicaStatus(
            fqdn,
            self._up_to_date(replica),
            utc(replica.applied_at),
            utc(replica.creation),
            self._product_version,
        )

    def applied_version(self, fqdn: str, now: float) -> int:
        """The store version a replica's local copy holds (for tests and diagnostics)."""
        self.advance(now)
        return self._replica(fqdn).applied

    def local_view(self, fqdn: str, now: float) -> StoreView:
        """Read access to a replica's local copy, as ``-LocalStore`` on that server sees it."""
        self.advance(now)
        return StoreView(self._replica(fqdn).data)

    def force_push(self, now: float, fqdn: str | None = None) -> list[str]:
        """Schedule a full push to one replica or all; returns the FQDNs it targets."""
        self.advance(now)
        targets = [self._replica(fqdn)] if fqdn else list(self._replicas.values())
        for replica in targets:
            replica.pushes.append(now + self._settings.forced_push_delay_seconds)
        return [replica.spec.fqdn for replica in targets]

    def to_state(self) -> dict[str, Any]:
        """A JSON-safe dump of every replica, keyed by case-folded FQDN."""
        version = self._store.version
        return {"replicas": {key: r.to_state(version) for key, r in self._replicas.items()}}
