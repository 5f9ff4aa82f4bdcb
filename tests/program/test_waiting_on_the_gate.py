"""The documented pattern: a resource that depends on the gate is not touched before the
Edge has the configuration. Registrations are served by the real providers, so the order is
the one the SDK's dependency handling produces, and the emulator's audit log times it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pulumi

from lync_emulator.emulator import Emulator
from lync_emulator.replication import ReplicationSettings
from lync_provider import (
    ExchangeOnlineIntegration,
    ExchangeOnlineIntegrationArgs,
    HostingProvider,
)
from tests.program.mocks import ProviderMocks, run_program
from tests.program.test_deploy_end_to_end import emulator_config

EDGE = "edge01.contoso.local"


def test_a_resource_depending_on_the_gate_waits_for_replication(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    emu = make_lync_emulator(replication=ReplicationSettings(delay_seconds=1.5))
    config = emulator_config(emu)

    def program() -> None:
        owa = ExchangeOnlineIntegration(
            "owa",
            ExchangeOnlineIntegrationArgs(
                verify_edge=False, poll_min_seconds=0.1, poll_max_seconds=0.2
            ),
        )
        HostingProvider(
            "fabrikam",
            identity="fabrikam.com",
            proxy_fqdn="sip.fabrikam.com",
            enabled=True,
            opts=pulumi.ResourceOptions(depends_on=[owa.gate]),
        )

    mocks = ProviderMocks(config)
    monitor = run_program(config, mocks, program=program)
    gate = monitor.one(":ReplicationGate")
    fabrikam = next(r for r in monitor.by_type(":HostingProvider") if r.name == "fabrikam")
    assert gate.urn in fabrikam.dependencies

    [edge] = [r for r in mocks.outputs["owa-replication"]["replica_status"] if r["fqdn"] == EDGE]
    edge_applied = datetime.fromisoformat(edge["last_status_report"])
    [created] = [
        e
        for e in emu.audit.entries("New-CsHostingProvider")
        if e.parameters["Identity"] == "fabrikam.com"
    ]
    assert created.time >= edge_applied
    writes = [e for e in emu.audit.writes() if e.time < created.time]
    assert {e.cmdlet for e in writes} >= {"Set-CsAccessEdgeConfiguration", "New-CsHostingProvider"}
