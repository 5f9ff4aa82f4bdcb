"""An ExternalAccessPolicyAssignment moved to another policy, through the engine stand-in.

The engine never changes a resource's ID on update, and the assignment's ID is the policy it
was created with, so after a move only the state names the policy granted. These tests fail
if refresh, a later update or destroy goes by the ID: refresh would report drift on every
run, and destroy would give nobody back their prior policy.
"""

from __future__ import annotations

from lync_emulator.emulator import Emulator
from lync_provider.resources import (
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
    ExternalAccessPolicyProvider,
)
from tests.resources.conftest import Stack, store_state
from tests.support.engine import Declaration, declare

ALICE, BOB, CAROL = "sip:alice@contoso.com", "sip:bob@contoso.com", "sip:carol@contoso.com"


def program(tag: str, users: list[str]) -> list[Declaration]:
    """A tag policy and its assignment, the two named the same whatever the tag."""
    return [
        declare(
            ExternalAccessPolicy,
            "policy",
            ExternalAccessPolicyProvider(),
            {"identity": tag, "enable_outside_access": True},
        ),
        declare(
            ExternalAccessPolicyAssignment,
            "assignment",
            ExternalAccessPolicyAssignmentProvider(),
            {"policy_name": tag, "users": users},
        ),
    ]


def held(emu: Emulator, *users: str) -> dict[str, str | None]:
    """Each user's per-user policy as Get-CsUser shows it (bare name, None when none)."""
    answers = {user: emu.run_cmdlet("Get-CsUser", user)[0] for user in users}
    return {user: record.properties["ExternalAccessPolicy"] for user, record in answers.items()}


def test_a_move_to_another_policy_is_refreshed_kept_and_given_back_by_the_state(
    stack: Stack,
) -> None:
    stack.emu.run_cmdlet("New-CsExternalAccessPolicy", "tag:Earlier", EnableOutsideAccess=False)
    stack.emu.run_cmdlet("Grant-CsExternalAccessPolicy", BOB, "Earlier")
    before = store_state(stack.emu)

    stack.engine.up(program("tag:A", [ALICE, BOB]))
    plan = stack.engine.up(program("tag:B", [ALICE, BOB]))
    assert plan.ops == {"policy": "replace", "assignment": "update"}
    assert held(stack.emu, ALICE, BOB) == {ALICE: "B", BOB: "B"}
    assert stack.engine.outputs("assignment")["policy_name"] == "Tag:B"

    # Someone grants one user back the old policy by hand: refresh sees exactly that.
    stack.emu.run_cmdlet("Grant-CsExternalAccessPolicy", ALICE, "Earlier")
    assert stack.engine.refresh().ops["assignment"] == "update"
    assert stack.engine.outputs("assignment")["users"] == [BOB]
    stack.engine.up(program("tag:B", [ALICE, BOB]))
    assert held(stack.emu, ALICE) == {ALICE: "B"}
    # After that, the state and the server agree: no drift, and nothing is written.
    assert stack.engine.refresh().ops == {"policy": "same", "assignment": "same"}
    writes = stack.writes()
    assert set(stack.engine.up(program("tag:B", [ALICE, BOB])).ops.values()) == {"same"}
    assert stack.writes() == writes

    # Destroy gives each user what they held before the first grant, so both policies go.
    stack.engine.destroy()
    assert store_state(stack.emu) == before


def test_a_move_that_also_drops_a_user_gives_that_user_back_its_prior_policy(
    stack: Stack,
) -> None:
    before = held(stack.emu, ALICE, BOB, CAROL)
    stack.engine.up(program("tag:A", [ALICE, BOB, CAROL]))
    assert set(held(stack.emu, ALICE, BOB, CAROL).values()) == {"A"}

    stack.engine.up(program("tag:B", [ALICE, BOB]))
    # Carol left while the others moved: she holds what she held before, not A, so the old
    # policy can be removed (the replaced policy's delete would fail while she held it).
    assert held(stack.emu, ALICE, BOB, CAROL) == {ALICE: "B", BOB: "B", CAROL: before[CAROL]}
    identities = {
        str(p.properties["Identity"]) for p in stack.emu.run_cmdlet("Get-CsExternalAccessPolicy")
    }
    assert "Tag:A" not in identities and "Tag:B" in identities
    stack.engine.destroy()
    assert held(stack.emu, ALICE, BOB, CAROL) == before
