"""LyncService as a whole: roles, RBAC, faults, persistence, audit and concurrency."""

from __future__ import annotations

import json
import threading

import pytest

from lync_emulator.invocation import Caller, Role, Statement
from lync_emulator.replication import ReplicationSettings
from lync_emulator.service import DEFAULT_CALLER, LyncService
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

VIEWER = Caller("CONTOSO\\viewer", "CsViewOnlyAdministrator")
EDGE = "edge01.contoso.local"


def _new(service, name: str, role: str = "frontend"):
    return service.run(role, "New-CsHostingProvider", name, **provider(f"{name}.example"))


def test_edge_refuses_every_write_as_read_only() -> None:
    service = make_service()
    for result in (
        _new(service, "P", role="edge"),
        service.run("edge", "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True),
        service.run("edge", "Grant-CsExternalAccessPolicy", "alice@contoso.com", None),
        service.run("edge", "Remove-CsExternalAccessPolicy", "Global"),
    ):
        err = failed(result, "ReadOnlyStore", "InvalidOperation")
        assert "read-only replica" in err.message
    assert service.store.version == 1


def test_edge_get_needs_local_store() -> None:
    service = make_service()
    err = failed(
        service.run("edge", "Get-CsAccessEdgeConfiguration"),
        "CentralManagementStoreUnreachable",
    )
    assert "-LocalStore" in err.message
    assert (
        one(service.run("edge", "Get-CsAccessEdgeConfiguration", LocalStore=None))["Identity"]
        == "Global"
    )
    failed(
        service.run("edge", "Get-CsManagementStoreReplicationStatus"),
        "CentralManagementStoreUnreachable",
    )
    failed(
        service.run("edge", "Invoke-CsManagementStoreReplication"),
        "CentralManagementStoreUnreachable",
    )


def test_import_module_lync_is_a_no_op_on_the_edge_only() -> None:
    service = make_service()
    assert ok(service.run("edge", "Import-Module", "Lync")) == []
    assert ok(service.run("edge", "import-module", Name=["lync"])) == []
    errored(
        service.run("edge", "Import-Module", "SkypeForBusiness"),
        "Modules_ModuleNotFound",
        "ResourceUnavailable",
    )
    failed(service.run("frontend", "Import-Module", "Lync"), "CommandNotFoundException")


def test_view_only_role_may_only_get() -> None:
    service = make_service()
    assert ok(service.run("frontend", "Get-CsHostingProvider", caller=VIEWER)) == []
    ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus", caller=VIEWER))
    err = failed(
        service.run(
            "frontend", "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True, caller=VIEWER
        ),
        "AccessDenied",
        "PermissionDenied",
    )
    assert err.fully_qualified_error_id.startswith(
        "AccessDenied,Microsoft.Rtc.Management.Internal."
    )
    failed(
        service.run("frontend", "Invoke-CsManagementStoreReplication", caller=VIEWER),
        "AccessDenied",
    )
    assert service.store.version == 1


def test_local_role_writes_and_is_not_subject_to_rbac() -> None:
    service = make_service()
    ok(service.run("local", "Set-CsExternalAccessPolicy", EnableOutsideAccess=True, caller=VIEWER))
    assert (
        one(service.run("frontend", "Get-CsExternalAccessPolicy", "Global"))["EnableOutsideAccess"]
        is True
    )


def test_fail_nth_invocation() -> None:
    service = make_service()
    ok(_new(service, "A"))
    service.faults.fail_invocation("set-cshostingprovider", nth=2)
    ok(service.run("frontend", "Set-CsHostingProvider", "A", Enabled=False))
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "A", Enabled=True), "InjectedFault"
    )
    assert err.fully_qualified_error_id == (
        "InjectedFault,Microsoft.Rtc.Management.Internal.SetHostingProviderCmdlet"
    )
    assert one(service.run("frontend", "Get-CsHostingProvider", "A"))["Enabled"] is False
    ok(service.run("frontend", "Set-CsHostingProvider", "A", Enabled=True))
    with pytest.raises(ValueError, match="Get-Nothing"):
        service.faults.fail_invocation("Get-Nothing")


def test_a_non_terminating_injected_fault_applies_nothing_and_lets_the_pipeline_go_on() -> None:
    service = make_service()
    ok(_new(service, "A"))
    service.faults.fail_invocation("Set-CsHostingProvider", terminating=False)
    result = service.invoke(
        Role.FRONTEND,
        [
            Statement("Set-CsHostingProvider", [("Identity", "A"), ("Enabled", False)]),
            Statement("Get-CsHostingProvider", [("Identity", "A")]),
        ],
        DEFAULT_CALLER,
    )
    assert result.terminating is None
    [error] = result.errors
    assert error.fully_qualified_error_id.startswith("InjectedFault,")
    assert [obj.properties["Enabled"] for obj in result.output] == [True]  # not applied
    assert service.audit.entries("Set-CsHostingProvider")[-1].outcome == "error"


