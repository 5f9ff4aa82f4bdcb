"""Scenario 6: a managed value changed directly on the server (in the Management Shell).

`refresh` reports it per property and the next `up` restores it with exactly one write. An
`up` without `--refresh` compares the program with the state, not with the server, so it
does not see the drift and writes nothing: the README's Reliability section says so.
"""

from __future__ import annotations

from tests.reliability.conftest import Rig, converged, deployment

SAME = dict.fromkeys(("edge", "exo", "policy", "grant"), "same")


def test_refresh_reports_drift_per_property_and_up_restores_it_with_one_write(rig: Rig) -> None:
    stack = rig.stack()
    stack.engine.up(deployment())
    stack.emu.run_cmdlet("Set-CsHostingProvider", "Exchange Online", Enabled=False)
    stack.emu.run_cmdlet("Set-CsAccessEdgeConfiguration", AllowFederatedUsers=False)

    refreshed = stack.engine.refresh()

    assert refreshed.ops == {**SAME, "edge": "update", "exo": "update"}
    assert stack.engine.outputs("exo")["enabled"] is False
    assert stack.engine.outputs("edge")["allow_federated_users"] is False
    assert stack.engine.outputs("exo")["verification_level"] == "UseSourceVerification"
    writes = len(stack.emu.audit.writes())

    assert stack.engine.up(deployment()).ops == {**SAME, "edge": "update", "exo": "update"}

    restoring = stack.emu.audit.writes()[writes:]
    assert [e.cmdlet for e in restoring] == [
        "Set-CsAccessEdgeConfiguration",
        "Set-CsHostingProvider",
    ]
    assert restoring[1].parameters == {"Identity": "Exchange Online", "Enabled": True}
    assert converged(stack.emu)


def test_up_without_refresh_does_not_see_drift_and_writes_nothing(rig: Rig) -> None:
    stack = rig.stack()
    stack.engine.up(deployment())
    stack.emu.run_cmdlet("Set-CsHostingProvider", "Exchange Online", Enabled=False)
    writes = len(stack.emu.audit.writes())

    assert stack.engine.up(deployment()).ops == SAME

    assert len(stack.emu.audit.writes()) == writes
    assert not converged(stack.emu)
