"""Each resource through the real provider process, as `pulumi preview/up/refresh/destroy`
drive it, against the emulator; the emulator's audit log says what really ran."""

from __future__ import annotations

import base64

import pytest

from lync_emulator.counters import Counter
from lync_provider.resources import HostingProvider, HostingProviderProvider
from tests.resources.conftest import Stack, store_state
from tests.resources.scenarios import EXCHANGE_ONLINE, SCENARIOS, Scenario
from tests.support.engine import Declaration, ProviderError, declare

ids = [s.name for s in SCENARIOS]
# New-CsHostingProvider's mandatory booleans besides Enabled (ODP: Required: True).
NEW_HOSTING_PROVIDER_MANDATORY = {"EnabledSharedAddressSpace": True, "HostsOCSUsers": False}


def decl(s: Scenario, inputs: dict[str, object] | None = None) -> Declaration:
    return declare(s.resource, s.name, s.provider(), inputs if inputs is not None else s.inputs)


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_up_applies_and_a_second_up_changes_nothing(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    before = stack.writes()
    assert stack.engine.up([decl(s)]).ops == {s.name: "create"}
    assert stack.writes() > before
    assert s.read_live(stack.emu) == s.desired_live
    after_first = stack.writes()
    plan = stack.engine.up([decl(s)])
    assert plan.ops == {s.name: "same"}
    assert stack.writes() == after_first


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_preview_writes_nothing(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    before = stack.writes()
    assert stack.engine.preview([decl(s)]).ops == {s.name: "create"}
    assert stack.writes() == before
    stack.engine.up([decl(s)])
    applied = stack.writes()
    assert stack.engine.preview([decl(s, s.updated)]).ops == {s.name: "update"}
    assert stack.writes() == applied


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_update_applies_only_the_change(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    stack.engine.up([decl(s)])
    before = len(stack.emu.audit.writes())
    assert stack.engine.up([decl(s, s.updated)]).ops == {s.name: "update"}
    written = [(e.cmdlet, e.parameters) for e in stack.emu.audit.writes()[before:]]
    assert written == s.update_writes
    assert stack.engine.up([decl(s, s.updated)]).ops == {s.name: "same"}
    for key, value in s.updated.items():
        if key not in ("identity", "policy_name", "users"):
            assert stack.engine.outputs(s.name)[key] == value


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_refresh_reports_drift_and_up_restores(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    stack.engine.up([decl(s)])
    cmdlet, positional, named = s.out_of_band
    stack.emu.run_cmdlet(cmdlet, *positional, **named)
    assert s.read_live(stack.emu) != s.desired_live
    assert stack.engine.refresh().ops == {s.name: "update"}
    key, drifted = s.drifted_output
    assert stack.engine.outputs(s.name)[key] == drifted
    assert stack.engine.up([decl(s)]).ops == {s.name: "update"}
    assert s.read_live(stack.emu) == s.desired_live
    assert stack.engine.refresh().ops == {s.name: "same"}


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_destroy_leaves_the_server_as_it_was(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    before = store_state(stack.emu)
    stack.engine.up([decl(s)])
    stack.engine.up([decl(s, s.updated)])
    assert store_state(stack.emu) != before
    stack.engine.destroy()
    assert store_state(stack.emu) == before
    assert [e for e in stack.emu.audit.failures() if not e.cmdlet.startswith("Get-")] == []


@pytest.mark.parametrize("s", SCENARIOS, ids=ids)
def test_password_never_in_provider_state_or_logs(stack: Stack, s: Scenario) -> None:
    s.setup(stack.emu)
    declaration = decl(s)
    stack.engine.up([declaration])
    password = stack.emu.password
    pickled = base64.b64decode(str(declaration.inputs["__provider"]))
    assert password.encode() not in pickled
    [state] = stack.engine.state.values()
    assert password not in repr(state.outputs) and password not in repr(state.inputs)
    stack.engine.destroy()
    stack.process.stop()
    assert password not in stack.process.stderr


def test_the_process_closes_its_shells_when_the_engine_stops_it(stack: Stack) -> None:
    """The engine ends a plugin with SIGINT and 5 s of grace before SIGKILL (pulumi
    sdk/go/common/resource/plugin/plugin.go, ``Kill``). A shell left open counts against the
    user's MaxShellsPerUser on the server until its idle timeout (hours), so a few runs
    would lock the account out of remote PowerShell: the process closes them as it exits."""
    declared = declare(HostingProvider, "exo", HostingProviderProvider(), EXCHANGE_ONLINE)
    stack.engine.up([declared])
    assert stack.emu.counters[Counter.SHELLS_OPEN, "frontend"] == 1
    stack.process.stop()
    assert stack.emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0
    assert stack.emu.counters[Counter.POOLS_CLOSED, "frontend"] == 1


def test_replacing_a_hosting_provider_removes_the_old_one_first(stack: Stack) -> None:
    declared = declare(HostingProvider, "exo", HostingProviderProvider(), EXCHANGE_ONLINE)
    stack.engine.up([declared])
    china = {**EXCHANGE_ONLINE, "proxy_fqdn": "exap.um.partner.outlook.cn"}
    moved = declare(HostingProvider, "exo", HostingProviderProvider(), china)
    assert stack.engine.preview([moved]).ops == {"exo": "replace"}
    stack.emu.audit.clear()
    assert stack.engine.up([moved]).ops == {"exo": "replace"}
    writes = [e.cmdlet for e in stack.emu.audit.writes()]
    assert writes == ["Remove-CsHostingProvider", "New-CsHostingProvider"]
    [live] = stack.emu.run_cmdlet("Get-CsHostingProvider", "Exchange Online")
    assert live.properties["ProxyFqdn"] == "exap.um.partner.outlook.cn"


@pytest.mark.parametrize(
    ("existing", "s"),
    [
        (
            ("New-CsHostingProvider", ("Exchange Online",), {"ProxyFqdn": "exap.um.outlook.com"}),
            SCENARIOS[1],
        ),
        (("New-CsExternalAccessPolicy", ("tag:OWA",), {}), SCENARIOS[3]),
    ],
    ids=["hosting_provider", "tag_policy"],
)
def test_existing_objects_need_adopt(
    stack: Stack, existing: tuple[str, tuple[str], dict[str, object]], s: Scenario
) -> None:
    cmdlet, positional, named = existing
    if cmdlet == "New-CsHostingProvider":
        named = {**named, **NEW_HOSTING_PROVIDER_MANDATORY, "Enabled": False}
    stack.emu.run_cmdlet(cmdlet, *positional, **named)
    writes = stack.writes()
    with pytest.raises(ProviderError) as caught:
        stack.engine.up([decl(s)])
    assert "already exists" in str(caught.value) and "adopt=True" in str(caught.value)
    assert "pulumi config set lync:adoptExisting true" in str(caught.value)
    assert stack.writes() == writes
    assert stack.engine.state == {}
    handmade = store_state(stack.emu)
    assert stack.engine.up([decl(s, {**s.inputs, "adopt": True})]).ops == {s.name: "create"}
    assert s.read_live(stack.emu) == s.desired_live
    assert stack.engine.outputs(s.name)["adopted"] is True
    assert stack.engine.up([decl(s, {**s.inputs, "adopt": True})]).ops == {s.name: "same"}
    # Issue 14: destroy gives the adopted object back as it was, and never removes it.
    stack.engine.destroy()
    assert store_state(stack.emu) == handmade
    removes = [e for e in stack.emu.audit.writes() if e.cmdlet.startswith("Remove-")]
    assert removes == []


def test_adopting_a_provider_with_another_proxy_is_refused(stack: Stack) -> None:
    stack.emu.run_cmdlet(
        "New-CsHostingProvider",
        "Exchange Online",
        ProxyFqdn="old.example.com",
        Enabled=True,
        **NEW_HOSTING_PROVIDER_MANDATORY,
    )
    adopt = declare(
        HostingProvider, "exo", HostingProviderProvider(), {**EXCHANGE_ONLINE, "adopt": True}
    )
    with pytest.raises(ProviderError, match="different proxy_fqdn"):
        stack.engine.up([adopt])


def test_replacing_an_adopted_provider_gives_it_back_and_says_how_to_go_on(stack: Stack) -> None:
    """A new proxy_fqdn needs Remove- and New-, which a stack never does to an object it
    adopted: the replacement's delete gives the object back, and its create then refuses,
    naming what to run. Nothing of the adopted object is lost, and after the admin removes
    it the same program creates it."""
    stack.emu.run_cmdlet(
        "New-CsHostingProvider",
        "Exchange Online",
        ProxyFqdn="exap.um.outlook.com",
        Enabled=False,
        **NEW_HOSTING_PROVIDER_MANDATORY,
    )
    handmade = store_state(stack.emu)
    adopt = {**EXCHANGE_ONLINE, "adopt": True}
    stack.engine.up([declare(HostingProvider, "exo", HostingProviderProvider(), adopt)])
    china = {**adopt, "proxy_fqdn": "exap.um.partner.outlook.cn"}
    moved = declare(HostingProvider, "exo", HostingProviderProvider(), china)
    assert stack.engine.preview([moved]).ops == {"exo": "replace"}
    with pytest.raises(ProviderError) as caught:
        stack.engine.up([moved])
    said = str(caught.value)
    assert "Remove-CsHostingProvider -Identity 'Exchange Online'" in said
    assert "gave it back with its prior values" in said
    assert store_state(stack.emu) == handmade
    assert [e.cmdlet for e in stack.emu.audit.writes() if e.cmdlet.startswith("Remove-")] == []
    assert stack.engine.state == {}
    stack.emu.run_cmdlet("Remove-CsHostingProvider", "Exchange Online")
    assert stack.engine.up([moved]).ops == {"exo": "create"}
    [live] = stack.emu.run_cmdlet("Get-CsHostingProvider", "Exchange Online")
    assert live.properties["ProxyFqdn"] == "exap.um.partner.outlook.cn"
    assert stack.engine.outputs("exo").get("adopted") is None
