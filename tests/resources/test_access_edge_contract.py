"""AccessEdgeConfig against Microsoft's documented Set-CsAccessEdgeConfiguration contract.

The cmdlet has three parameter sets and ``-Identity`` exists only in the first; the routing
switches and the routing-only properties live in the other two. The emulator binds exactly
that, so these runs through the real provider process fail if the provider ever sends a
combination a real server could not bind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lync_emulator.emulator import Emulator
from lync_provider.resources import AccessEdgeConfig, AccessEdgeConfigProvider
from tests.resources.conftest import PROJECT, Stack, stack_config, store_state
from tests.support.engine import Declaration, Engine, ProviderProcess, declare

ROUTE = {"routing_method": "UseDefaultRouting", "default_route_fqdn": "fed.contoso.com"}


def edge(**inputs: Any) -> Declaration:
    return declare(AccessEdgeConfig, "edge", AccessEdgeConfigProvider(), inputs)


def live(emu: Emulator) -> dict[str, Any]:
    [settings] = emu.run_cmdlet("Get-CsAccessEdgeConfiguration")
    return dict(settings.properties)


def sets_sent(emu: Emulator) -> list[dict[str, Any]]:
    return [e.parameters for e in emu.audit.entries("Set-CsAccessEdgeConfiguration")]


def test_a_routing_change_and_its_restore_bind_on_the_documented_sets(stack: Stack) -> None:
    before = store_state(stack.emu)
    stack.engine.up([edge(allow_federated_users=True, **ROUTE)])
    settings = live(stack.emu)
    assert settings["RoutingMethod"] == "UseDefaultRouting"
    assert settings["DefaultRouteFqdn"] == "fed.contoso.com"
    assert settings["AllowFederatedUsers"] is True
    assert stack.engine.up([edge(allow_federated_users=True, **ROUTE)]).ops == {"edge": "same"}

    stack.engine.destroy()

    assert live(stack.emu)["RoutingMethod"] == "UseDnsSrvRouting"
    assert store_state(stack.emu) == before
    sent = sets_sent(stack.emu)
    assert [e.outcome for e in stack.emu.audit.entries("Set-CsAccessEdgeConfiguration")] == [
        "ok",
        "ok",
    ]
    assert sent[0].get("UseDefaultRouting") is True and sent[1].get("UseDnsSrvRouting") is True
    assert all("Identity" not in parameters for parameters in sent)


def test_dns_srv_routing_properties_are_written_and_read_back_without_drift(
    stack: Stack,
) -> None:
    inputs = {
        "routing_method": "UseDnsSrvRouting",
        "enable_partner_discovery": True,
        "discovered_partner_verification_level": "UseSourceVerification",
    }
    stack.engine.up([edge(**inputs)])
    assert live(stack.emu)["DiscoveredPartnerVerificationLevel"] == "UseSourceVerification"
    outputs = stack.engine.outputs("edge")
    assert outputs["discovered_partner_verification_level"] == "UseSourceVerification"
    assert stack.engine.refresh().ops == {"edge": "same"}
    written = stack.writes()
    assert stack.engine.up([edge(**inputs)]).ops == {"edge": "same"}
    assert stack.writes() == written


@pytest.fixture
def stack_on(
    make_lync_emulator: Callable[..., Emulator],
) -> Iterator[Callable[[str, str], Stack]]:
    """A stack whose emulator runs ``version`` and whose config targets ``configured``."""
    processes: list[ProviderProcess] = []

    def make(version: str, configured: str) -> Stack:
        emu = make_lync_emulator(version=version)
        process = ProviderProcess(project=PROJECT).__enter__()
        processes.append(process)
        config = {**stack_config(emu), "lync:serverVersion": configured}
        return Stack(emu, Engine(process, config), process)

    yield make
    for process in processes:
        process.stop()


@pytest.mark.parametrize("version", ["2015", "2019", "SE"])
def test_skype_for_business_parameters_deploy_and_restore(
    stack_on: Callable[[str, str], Stack], version: str
) -> None:
    stack = stack_on(version, version)
    before = live(stack.emu)
    inputs = {
        "dns_srv_cache_record_count": 50,
        "skype_search_url": "https://skypegraph.skype.com/search/v1.0/",
    }
    stack.engine.up([edge(**inputs)])
    settings = live(stack.emu)
    assert settings["DnsSrvCacheRecordCount"] == 50
    assert settings["SkypeSearchUrl"] == inputs["skype_search_url"]
    assert stack.engine.up([edge(**inputs)]).ops == {"edge": "same"}
    stack.engine.destroy()
    assert live(stack.emu) == before
