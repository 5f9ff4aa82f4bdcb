"""Scenario 3: the Nth cmdlet fails part way through `up`.

What succeeded is in state and what failed is not; nothing on the server is half-made (the
failed create undid what it did); a rerun converges with writes only for what remained.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import Rig, converged, deployment
from tests.resources.conftest import store_state


@pytest.mark.parametrize(
    ("failing", "done"),
    [
        ("New-CsHostingProvider", ["edge"]),
        ("New-CsExternalAccessPolicy", ["edge", "exo"]),
        ("Grant-CsExternalAccessPolicy", ["edge", "exo", "policy"]),
    ],
)
def test_a_failed_step_leaves_the_rest_and_a_rerun_finishes_only_it(
    rig: Rig, failing: str, done: list[str]
) -> None:
    stack = rig.stack()
    if failing.startswith("Grant"):
        # The second user's grant fails in the batch (invocation 2, which stops it), and
        # again when the batch's unfinished grants are sent one by one (invocation 3).
        stack.emu.faults.fail_invocation(failing, 2)
        stack.emu.faults.fail_invocation(failing, 3)
    else:
        stack.emu.faults.fail_invocation(failing, 1)
    before = store_state(stack.emu)

    text = rig.failure(lambda: stack.engine.up(deployment()))

    assert "InjectedFault" in text and failing in text
    assert sorted(urn.rsplit("::", 1)[1] for urn in stack.engine.state) == sorted(done)
    after = store_state(stack.emu)
    if failing == "New-CsHostingProvider":
        assert after.get("HostingProvider", {}) == before.get("HostingProvider", {})
    if failing.startswith("Grant"):
        # The first user's grant was undone: nobody holds a policy outside the state.
        assert after["User"] == before["User"]
    writes_before_rerun = len(stack.emu.audit.writes())

    stack.engine.up(deployment())

    assert converged(stack.emu)
    rerun = [e.cmdlet for e in stack.emu.audit.writes()[writes_before_rerun:]]
    assert not any(c == "Set-CsAccessEdgeConfiguration" for c in rerun)  # edge was done
    assert rerun.count(failing) >= 1
    assert stack.engine.up(deployment()).ops == dict.fromkeys(
        ("edge", "exo", "policy", "grant"), "same"
    )
