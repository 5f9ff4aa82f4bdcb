"""The real __main__.py deployed into the emulator: registrations served by the real providers."""

from __future__ import annotations

from typing import Any

from lync_emulator.emulator import Emulator
from tests.program.mocks import ProviderMocks, run_program


def emulator_config(emu: Emulator) -> dict[str, Any]:
    assert emu.edge_url is not None
    return {
        "lync:frontEndUrl": emu.frontend_url,
        "lync:edgeUrl": emu.edge_url,
        "lync:username": emu.username,
        "lync:password": emu.password,
        "lync:auth": "basic",
        "lync:encryption": "never",
        "lync:policyIdentity": "tag:OWA",
        "lync:policyUsers": '["sip:alice@contoso.com", "bob@contoso.com"]',
    }


def test_main_deploys_the_whole_integration(lync_emulator: Emulator) -> None:
    config = emulator_config(lync_emulator)
    mocks = ProviderMocks(config)
    run_program(config, mocks)
    assert len(mocks.created) == 6
    [edge] = lync_emulator.run_cmdlet("Get-CsAccessEdgeConfiguration")
    assert edge.properties["AllowFederatedUsers"] is True
    [hp] = lync_emulator.run_cmdlet("Get-CsHostingProvider", "Exchange Online")
    assert hp.properties["ProxyFqdn"] == "exap.um.outlook.com"
    [user] = lync_emulator.run_cmdlet("Get-CsUser", "bob@contoso.com")
    assert user.properties["ExternalAccessPolicy"] == "OWA"  # Get-CsUser shows the bare tag
    edge_reads = [e for e in lync_emulator.audit.entries() if e.role == "edge"]
    assert edge_reads and all(e.parameters.get("LocalStore") is True for e in edge_reads)
