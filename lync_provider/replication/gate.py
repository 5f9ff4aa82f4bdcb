"""ReplicationGate: wait until the Central Management Store has reached the replicas.

Lync writes configuration to the Central Management Store; each server (the Edge included)
gets it only when its replica applies it, usually within a minute, sometimes never. The gate
is a resource placed after the configuration resources, with their outputs as ``triggers``:
when any of them changes, the next ``up`` updates the gate, which waits; when nothing
changed, the engine plans no step for it and nothing waits. Resources that must only be
touched once the Edge has the configuration depend on the gate.

The Pulumi engine passes no custom timeout to a dynamic provider and cannot cancel one, so the
gate enforces its own deadline, and fails with a per-replica account of what lagged.

Give it ``changed_after``: the ``changed_at`` outputs of the resources it waits for. Each is
the newest ``LastUpdateCreation`` the Central Management Store reported just before that
resource wrote, so a replica counts once it is UpToDate with a snapshot created later: only
the server's own times are compared, and a front end whose clock is minutes ahead of or
behind this machine's neither opens the gate early nor holds it shut. Without
``changed_after``, or with one of them missing, the gate counts a replica once it reports
UpToDate in a report newer than the one it showed when the gate began, so a replica that was
already done is seen as done at its next report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import Field, model_validator

from lync_provider.lync.versions import version_mismatch
from lync_provider.remoting import CmdletCall
from lync_provider.replication.polling import Backoff
from lync_provider.replication.status import TROUBLESHOOTING, ReplicaStatus, replica_table
from lync_provider.resources.base import STATUS, LyncProvider, LyncResourceError, Spec
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import Fqdn

log = logging.getLogger(__name__)


class ReplicationGateSpec(Spec):
    """Inputs of the gate."""

    cmdlet: ClassVar[str] = "Get-CsManagementStoreReplicationStatus"
    case_insensitive: ClassVar[frozenset[str]] = frozenset({"replicas"})
    control_fields: ClassVar[frozenset[str]] = frozenset()

    triggers: Any = None
    changed_after: list[datetime | None] | None = None
    replicas: list[Fqdn] | None = None
    timeout_seconds: float = Field(default=600.0, gt=0)
    poll_min_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=15.0, gt=0)
    force_replication_after_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> ReplicationGateSpec:
        if self.poll_max_seconds < self.poll_min_seconds:
            raise ValueError("poll_max_seconds must not be below poll_min_seconds")
        return self


@dataclass
class WaitResult:
    """What the wait saw: final status per awaited replica and its cost."""

    statuses: list[ReplicaStatus]
    waited_seconds: float
    polls: int
    forced: list[str]

    def as_outputs(self) -> dict[str, Any]:
        """Plain values for Pulumi outputs."""
        return {
            "replica_status": [s.as_output() for s in self.statuses],
            "waited_seconds": round(self.waited_seconds, 3),
            "polls": self.polls,
            "forced_replication": self.forced,
        }


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _has_applied(
    status: ReplicaStatus, marker: datetime | None, first: dict[str, ReplicaStatus]
) -> bool:
    if marker is not None:
        return status.has_applied_change_after(marker)
    return status.has_reported_since(first.get(status.fqdn.casefold()))


class ReplicationGateProvider(LyncProvider):
    """Polls replication status with backoff until every awaited replica applied the change."""

    spec = ReplicationGateSpec
    kind = "ReplicationGate"
    # Only these re-run the wait; the others only tune it.
    waits_on: ClassVar[frozenset[str]] = frozenset({"triggers", "changed_after", "replicas"})

    def statuses(self) -> list[ReplicaStatus]:
        """Current status of every replica, from the front end."""
        records = self.frontend().read(STATUS)
        return [ReplicaStatus.from_record(r) for r in records]

    def wait(self, settings: ReplicationGateSpec) -> WaitResult:
        """Block until applied or the deadline passes (then raise with the lagging rows).

        A replica counts once it is UpToDate with a snapshot created after the latest of
        ``changed_after`` (server times taken before the writes); without them, or when any
        is missing (a write whose status read failed: it may be newer than all the others),
        once it reports UpToDate in a report newer than the one it showed at the first poll.
        """
        stamps = settings.changed_after or []
        known = [_aware(stamp) for stamp in stamps if stamp is not None]
        marker = max(known) if known and len(known) == len(stamps) else None
        backoff = Backoff(
            settings.timeout_seconds, settings.poll_min_seconds, settings.poll_max_seconds
        )
        forced: list[str] = []
        progress: dict[str, tuple[Any, float]] = {}
        first: dict[str, ReplicaStatus] | None = None
        while True:
            awaited = self._awaited(self.statuses(), settings.replicas)
            now = backoff.polled()
            if first is None:
                first = {s.fqdn.casefold(): s for s in awaited}
            lagging = [s for s in awaited if not _has_applied(s, marker, first)]
            if not lagging:
                return WaitResult(awaited, backoff.elapsed, backoff.polls, forced)
            for status in lagging:
                seen = (status.up_to_date, status.last_status_report)
                if progress.get(status.fqdn, (None,))[0] != seen:
                    progress[status.fqdn] = (seen, now)
            if settings.force_replication_after_seconds is not None:
                stuck = [
                    s.fqdn
                    for s in lagging
                    if s.fqdn not in forced
                    and now - progress[s.fqdn][1] >= settings.force_replication_after_seconds
                ]
                for fqdn in stuck:
                    self._force(fqdn)
                    forced.append(fqdn)
            if backoff.expired:
                message = self._timeout_message(settings, lagging, backoff.polls, forced)
                raise LyncResourceError(message)
            backoff.sleep()

    def _awaited(
        self, statuses: list[ReplicaStatus], wanted: Sequence[str] | None
    ) -> list[ReplicaStatus]:
        if wanted is None:
            return statuses
        by_name = {s.fqdn.lower(): s for s in statuses}
        unknown = [name for name in wanted if name.lower() not in by_name]
        if unknown:
            known = ", ".join(sorted(s.fqdn for s in statuses)) or "none"
            raise LyncResourceError(
                f"{self.kind}: the Central Management Store knows no replica "
                f"{', '.join(unknown)}; known replicas: {known}"
            )
        return [by_name[name.lower()] for name in wanted]

    def _force(self, fqdn: str) -> None:
        log.warning("replica %s makes no progress; forcing a full replication", fqdn)
        self.frontend().write(
            CmdletCall("Invoke-CsManagementStoreReplication", {"ReplicaFqdn": fqdn})
        )

    def _timeout_message(
        self,
        settings: ReplicationGateSpec,
        lagging: list[ReplicaStatus],
        polls: int,
        forced: list[str],
    ) -> str:
        lines = [
            f"{self.kind}: replication did not finish within {settings.timeout_seconds:g} s "
            f"({polls} polls of Get-CsManagementStoreReplicationStatus on "
            f"{self.connections().require_frontend().display_url}).",
            replica_table(lagging),
        ]
        if forced:
            lines.append(f"Invoke-CsManagementStoreReplication was run for: {', '.join(forced)}")
        lines.append(TROUBLESHOOTING)
        return "\n".join(lines)

    def _run(self, props: Any) -> dict[str, Any]:
        settings = ReplicationGateSpec.model_validate(self.managed(props))
        with self.failing("wait for replication", "replication"):
            result = self.wait(settings)
            reported = [s.product_version for s in result.statuses if s.product_version]
            mismatch = version_mismatch(self.server_version(), reported)
        if mismatch:
            log.warning("%s: %s", self.kind, mismatch)
        return {**self.managed(props), **result.as_outputs()}

    def create(self, props: Any) -> CreateResult:
        """Wait for the change that led to this gate's creation."""
        return CreateResult("replication", self._run(props))

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        """Any input change is an update; only triggers or replicas make it wait."""
        changed = self.changed_properties(olds, news)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=None)

    def update(self, _id: str, olds: Any, news: Any) -> UpdateResult:
        """Wait again when triggers or the awaited replicas changed; otherwise just record."""
        if self.waits_on & set(self.changed_properties(olds, news)):
            return UpdateResult(self._run(news))
        results = {k: v for k, v in olds.items() if k not in self.spec.model_fields}
        return UpdateResult({**results, **self.managed(news)})

    def read(self, id_: str, props: Any) -> ReadResult:
        """Report the current status; never fails on lag (refresh is not a deployment)."""
        settings = ReplicationGateSpec.model_validate(self.managed(props))
        with self.failing("read replication status", "replication"):
            statuses = self._awaited(self.statuses(), settings.replicas)
        outs = {**props, "replica_status": [s.as_output() for s in statuses]}
        return ReadResult(id_, outs)

    def delete(self, _id: str, _props: Any) -> None:
        """Nothing exists on the server for the gate."""


@dataclass
class ReplicationGateArgs:
    """Inputs of :class:`ReplicationGate`."""

    triggers: pulumi.Input[Any] | None = None
    changed_after: pulumi.Input[list[pulumi.Input[str]]] | None = None
    replicas: pulumi.Input[list[pulumi.Input[str]]] | None = None
    timeout_seconds: pulumi.Input[float] | None = None
    poll_min_seconds: pulumi.Input[float] | None = None
    poll_max_seconds: pulumi.Input[float] | None = None
    force_replication_after_seconds: pulumi.Input[float] | None = None


class ReplicationGate(LyncResource, module="lync", name="ReplicationGate"):
    """Waits until the replicas applied the configuration; depend on it to wait too.

    Outputs: ``replica_status`` (per replica: fqdn, up_to_date, last_status_report,
    last_update_creation, product_version), ``waited_seconds``, ``polls``,
    ``forced_replication``.
    """

    args_type = ReplicationGateArgs
    provider_type = ReplicationGateProvider
    extra_outputs = ("replica_status", "waited_seconds", "polls", "forced_replication")
