"""Scenario 1 and issue 13, defects 2 and 3: a write applied whose reply never arrives.

The operation resolves by reading back: no duplicate-create error, no second write of the same
change, and state equal to the server. When an outage keeps the server unreadable for longer
than one operation may take, the create fails, and the next `up` still does the right thing:
it recognises the object its lost New- made (from the journal) instead of failing with
"already exists", and keeps the prior value read before the first write instead of recording
the value that write left behind.
"""

from __future__ import annotations

import pytest

from lync_provider.resources import AccessEdgeConfig, AccessEdgeConfigProvider
from tests.reliability.conftest import Rig, converged, deployment
from tests.resources.conftest import store_state
from tests.support.engine import declare

SETTLE = {"lync:operationTimeout": "3"}


def writes_of(stack: object, cmdlet: str) -> int:
    return len([e for e in stack.emu.audit.writes() if e.cmdlet == cmdlet])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "cmdlet",
    ["New-CsHostingProvider", "Set-CsAccessEdgeConfiguration", "Grant-CsExternalAccessPolicy"],
)
def test_a_lost_reply_is_settled_by_reading_back(rig: Rig, cmdlet: str) -> None:
    stack = rig.stack(config=SETTLE)
    stack.emu.faults.drop_reply_after(cmdlet)

    stack.engine.up(deployment())

    assert converged(stack.emu)
    expected = 2 if cmdlet.startswith("Grant") else 1  # two users, one grant each
    assert writes_of(stack, cmdlet) == expected
    assert stack.engine.refresh().changes is False
    assert stack.engine.up(deployment()).changes is False


def test_a_lost_reply_to_remove_is_settled_by_reading_back(rig: Rig) -> None:
    stack = rig.stack(config=SETTLE)
    before = store_state(stack.emu)
    stack.engine.up(deployment())
    stack.emu.faults.drop_reply_after("Remove-CsHostingProvider")

    stack.engine.destroy()

    assert store_state(stack.emu) == before
    assert writes_of(stack, "Remove-CsHostingProvider") == 1


def test_a_lost_new_during_a_short_outage_is_settled_within_the_operation_timeout(
    rig: Rig,
) -> None:
    stack = rig.stack(config=SETTLE)
    stack.emu.faults.drop_reply_after("New-CsHostingProvider", outage_s=1.5)

    stack.engine.up(deployment())

    assert converged(stack.emu)
    assert writes_of(stack, "New-CsHostingProvider") == 1


def test_a_new_whose_outcome_stayed_unknown_is_taken_over_by_the_next_up(rig: Rig) -> None:
    stack = rig.stack(config={"lync:operationTimeout": "1"})
    stack.emu.faults.drop_reply_after("New-CsHostingProvider", outage_s=60)
    text = rig.failure(lambda: stack.engine.up(deployment()))
    assert "may or may not have been applied" in text
    assert "exo" not in {urn.rsplit("::", 1)[1] for urn in stack.engine.state}
    stack.emu.faults.end_outage()

    stack.engine.up(deployment())

    assert converged(stack.emu)
    assert writes_of(stack, "New-CsHostingProvider") == 1
    assert "adopted" not in stack.engine.outputs("exo")
    stack.engine.destroy()
    assert stack.emu.run_cmdlet("Get-CsHostingProvider") == []


def test_a_takeover_whose_write_stayed_unknown_keeps_the_true_prior_value(rig: Rig) -> None:
    stack = rig.stack(config={"lync:operationTimeout": "1"})
    edge = declare(
        AccessEdgeConfig, "edge", AccessEdgeConfigProvider(), {"allow_federated_users": True}
    )
    stack.emu.faults.drop_reply_after("Set-CsAccessEdgeConfiguration", outage_s=60)
    text = rig.failure(lambda: stack.engine.up([edge]))
    assert "Set-CsAccessEdgeConfiguration" in text and "pulumi refresh" in text
    stack.emu.faults.end_outage()
    [settings] = stack.emu.run_cmdlet("Get-CsAccessEdgeConfiguration")
    assert settings.properties["AllowFederatedUsers"] is True  # the lost write took effect

    stack.engine.up([edge])

    prior = {p["property"]: p.get("value") for p in stack.engine.outputs("edge")["prior_values"]}
    assert prior == {"allow_federated_users": False}
    stack.engine.destroy()
    [settings] = stack.emu.run_cmdlet("Get-CsAccessEdgeConfiguration")
    assert settings.properties["AllowFederatedUsers"] is False
