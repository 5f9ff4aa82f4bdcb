"""Scenario 2: the server restarts in the middle of a deployment.

Shells are forgotten; the store persists (``--state``). The same `up` completes: the session
sees the WS-Management "shell not found" fault, opens a new pool and re-sends the command
that was refused before it ran. Where the restart also loses an answer, the next `up`
completes with writes only for what remained, and the server ends up as declared.
"""

from __future__ import annotations

from pathlib import Path

from tests.reliability.conftest import Rig, converged, deployment

SAME = dict.fromkeys(("edge", "exo", "policy", "grant"), "same")


def test_the_same_up_completes_across_a_restart(rig: Rig, tmp_path: Path) -> None:
    stack = rig.stack(state_path=tmp_path / "state.json")
    restarts: list[str] = []

    def restart_before_the_policy(urn: str, op: str) -> None:
        if urn.endswith("::policy") and not restarts:
            stack.emu.restart()
            restarts.append(urn)

    stack.engine.before_step = restart_before_the_policy

    stack.engine.up(deployment())

    assert restarts and converged(stack.emu)
    assert stack.engine.up(deployment()).ops == SAME
    news = [e.cmdlet for e in stack.emu.audit.writes() if e.cmdlet.startswith("New-")]
    assert news == ["New-CsHostingProvider", "New-CsExternalAccessPolicy"]


def test_after_a_restart_that_loses_an_answer_the_next_up_finishes_the_rest(
    rig: Rig, tmp_path: Path
) -> None:
    stack = rig.stack(state_path=tmp_path / "state.json")
    # The first user's grant fails in the batch and again when sent alone.
    stack.emu.faults.fail_invocation("Grant-CsExternalAccessPolicy", 1)
    stack.emu.faults.fail_invocation("Grant-CsExternalAccessPolicy", 2)
    text = rig.failure(lambda: stack.engine.up(deployment()))
    assert "InjectedFault" in text
    stack.emu.restart()
    done = len(stack.emu.audit.writes())

    plan = stack.engine.up(deployment())

    assert plan.ops == {**SAME, "grant": "create"}
    assert converged(stack.emu)
    rest = [e.cmdlet for e in stack.emu.audit.writes()[done:]]
    assert rest == ["Grant-CsExternalAccessPolicy", "Grant-CsExternalAccessPolicy"]
