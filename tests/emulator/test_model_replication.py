"""The replication model: delay, stale window, broken and stalled replicas, forced push."""

from __future__ import annotations

from datetime import UTC, datetime

from lync_emulator.replication import ReplicaSpec, ReplicationSettings
from lync_emulator.service import LyncService
from tests.emulator.model_helpers import (
    START,
    FakeClock,
    errored,
    failed,
    make_service,
    ok,
    one,
    provider,
)

FE = "fe01.contoso.local"
EDGE = "edge01.contoso.local"


def _status(service) -> dict[str, dict]:
    return {
        o.properties["ReplicaFqdn"]: o.properties
        for o in ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus"))
    }


def _edge_providers(service) -> list[str]:
    found = ok(service.run("edge", "Get-CsHostingProvider", LocalStore=None))
    return [o.properties["Identity"] for o in found]


def _new(service, name: str) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", name, **provider(f"{name}.example")))


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_initial_status_reports_start_time() -> None:
    service = make_service()
    (obj,) = ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus", EDGE))
    assert obj.type_names == ["Microsoft.Rtc.Management.Xds.ReplicaState"]
    assert obj.properties == {
        "UpToDate": True,
        "ReplicaFqdn": EDGE,
        "LastStatusReport": _at(START),
        "LastUpdateCreation": _at(START),
        "ProductVersion": "5.0.8308.0",
    }
    errored(
        service.run("frontend", "Get-CsManagementStoreReplicationStatus", "nope.contoso.local"),
        "ItemNotFound",
    )


def test_zero_delay_replicates_immediately() -> None:
    service = make_service()
    _new(service, "P")
    assert _edge_providers(service) == ["P"]
    assert all(s["UpToDate"] for s in _status(service).values())


def test_delay_keeps_old_local_copy_until_applied() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=30)
    _new(service, "P")
    write_time = clock.now
    clock.advance(29.9)
    assert _edge_providers(service) == []
    status = _status(service)[EDGE]
    assert status["UpToDate"] is False
    assert status["LastStatusReport"] == _at(START)
    clock.advance(0.1)
    assert _edge_providers(service) == ["P"]
    status = _status(service)[EDGE]
    assert status["UpToDate"] is True
    assert status["LastStatusReport"] == _at(write_time + 30)
    assert status["LastUpdateCreation"] == _at(write_time)


def test_frontend_local_store_also_lags() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=10)
    _new(service, "P")
    assert ok(service.run("frontend", "Get-CsHostingProvider", LocalStore=None)) == []
    assert len(ok(service.run("frontend", "Get-CsHostingProvider"))) == 1


def test_stale_window_reports_previous_status_as_up_to_date() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=20, stale_window_seconds=5)
    clock.advance(100)
    _new(service, "P")
    clock.advance(4.9)
    status = _status(service)[EDGE]
    assert status["UpToDate"] is True  # the trap: a status about the previous version
    assert status["LastStatusReport"] == _at(START)
    assert _edge_providers(service) == []
    clock.advance(0.1)
    assert _status(service)[EDGE]["UpToDate"] is False
    clock.advance(15)
    assert _status(service)[EDGE]["UpToDate"] is True
    assert _edge_providers(service) == ["P"]


def test_stale_window_does_not_hide_an_already_lagging_replica() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=20, stale_window_seconds=5)
    _new(service, "A")
    clock.advance(10)
    _new(service, "B")
    assert _status(service)[EDGE]["UpToDate"] is False


def test_several_writes_apply_in_order() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=10)
    _new(service, "A")
    clock.advance(5)
    _new(service, "B")
    clock.advance(5)
    assert _edge_providers(service) == ["A"]
    clock.advance(5)
    assert _edge_providers(service) == ["A", "B"]


def test_broken_replica_never_applies_and_reports_blanks() -> None:
    clock = FakeClock()
    service = make_service(clock, broken=frozenset({EDGE}))
    _new(service, "P")
    clock.advance(3600)
    assert _edge_providers(service) == []
    status = _status(service)
    assert status[EDGE]["UpToDate"] is False
    assert status[EDGE]["LastStatusReport"] is None
    assert status[EDGE]["ProductVersion"] is None
    assert status[FE]["UpToDate"] is True
    ok(service.run("frontend", "Invoke-CsManagementStoreReplication", EDGE))
    clock.advance(3600)
    assert _edge_providers(service) == []