def test_fail_nth_write_counts_only_writing_cmdlets_and_applies_nothing() -> None:
    service = make_service()
    service.faults.fail_write(2)
    ok(_new(service, "A"))  # write 1
    ok(service.run("frontend", "Get-CsHostingProvider", "A"))  # a read does not count
    version = service.store.version
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "A", Enabled=False), "InjectedFault"
    )
    assert "write 2 (Set-CsHostingProvider)" in err.message
    assert service.store.version == version  # not applied
    assert one(service.run("frontend", "Get-CsHostingProvider", "A"))["Enabled"] is True
    assert service.audit.entries("Set-CsHostingProvider")[-1].wrote is False
    ok(service.run("frontend", "Set-CsHostingProvider", "A", Enabled=False))  # write 3
    service.faults.fail_write(1)
    service.faults.clear()
    ok(_new(service, "B"))
    with pytest.raises(ValueError):
        service.faults.fail_write(0)


def test_audit_records_every_invocation() -> None:
    service = make_service()
    ok(service.run("frontend", "new-cshostingprovider", "A", **provider("a.example")))
    errored(service.run("frontend", "Get-CsHostingProvider", "ghost"), "ItemNotFound")
    failed(
        service.run("frontend", "Set-CsHostingProvider", "A", ProxyFqdn="b"),
        "NamedParameterNotFound",
    )
    ok(service.run("edge", "Get-CsHostingProvider", LocalStore=None, caller=VIEWER))
    entries = service.audit.entries()
    assert [(e.cmdlet, e.outcome, e.wrote) for e in entries] == [
        ("New-CsHostingProvider", "ok", True),
        ("Get-CsHostingProvider", "error", False),
        ("Set-CsHostingProvider", "failed", False),
        ("Get-CsHostingProvider", "ok", False),
    ]
    assert entries[0].parameters == {"Identity": "A", **provider("a.example")}
    assert entries[0].role == "frontend"
    assert entries[0].time.timestamp() == START
    assert (
        entries[1].error_id
        == "ItemNotFound,Microsoft.Rtc.Management.Internal.GetHostingProviderCmdlet"
    )
    assert entries[2].parameters == {"$args[0]": "A", "ProxyFqdn": "b"}
    assert entries[3].username == "CONTOSO\\viewer"
    assert entries[3].role == "edge"
    assert [e.cmdlet for e in service.audit.writes()] == ["New-CsHostingProvider"]
    assert len(service.audit.entries("GET-CSHOSTINGPROVIDER")) == 2
    service.audit.clear()
    assert service.audit.entries() == []


