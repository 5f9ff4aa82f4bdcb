"""The server's clock (real clock plus skew) and what LastUpdateCreation means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lync_emulator.replication import ReplicationSettings
from lync_emulator.service import LyncService
from tests.emulator.model_helpers import START, FakeClock, make_service, ok, one, provider

EDGE = "edge01.contoso.local"


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _statuses(service: LyncService) -> dict[str, dict]:
    found = ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus"))
    return {o.properties["ReplicaFqdn"]: o.properties for o in found}


def _heartbeat(service: LyncService) -> datetime:
    result = service.run(
        "frontend", "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=None
    )
    heartbeat: datetime = one(result)["ActiveMasterLastHeartbeat"]
    return heartbeat


def _new(service: LyncService, name: str) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", name, **provider(f"{name}.example")))


@pytest.mark.parametrize("skew", [180.0, -180.0], ids=["ahead", "behind"])
def test_every_reported_time_is_on_the_skewed_server_clock(skew: float) -> None:
    clock = FakeClock()
    service = LyncService(clock=clock, clock_skew_seconds=skew)
    status = _statuses(service)[EDGE]
    assert status["LastStatusReport"] == status["LastUpdateCreation"] == _at(START + skew)
    clock.advance(10)
    _new(service, "P")
    status = _statuses(service)[EDGE]
    assert status["LastUpdateCreation"] == _at(START + 10 + skew)
    assert status["LastStatusReport"] == _at(START + 10 + skew)
    assert service.audit.writes()[-1].time == _at(START + 10 + skew)
    assert _heartbeat(service) == _at(START + 10 + skew)


def test_the_skew_can_change_at_runtime() -> None:
    clock = FakeClock()
    service = make_service(clock)
    assert _heartbeat(service) == _at(START)
    service.clock_skew_seconds = -60
    assert service.clock_skew_seconds == -60
    assert _heartbeat(service) == _at(START - 60)
    clock.advance(120)
    _new(service, "P")
    assert _statuses(service)[EDGE]["LastUpdateCreation"] == _at(START + 60)
    service.clock_skew_seconds = 30
    assert _heartbeat(service) == _at(START + 150)
    # Times already reported keep the skew they were reported with.
    assert _statuses(service)[EDGE]["LastUpdateCreation"] == _at(START + 60)


@pytest.mark.parametrize("skew", [0.0, 300.0, -300.0], ids=["in-sync", "ahead", "behind"])
def test_up_to_date_with_a_newer_update_creation_means_the_write_was_applied(
    skew: float,
) -> None:
    """The provider's rule: a replica applied a write once it is UpToDate and its
    LastUpdateCreation is newer than the newest one any replica reported before the write."""
    clock = FakeClock()
    service = LyncService(
        clock=clock,
        clock_skew_seconds=skew,
        replication=ReplicationSettings(delay_seconds=20, stale_window_seconds=5),
    )
    _new(service, "Old")
    clock.advance(60)
    newest_before = max(s["LastUpdateCreation"] for s in _statuses(service).values())

    _new(service, "Mine")
    clock.advance(1)
    stale = _statuses(service)[EDGE]
    assert stale["UpToDate"] is True  # the stale window's report about the old snapshot...
    assert stale["LastUpdateCreation"] == newest_before  # ...which the rule does not count
    edge_copy = ok(service.run("edge", "Get-CsHostingProvider", LocalStore=None))
    assert [o.properties["Identity"] for o in edge_copy] == ["Old"]

    clock.advance(10)
    assert _statuses(service)[EDGE]["UpToDate"] is False
    clock.advance(10)
    applied = _statuses(service)[EDGE]
    assert applied["UpToDate"] is True
    assert applied["LastUpdateCreation"] > newest_before
    edge_copy = ok(service.run("edge", "Get-CsHostingProvider", LocalStore=None))
    assert [o.properties["Identity"] for o in edge_copy] == ["Old", "Mine"]


def test_a_forced_push_of_unchanged_data_keeps_last_update_creation() -> None:
    clock = FakeClock()
    service = make_service(clock, forced_push_delay_seconds=30)
    _new(service, "P")
    created = _statuses(service)[EDGE]["LastUpdateCreation"]
    clock.advance(100)
    ok(service.run("frontend", "Invoke-CsManagementStoreReplication", EDGE))
    clock.advance(30)
    status = _statuses(service)[EDGE]
    assert status["UpToDate"] is True
    assert status["LastUpdateCreation"] == created
    assert status["LastStatusReport"] == _at(START + 130)


def test_a_grant_writes_active_directory_not_the_cms() -> None:
    """Per-user policies are AD attributes (msRTCSIP-UserPolicies), not CMS configuration:
    a grant makes no configuration snapshot, so no replica reports anything new."""
    clock = FakeClock()
    service = make_service(clock, delay_seconds=20)
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "OWA"))
    clock.advance(60)
    version, before = service.store.version, _statuses(service)
    clock.advance(5)
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "OWA"))
    assert service.store.version == version
    assert _statuses(service) == before
    assert service.audit.writes()[-1].cmdlet == "Grant-CsExternalAccessPolicy"
    user = one(service.run("frontend", "Get-CsUser", "alice@contoso.com"))
    assert user["ExternalAccessPolicy"] == "OWA"
