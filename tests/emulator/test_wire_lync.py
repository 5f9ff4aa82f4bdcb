"""The real Lync state model behind the wire: every cmdlet family and its errors via pypsrp."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from psrpcore.types import ErrorCategory
from pypsrp.powershell import PowerShell, RunspacePool

from lync_emulator.emulator import Emulator
from lync_emulator.replication import ReplicationSettings
from lync_emulator.service import LyncService

from .conftest import client, run
from .model_helpers import FakeClock

Make = Callable[..., Emulator]
EXO = {
    "Identity": "Exchange Online",
    "Enabled": True,
    "EnabledSharedAddressSpace": True,
    "HostsOCSUsers": False,
    "ProxyFqdn": "exap.um.outlook.com",
    "IsLocal": False,
    "VerificationLevel": "UseSourceVerification",
}


def props(ps: PowerShell, index: int = 0) -> dict[str, Any]:
    assert not ps.had_errors and not ps.streams.error, [str(e) for e in ps.streams.error]
    return dict(ps.output[index].adapted_properties)


def error_of(ps: PowerShell) -> Any:
    assert ps.streams.error, "expected an error record"
    return ps.streams.error[0]


@pytest.fixture
def fe(lync_emulator: Emulator) -> Any:
    with RunspacePool(client(lync_emulator)) as pool:
        yield pool


def test_access_edge_configuration_round_trip(fe: RunspacePool) -> None:
    got = run(fe, "Get-CsAccessEdgeConfiguration")
    assert got.output[0].types[0].endswith("DisplayAccessEdgeSettingsDnsSrvRouting")
    assert props(got)["Identity"] == "Global" and props(got)["AllowFederatedUsers"] is False
    assert not run(fe, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True).had_errors
    assert props(run(fe, "get-csaccessedgeconfiguration", "Global"))["AllowFederatedUsers"]
    bad = run(fe, "Set-CsAccessEdgeConfiguration", OutgoingTlsCountForFederatedPartners=9)
    assert bad.had_errors or bad.streams.error
    # PowerShell's range validation reports InvalidData; a cmdlet's own check, InvalidArgument.
    invalid = {ErrorCategory.InvalidArgument.value, ErrorCategory.InvalidData.value}
    assert error_of(bad).category in invalid


def test_hosting_provider_lifecycle_and_errors(fe: RunspacePool) -> None:
    assert not run(fe, "New-CsHostingProvider", **EXO).streams.error
    got = props(run(fe, "Get-CsHostingProvider", Identity="Exchange Online"))
    assert got["ProxyFqdn"] == "exap.um.outlook.com" and got["SipClientPort"] == 443
    duplicate = run(fe, "New-CsHostingProvider", **EXO)
    assert (
        duplicate.had_errors and error_of(duplicate).category == ErrorCategory.ResourceExists.value
    )
    assert error_of(duplicate).fq_error.startswith("DuplicateIdentity,")
    no_proxy_set = run(fe, "Set-CsHostingProvider", Identity="Exchange Online", ProxyFqdn="x")
    assert no_proxy_set.streams.error
    assert not run(
        fe, "Set-CsHostingProvider", Identity="Exchange Online", Enabled=False
    ).streams.error
    filtered = run(fe, "Get-CsHostingProvider", Filter="Exchange*")
    assert [o.adapted_properties["Enabled"] for o in filtered.output] == [False]
    assert not run(fe, "Remove-CsHostingProvider", Identity="Exchange Online").streams.error
    missing = run(fe, "Remove-CsHostingProvider", Identity="Exchange Online")
    assert (
        missing.streams.error and error_of(missing).category == ErrorCategory.ObjectNotFound.value
    )


def test_external_access_policies_and_users(fe: RunspacePool) -> None:
    created = run(fe, "New-CsExternalAccessPolicy", Identity="OwaUsers", EnableOutsideAccess=True)
    assert not created.streams.error
    assert (
        props(run(fe, "Get-CsExternalAccessPolicy", "tag:OwaUsers"))["Identity"] == "Tag:OwaUsers"
    )
    user = props(run(fe, "Get-CsUser", "alice@contoso.local"))["SipAddress"]
    assert user == "sip:alice@contoso.com"
    granted = run(fe, "Grant-CsExternalAccessPolicy", Identity=user, PolicyName="OwaUsers")
    assert not granted.streams.error
    shown = run(fe, "Get-CsUser", user)
    assert shown.output[0].types[0] == "Microsoft.Rtc.Management.ADConnect.Schema.ADUser"
    assert props(shown)["ExternalAccessPolicy"] == "OwaUsers"
    in_use = run(fe, "Remove-CsExternalAccessPolicy", Identity="Tag:OwaUsers")
    assert in_use.streams.error
    reset = run(fe, "Remove-CsExternalAccessPolicy", Identity="Global")
    assert not reset.streams.error and reset.streams.warning


def test_version_and_clock_skew_reach_the_wire(make_lync_emulator: Make) -> None:
    """A Skype for Business Server 2019 whose clock runs an hour behind: its ProductVersion,
    its 2015+ parameters, every property deserialized, its times an hour back."""
    before = time.time()
    emu = make_lync_emulator(version="2019", clock_skew_seconds=-3600)
    after = time.time()
    with RunspacePool(client(emu)) as pool:
        status = props(run(pool, "Get-CsManagementStoreReplicationStatus", "edge01.contoso.local"))
        assert status["ProductVersion"] == "7.0.2046.0"
        reported = datetime.fromisoformat(status["LastStatusReport"]).timestamp()  # <DT> text
        assert before - 3600 - 1 <= reported <= after - 3600 + 1
        written = run(
            pool,
            "Set-CsAccessEdgeConfiguration",
            UseDnsSrvRouting=True,
            DnsSrvCacheRecordCount=50,
            DiscoveredPartnerVerificationLevel="AlwaysUnverifiable",
        )
        assert not written.streams.error
        settings = props(run(pool, "Get-CsAccessEdgeConfiguration"))
        assert settings["DnsSrvCacheRecordCount"] == 50
        assert settings["DiscoveredPartnerVerificationLevel"] == "AlwaysUnverifiable"
        assert "SkypeSearchUrl" in settings and settings["SkypeSearchUrl"] is None


def test_view_only_administrator_is_denied_writes(make_lync_emulator: Make) -> None:
    emu = make_lync_emulator(users={"lab\\viewer": "v"}, view_only_users=["lab\\viewer"])
    with RunspacePool(client(emu)) as pool:
        assert run(pool, "Get-CsHostingProvider").had_errors is False
        denied = run(pool, "New-CsHostingProvider", **EXO)
        assert (
            denied.streams.error
            and error_of(denied).category == ErrorCategory.PermissionDenied.value
        )


def test_scripts_are_refused(fe: RunspacePool, lync_emulator: Emulator) -> None:
    ps = PowerShell(fe)
    ps.add_script("Get-CsUser | Remove-Item")
    ps.invoke()
    assert ps.had_errors and error_of(ps).fq_error.startswith("ScriptsNotAllowed")
    assert "no-language mode" in str(error_of(ps))


def test_edge_is_read_only_and_local_store_sees_replicated_data(make_lync_emulator: Make) -> None:
    clock = FakeClock()
    settings = ReplicationSettings(delay_seconds=0.3)
    emu = make_lync_emulator(service=LyncService(clock=clock, replication=settings))
    with RunspacePool(client(emu)) as fe, RunspacePool(client(emu, role="edge")) as edge:
        refused = run(edge, "New-CsHostingProvider", **EXO)
        assert refused.streams.error and error_of(refused).fq_error.startswith("ReadOnlyStore,")
        assert not run(fe, "New-CsHostingProvider", **EXO).streams.error
        assert run(edge, "Get-CsHostingProvider", LocalStore=None).output == []
        clock.advance(0.4)  # past the replication delay
        assert len(run(edge, "Get-CsHostingProvider", LocalStore=None).output) == 1


def _status(pool: RunspacePool, fqdn: str) -> dict[str, Any]:
    return props(run(pool, "Get-CsManagementStoreReplicationStatus", ReplicaFqdn=fqdn))


def test_replication_delay_stale_window_and_broken_replica(make_lync_emulator: Make) -> None:
    clock = FakeClock()  # the state model's time, advanced by the test: no waiting
    settings = ReplicationSettings(
        delay_seconds=1.5,
        stale_window_seconds=0.8,
        broken=frozenset({"edge01.contoso.local"}),
    )
    emu = make_lync_emulator(service=LyncService(clock=clock, replication=settings))
    with RunspacePool(client(emu)) as fe:
        assert _status(fe, "fe01.contoso.local")["UpToDate"] is True
        broken = _status(fe, "edge01.contoso.local")
        assert broken["UpToDate"] is False and broken["LastStatusReport"] is None
        run(fe, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True)
        # Inside the stale window the front end still claims to be up to date,
        assert _status(fe, "fe01.contoso.local")["UpToDate"] is True
        clock.advance(1.0)  # then admits it is behind until the delay has passed,
        assert _status(fe, "fe01.contoso.local")["UpToDate"] is False
        clock.advance(0.6)  # and has applied the change after it.
        assert _status(fe, "fe01.contoso.local")["UpToDate"] is True
        cms = run(fe, "Get-CsManagementStoreReplicationStatus", CentralManagementStoreStatus=None)
        assert cms.output and not cms.streams.error
        assert not run(fe, "Invoke-CsManagementStoreReplication").streams.error
        assert _status(fe, "edge01.contoso.local")["UpToDate"] is False


def test_a_thousand_objects_seeded_out_of_band(lync_emulator: Emulator, fe: RunspacePool) -> None:
    for i in range(1000):
        lync_emulator.run_cmdlet(
            "New-CsHostingProvider",
            Identity=f"provider{i:04}",
            ProxyFqdn=f"sip{i:04}.example.com",
            Enabled=i % 2 == 0,
            EnabledSharedAddressSpace=False,
            HostsOCSUsers=False,
        )
    got = run(fe, "Get-CsHostingProvider")
    assert len(got.output) == 1000
    assert props(got, 0)["Identity"] == "provider0000"
    assert props(got, 999)["ProxyFqdn"] == "sip0999.example.com"
    assert props(got, 3)["Enabled"] is False


def test_state_survives_a_restart(make_lync_emulator: Make, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = make_lync_emulator(state_path=state)
    with RunspacePool(client(first)) as pool:
        assert not run(pool, "New-CsHostingProvider", **EXO).streams.error
    first.stop()
    second = make_lync_emulator(state_path=state)
    with RunspacePool(client(second)) as pool:
        assert props(run(pool, "Get-CsHostingProvider", "Exchange Online"))["Enabled"] is True


def test_audit_records_wire_invocations(lync_emulator: Emulator, fe: RunspacePool) -> None:
    run(fe, "Get-CsUser")
    entry = lync_emulator.audit.entries("Get-CsUser")[-1]
    assert entry.role == "frontend" and entry.username == "lab\\admin"


def test_the_nth_write_fails_unapplied_and_reads_do_not_count(
    lync_emulator: Emulator, fe: RunspacePool
) -> None:
    lync_emulator.faults.fail_write(2)
    assert not run(fe, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True).had_errors
    assert props(run(fe, "Get-CsAccessEdgeConfiguration"))["AllowFederatedUsers"] is True
    failed = run(fe, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=False)
    assert failed.had_errors and error_of(failed).fq_error.startswith("InjectedFault,")
    assert props(run(fe, "Get-CsAccessEdgeConfiguration"))["AllowFederatedUsers"] is True
    assert not run(fe, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=False).had_errors


def test_an_error_names_the_statement_that_wrote_it(fe: RunspacePool) -> None:
    """ErrorCategoryInfo.Activity is, by default, the name of the cmdlet that wrote the
    record; in a pipeline of several statements it tells which one failed."""
    ps = PowerShell(fe)
    ps.add_cmdlet("Get-CsAccessEdgeConfiguration")
    ps.add_statement()
    ps.add_cmdlet("Get-CsHostingProvider").add_parameter("Identity", "nobody")
    ps.add_statement()
    ps.add_cmdlet("Grant-CsExternalAccessPolicy").add_parameter("Identity", "alice@contoso.com")
    ps.invoke()
    not_found, unbound = ps.streams.error
    assert not_found.activity == "Get-CsHostingProvider"
    assert unbound.activity == "Grant-CsExternalAccessPolicy"  # PolicyName is mandatory