def test_audit_file_holds_json_lines(tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    service = LyncService(audit_path=path, clock=FakeClock())
    ok(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            'ünï "q"',
            **provider("p"),
            SipClientPort=5061,
        )
    )
    ok(service.run("frontend", "Get-CsManagementStoreReplicationStatus"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["cmdlet"] for line in lines] == [
        "New-CsHostingProvider",
        "Get-CsManagementStoreReplicationStatus",
    ]
    assert lines[0]["parameters"]["Identity"] == 'ünï "q"'
    assert lines[0]["parameters"]["SipClientPort"] == 5061
    assert lines[0]["wrote"] is True
    assert lines[0]["time"].startswith("2023-11-14T22:13:20")


def test_state_survives_a_restart(tmp_path) -> None:
    path = tmp_path / "state" / "cms.json"
    clock = FakeClock()
    settings = ReplicationSettings(delay_seconds=60)
    first = LyncService(state_path=path, replication=settings, clock=clock)
    ok(_new(first, "Early"))
    clock.advance(60)
    ok(first.run("frontend", "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True))
    ok(first.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    ok(first.run("frontend", "Grant-CsExternalAccessPolicy", "bob@contoso.com", "Sales"))
    clock.advance(1)
    assert [p.name for p in path.parent.iterdir()] == ["cms.json"]  # no temp files left over

    second = LyncService(state_path=path, replication=settings, clock=clock)
    assert second.store.version == first.store.version == 4  # the grant went to AD, not the CMS
    assert (
        one(second.run("frontend", "Get-CsAccessEdgeConfiguration"))["AllowFederatedUsers"] is True
    )
    assert (
        one(second.run("frontend", "Get-CsUser", "bob@contoso.com"))["ExternalAccessPolicy"]
        == "Sales"
    )
    # The Edge had applied only the first write; it still lags, then catches up.
    edge_view = ok(second.run("edge", "Get-CsHostingProvider", LocalStore=None))
    assert [o.properties["Identity"] for o in edge_view] == ["Early"]
    edge_config = one(second.run("edge", "Get-CsAccessEdgeConfiguration", LocalStore=None))
    assert edge_config["AllowFederatedUsers"] is False
    clock.advance(60)
    edge_config = one(second.run("edge", "Get-CsAccessEdgeConfiguration", LocalStore=None))
    assert edge_config["AllowFederatedUsers"] is True


def test_pending_forced_push_survives_a_restart(tmp_path) -> None:
    path = tmp_path / "cms.json"
    clock = FakeClock()
    settings = ReplicationSettings(stalled=frozenset({EDGE}), forced_push_delay_seconds=30)
    first = LyncService(state_path=path, replication=settings, clock=clock)
    ok(_new(first, "P"))
    ok(first.run("frontend", "Invoke-CsManagementStoreReplication", EDGE))
    second = LyncService(state_path=path, replication=settings, clock=clock)
    clock.advance(30)
    assert len(ok(second.run("edge", "Get-CsHostingProvider", LocalStore=None))) == 1


def test_restarted_reloads_the_file_with_the_same_settings_and_instruments(tmp_path) -> None:
    clock = FakeClock()
    settings = ReplicationSettings(delay_seconds=60)
    first = LyncService(
        state_path=tmp_path / "cms.json", replication=settings, clock=clock, version="2019"
    )
    first.clock_skew_seconds = -90  # changed at runtime, like the machine's clock
    ok(_new(first, "Kept"))
    first.faults.fail_invocation("Get-CsHostingProvider")
    second = first.restarted()
    assert second is not first and second.store is not first.store
    assert (second.version, second.replication.settings, second.now()) == (
        first.version,
        settings,
        clock() - 90,
    )
    assert second.faults is first.faults and second.audit is first.audit
    failed(second.run("frontend", "Get-CsHostingProvider", "Kept"), "InjectedFault")
    assert one(second.run("frontend", "Get-CsHostingProvider", "Kept"))["Identity"] == "Kept"
    in_memory = make_service()
    assert in_memory.restarted() is in_memory  # no file: nothing to reload


class _WatchedLock:
    """The service's lock, telling the test when the thread named "second" asks for it."""

    def __init__(self, inner: threading.RLock, asked: threading.Event) -> None:
        self.inner, self.asked = inner, asked

    def __enter__(self) -> None:
        if threading.current_thread().name == "second":
            self.asked.set()
        self.inner.acquire()

    def __exit__(self, *exc: object) -> None:
        self.inner.release()


def test_an_invocation_waits_for_the_one_in_progress() -> None:
    """Statements run one at a time: a second caller's write waits until the first one,
    held in the middle of running, has finished, instead of interleaving with it."""
    first_inside, release, second_asked = threading.Event(), threading.Event(), threading.Event()
    hold = [False]

    def clock() -> float:  # read inside a statement's run; holds the first one there
        if hold[0] and threading.current_thread().name == "first":
            hold[0] = False
            first_inside.set()
            assert release.wait(10)
        return 1_700_000_000.0

    service = LyncService(clock=clock)
    service._lock = _WatchedLock(service._lock, second_asked)  # type: ignore[assignment]
    hold[0] = True
    first = threading.Thread(target=lambda: ok(_new(service, "A")), name="first")
    second = threading.Thread(target=lambda: ok(_new(service, "B")), name="second")
    first.start()
    assert first_inside.wait(10)
    second.start()
    assert second_asked.wait(10)
    release.set()
    first.join(10)
    second.join(10)
    written = [entry.parameters["Identity"] for entry in service.audit.writes()]
    assert written == ["A", "B"]  # B could not run while A was in the middle of its run
    assert len(ok(service.run("frontend", "Get-CsHostingProvider"))) == 2


def test_invoke_with_several_statements_returns_all_output() -> None:
    service = make_service()
    statements = [
        Statement("Get-CsAccessEdgeConfiguration"),
        Statement("Get-CsExternalAccessPolicy", [("Identity", "Global")]),
    ]
    result = service.invoke(Role.FRONTEND, statements, Caller("admin"))
    assert [o.properties["Identity"] for o in ok(result)] == ["Global", "Global"]
