"""Scenario 5: replication never completes.

The gate fails within its own deadline with the per-replica table, and a resource that
depends on the gate is not touched: the engine registers it only after the gate returned.
"""

from __future__ import annotations

import time

from lync_emulator.replication import ReplicationSettings
from lync_provider.replication import ReplicationGate, ReplicationGateProvider
from lync_provider.resources import HostingProvider, HostingProviderProvider
from tests.reliability.conftest import Rig
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import declare

EDGE = "edge01.contoso.local"
DEADLINE = 1.5


def test_a_broken_edge_fails_the_gate_at_its_deadline_and_dependents_are_untouched(
    rig: Rig,
) -> None:
    stack = rig.stack(replication=ReplicationSettings(broken=frozenset({EDGE})))
    exo = declare(HostingProvider, "exo", HostingProviderProvider(), EXCHANGE_ONLINE)
    stack.engine.up([exo])
    outputs = stack.engine.outputs("exo")
    gate = declare(
        ReplicationGate,
        "gate",
        ReplicationGateProvider(),
        {
            "triggers": [outputs["proxy_fqdn"]],
            "changed_after": [outputs["changed_at"]],
            "timeout_seconds": DEADLINE,
            "poll_min_seconds": 0.1,
            "poll_max_seconds": 0.3,
        },
    )
    partner = declare(
        HostingProvider,
        "partner",
        HostingProviderProvider(),
        {"identity": "fabrikam.com", "proxy_fqdn": "sip.fabrikam.com", "enabled": True},
    )
    started = time.monotonic()

    text = rig.failure(lambda: stack.engine.up([exo, gate, partner]))

    assert DEADLINE <= time.monotonic() - started <= DEADLINE + 2.0
    assert f"did not finish within {DEADLINE:g} s" in text
    assert EDGE in text and "UpToDate" in text and "4443" in text
    assert "gate" not in {urn.rsplit("::", 1)[1] for urn in stack.engine.state}
    assert [e for e in stack.emu.audit.entries() if "fabrikam" in repr(e.parameters)] == []