def test_repairing_a_broken_replica_lets_it_catch_up() -> None:
    clock = FakeClock()
    service = make_service(clock, broken=frozenset({EDGE}))
    _new(service, "P")
    clock.advance(10)
    service.replication.settings = ReplicationSettings()
    clock.advance(1)
    assert _edge_providers(service) == ["P"]
    assert _status(service)[EDGE]["UpToDate"] is True


def test_stalled_replica_only_applies_a_forced_push() -> None:
    clock = FakeClock()
    service = make_service(clock, stalled=frozenset({EDGE}), forced_push_delay_seconds=120)
    _new(service, "P")
    clock.advance(600)
    assert _edge_providers(service) == []
    assert _status(service)[EDGE]["UpToDate"] is False
    assert (
        ok(service.run("frontend", "Invoke-CsManagementStoreReplication", ReplicaFqdn=EDGE)) == []
    )
    push_time = clock.now
    _new(service, "Q")  # written before the push lands: a full push carries it too
    clock.advance(119)
    assert _edge_providers(service) == []
    clock.advance(1)
    assert _edge_providers(service) == ["P", "Q"]
    status = _status(service)[EDGE]
    assert status["UpToDate"] is True
    assert status["LastStatusReport"] == _at(push_time + 120)


def test_forced_push_on_all_replicas_marks_them_pending_until_it_lands() -> None:
    clock = FakeClock()
    service = make_service(clock, forced_push_delay_seconds=60)
    ok(service.run("frontend", "Invoke-CsManagementStoreReplication", Force=None))
    assert not any(s["UpToDate"] for s in _status(service).values())
    clock.advance(60)
    status = _status(service)
    assert all(s["UpToDate"] for s in status.values())
    assert status[FE]["LastStatusReport"] == _at(START + 60)
    failed(
        service.run("frontend", "Invoke-CsManagementStoreReplication", "nope.contoso.local"),
        "ItemNotFound",
    )


def test_cms_status() -> None:
    service = make_service()
    (obj,) = ok(
        service.run(
            "frontend", "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=None
        )
    )
    assert obj.type_names == ["Microsoft.Rtc.Management.Xds.CentralManagementStoreStatusResult"]
    assert obj.properties["ActiveMasterFqdn"] == FE
    assert obj.properties["ActiveFileTransferAgents"] == [FE]
    assert obj.properties["ActiveReplicas"] == [FE, EDGE]
    assert obj.properties["DeletedReplicas"] == []


def test_custom_replicas() -> None:
    service = LyncService(
        replicas=[
            ReplicaSpec("pool-fe1.fabrikam.local", "frontend"),
            ReplicaSpec("pool-fe2.fabrikam.local", "frontend"),
            ReplicaSpec("dmz-edge.fabrikam.local", "edge"),
        ],
        clock=FakeClock(),
    )
    assert service.edge_replica_fqdn == "dmz-edge.fabrikam.local"
    assert service.frontend_replica_fqdn == "pool-fe1.fabrikam.local"
    assert len(ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus"))) == 3


def test_old_writes_are_forgotten_once_every_replica_applied_them() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=5)
    for name in ("A", "B", "C"):
        _new(service, name)
    assert len(service.store.writes) == 3
    clock.advance(5)
    one(service.run("frontend", "Get-CsManagementStoreReplicationStatus", EDGE))
    assert service.store.writes == []


def test_thousand_writes_with_a_lagging_replica_stay_cheap() -> None:
    clock = FakeClock()
    service = make_service(clock, delay_seconds=1000)
    for index in range(1000):
        _new(service, f"p{index}")
        clock.advance(0.5)
    assert len(_edge_providers(service)) == 0
    clock.advance(1000)
    assert len(_edge_providers(service)) == 1000
