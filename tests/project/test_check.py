"""The check command against the emulator: before and after a deployment, read-only."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_emulator.replication import ReplicationSettings
from lync_provider.__main__ import main
from lync_provider.cli import check
from lync_provider.cli.check_rules import Row, Status
from lync_provider.program.stack_file import StackFile
from lync_provider.program.stack_secrets import PASSPHRASE_ENV
from tests.program.mocks import ProviderMocks, run_program
from tests.project.stacks import LOCAL_PASSPHRASE, local_stack_for

ENV = {PASSPHRASE_ENV: LOCAL_PASSPHRASE}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets: no LYNC_* or passphrase from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("LYNC_", "PULUMI_CONFIG_PASSPHRASE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")


def rows_for(project: Path) -> list[Row]:
    return check.check(check.load_config(project, "local", ENV)).rows


def by_status(rows: list[Row], status: Status) -> set[tuple[str, str, str]]:
    return {(r.where, r.subject, r.item) for r in rows if r.status == status}


def deploy(emu: Emulator, project: Path) -> None:
    """``pulumi up`` of the real program with the stack's config, providers creating."""
    config = StackFile.load(project / "stacks" / "Pulumi.local.yaml").program_config(ENV)
    run_program(config, ProviderMocks(config))


def cli(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    status = main(["check", "--stack", "local", "--project-dir", str(project), *extra])
    out, err = capsys.readouterr()
    return status, out, err


def assert_read_only(emu: Emulator) -> None:
    entries = emu.audit.entries()
    assert entries
    assert [e for e in entries if e.wrote] == []
    assert {e.cmdlet for e in entries} <= {
        "Get-CsAccessEdgeConfiguration",
        "Get-CsHostingProvider",
        "Get-CsExternalAccessPolicy",
        "Get-CsUser",
        "Get-CsManagementStoreReplicationStatus",
    }


def test_before_deploying_the_pieces_are_missing(
    lync_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path
    local_stack_for(lync_emulator, project)
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, err = cli(project, capsys)

    assert status == 1, err
    assert "MISSING" in out and "DIFFERENT" in out
    assert "Secret123!" not in out + err
    rows = rows_for(project)
    missing = by_status(rows, Status.MISSING)
    assert ("front end", "CsHostingProvider Exchange Online", "ProxyFqdn") in missing
    assert ("front end", "CsExternalAccessPolicy Tag:OWA-RemoteAccess", "EnableOutsideAccess") in (
        missing
    )
    assert ("front end", "CsUser sip:alice@contoso.com", "ExternalAccessPolicy") in missing
    assert ("Edge", "CsHostingProvider Exchange Online", "Enabled") in missing
    assert by_status(rows, Status.DIFFERENT) == {
        (where, "CsAccessEdgeConfiguration Global", "AllowFederatedUsers")
        for where in ("front end", "Edge")
    }
    assert {(r.subject, r.item) for r in rows if r.status == Status.OK} == {
        ("Server version", "ProductVersion"),
        ("Replica fe01.contoso.local", "UpToDate"),
        ("Replica edge01.contoso.local", "UpToDate"),
        # Hosting providers need DNS SRV routing, the seeded (and default) method.
        ("CsAccessEdgeConfiguration Global", "RoutingMethod"),
    }
    assert "targeting Lync Server 2013" in " ".join(out.split())
    assert_read_only(lync_emulator)


def test_an_edge_on_default_routing_is_reported(
    lync_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Hosting providers require DNS SRV routing, which the integration does not switch."""
    local_stack_for(lync_emulator, tmp_path)
    lync_emulator.run_cmdlet(
        "Set-CsAccessEdgeConfiguration", UseDefaultRouting=True, DefaultRouteFqdn="sip.isp.example"
    )
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, _ = cli(tmp_path, capsys)

    assert status == 1
    assert "to do: RoutingMethod: `pulumi up` never switches the Edge's routing" in out
    assert "Set-CsAccessEdgeConfiguration -UseDnsSrvRouting" in out
    [row] = [r for r in rows_for(tmp_path) if r.item == "RoutingMethod" and r.where == "front end"]
    assert (row.expected, row.found, row.status) == (
        "UseDnsSrvRouting",
        "UseDefaultRouting",
        Status.DIFFERENT,
    )


def test_a_stack_targeting_another_version_than_the_servers_run_is_reported(
    lync_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local_stack_for(lync_emulator, tmp_path, serverVersion="2019")
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, _ = cli(tmp_path, capsys)

    assert status == 1
    assert "targeting Skype for Business Server 2019" in " ".join(out.split())
    [row] = [r for r in rows_for(tmp_path) if r.subject == "Server version"]
    assert row.status == Status.DIFFERENT
    assert row.found.startswith("5.0.8308") and "lync:serverVersion 2019" in row.expected


def test_after_deploying_the_local_stack_everything_is_in_place(
    lync_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path
    local_stack_for(lync_emulator, project)
    deploy(lync_emulator, project)
    lync_emulator.audit.clear()
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, err = cli(project, capsys)

    assert (status, err) == (0, "")
    assert "MISSING" not in out and "DIFFERENT" not in out and "ERROR" not in out
    rows = rows_for(project)
    assert {r.status for r in rows} == {Status.OK}
    assert {(r.where, r.item) for r in rows} >= {
        ("front end", "AllowFederatedUsers"),
        ("front end", "ProxyFqdn"),
        ("front end", "HostsOCSUsers"),
        ("front end", "IsLocal"),
        ("front end", "VerificationLevel"),
        ("front end", "EnableOutsideAccess"),
        ("front end", "ExternalAccessPolicy"),
        ("front end", "UpToDate"),
        ("Edge", "ProxyFqdn"),
        ("Edge", "EnableOutsideAccess"),
    }
    assert_read_only(lync_emulator)


def test_a_change_not_yet_on_the_edge_shows_as_such(
    make_lync_emulator: Callable[..., Emulator], tmp_path: Path
) -> None:
    emu = make_lync_emulator(replication=ReplicationSettings(delay_seconds=3600))
    local_stack_for(emu, tmp_path)
    emu.run_cmdlet(
        "New-CsHostingProvider",
        Identity="Exchange Online",
        ProxyFqdn="EXAP.um.outlook.com",  # Lync compares FQDNs without regard to case
        Enabled=True,
        EnabledSharedAddressSpace=True,
        HostsOCSUsers=False,
        IsLocal=False,
        VerificationLevel="UseSourceVerification",
    )
    rows = rows_for(tmp_path)
    hosting = [r for r in rows if r.subject == "CsHostingProvider Exchange Online"]
    assert {r.status for r in hosting if r.where == "front end"} == {Status.OK}
    assert {r.status for r in hosting if r.where == "Edge"} == {Status.MISSING}
    replicas = [r for r in rows if r.subject.startswith("Replica ")]
    assert {r.status for r in replicas} == {Status.DIFFERENT}
    assert all(r.found.startswith("False (last report ") for r in replicas)


def test_a_wrong_value_is_different(lync_emulator: Emulator, tmp_path: Path) -> None:
    local_stack_for(lync_emulator, tmp_path, cloud="21vianet")
    lync_emulator.run_cmdlet(
        "New-CsHostingProvider",
        Identity="Exchange Online",
        ProxyFqdn="exap.um.outlook.com",
        Enabled=True,
        EnabledSharedAddressSpace=True,
        HostsOCSUsers=False,
    )
    rows = {(r.where, r.item): r for r in rows_for(tmp_path) if "Hosting" in r.subject}
    proxy = rows[("front end", "ProxyFqdn")]
    assert (proxy.expected, proxy.found, proxy.status) == (
        "exap.um.partner.outlook.cn",
        "exap.um.outlook.com",
        Status.DIFFERENT,
    )
    assert rows[("front end", "VerificationLevel")].status == Status.DIFFERENT


@pytest.mark.parametrize(
    "case",
    [
        ({"password": None}, "lync:password"),
        ({"frontEndUrl": "pool01.contoso.com/OcsPowershell"}, "lync:frontEndUrl"),
        ({"cloud": "mooncake"}, "lync:cloud"),
    ],
)
def test_a_configuration_mistake_exits_2_naming_the_key(
    lync_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: tuple[dict[str, str | None], str],
) -> None:
    changes, named = case
    local_stack_for(lync_emulator, tmp_path, **changes)
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, err = cli(tmp_path, capsys)

    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("lync check: configuration error:") and named in err
    assert "Traceback" not in err and "Secret123!" not in err
    assert lync_emulator.audit.entries() == []


def test_a_wrong_passphrase_exits_2_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator() as emu:
        local_stack_for(emu, tmp_path)
    monkeypatch.setenv(PASSPHRASE_ENV, "guess-one")

    status, out, err = cli(tmp_path, capsys)

    assert (status, out) == (2, "")
    assert "incorrect passphrase" in err and "guess-one" not in err


def test_an_unreachable_endpoint_exits_2_with_its_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator() as emu:
        project = local_stack_for(emu, tmp_path, verifyEdge=False)
        url = emu.frontend_url
    # The emulator has stopped: its port now refuses connections.
    assert project.exists()
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)

    status, out, err = cli(tmp_path, capsys)

    assert status == 2
    assert "not checked: no connection to the front end" in out
    [line] = err.strip().splitlines()
    assert "Could not connect" in line and url.split("/Ocs")[0] in line
    assert "hint:" in line and "Secret123!" not in out + err


def test_without_a_stack_the_environment_is_enough(
    lync_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lync_emulator.edge_url is not None
    environ = {
        "LYNC_FRONTEND_URL": lync_emulator.frontend_url,
        "LYNC_EDGE_URL": lync_emulator.edge_url,
        "LYNC_USERNAME": lync_emulator.username,
        "LYNC_PASSWORD": lync_emulator.password,
        "LYNC_AUTH": "basic",
        "LYNC_ENCRYPTION": "never",
    }
    config = check.load_config(Path(), None, environ)
    assert config.source == "LYNC_* environment variables"
    console = Console(file=io.StringIO(), width=200)

    assert check.report(Path(), None, environ, console) == 1
    assert "CsExternalAccessPolicy Global" in console.file.getvalue()  # type: ignore[attr-defined]


def test_refused_credentials_exit_2_without_the_password(
    lync_emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lync_emulator.edge_url is not None
    environ = {
        "LYNC_FRONTEND_URL": lync_emulator.frontend_url,
        "LYNC_EDGE_URL": lync_emulator.edge_url,
        "LYNC_USERNAME": lync_emulator.username,
        "LYNC_PASSWORD": "Wr0ng-But-Secret!",
        "LYNC_AUTH": "basic",
        "LYNC_ENCRYPTION": "never",
    }

    status = check.report(Path(), None, environ, Console(file=io.StringIO(), width=200))

    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2  # one per endpoint
    assert all("refused the credentials" in line and "hint:" in line for line in lines)
    assert "Wr0ng-But-Secret!" not in err


def test_the_policy_users_are_read_in_one_pipeline(lync_emulator: Emulator, tmp_path: Path) -> None:
    """Get-CsUser for every policy user goes in one batch, as the assignment reads them."""
    local_stack_for(lync_emulator, tmp_path)
    deploy(lync_emulator, tmp_path)
    config = StackFile.load(tmp_path / "stacks" / "Pulumi.local.yaml").program_config(ENV)
    users = json.loads(config["lync:policyUsers"])
    assert len(users) >= 2
    before = lync_emulator.counters[Counter.PIPELINES_RUN, "frontend"]

    rows = rows_for(tmp_path)

    user_rows = [r for r in rows if r.item == "ExternalAccessPolicy"]
    assert [r.subject for r in user_rows] == [f"CsUser {user}" for user in users]
    assert {r.status for r in user_rows} == {Status.OK}
    pipelines = lync_emulator.counters[Counter.PIPELINES_RUN, "frontend"] - before
    # One Get- per object (edge, hosting provider, policy), one for the users, one status read.
    assert pipelines == 3 + 1 + 1
