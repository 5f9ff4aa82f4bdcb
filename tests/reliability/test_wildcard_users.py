"""Issue 13, defect 1: a user name that Grant or Get-CsUser expands to many users.

Grant would apply the policy to all of them while a prior policy is recorded only for the
pattern, and destroy would then unassign every one of them, so a user who held another tag
policy would lose it for good. A user name must mean exactly one user.
"""

from __future__ import annotations

import pytest

from lync_provider.resources import (
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
)
from tests.reliability.conftest import Rig
from tests.resources.conftest import Stack, store_state
from tests.support.engine import CheckFailedError, Declaration, declare


def grant(users: list[str]) -> Declaration:
    return declare(
        ExternalAccessPolicyAssignment,
        "grant",
        ExternalAccessPolicyAssignmentProvider(),
        {"policy_name": "tag:OWA", "users": users},
    )


def setup(rig: Rig) -> Stack:
    stack = rig.stack()
    for tag in ("tag:OWA", "tag:Partners"):
        stack.emu.run_cmdlet("New-CsExternalAccessPolicy", tag)
    stack.emu.run_cmdlet("Grant-CsExternalAccessPolicy", "sip:carol@contoso.com", "Partners")
    stack.emu.audit.clear()
    return stack


@pytest.mark.parametrize("pattern", ["*", "sip:*@contoso.com", "a*"])
def test_a_wildcard_user_is_refused_by_check(rig: Rig, pattern: str) -> None:
    stack = setup(rig)
    before = store_state(stack.emu)
    with pytest.raises(CheckFailedError) as caught:
        stack.engine.up([grant(["sip:alice@contoso.com", pattern])])
    [(prop, reason)] = caught.value.failures
    assert prop == "users" and "wildcard" in reason and repr(pattern) in reason
    assert store_state(stack.emu) == before


def test_a_name_that_matches_several_users_is_refused_and_nobody_changes(rig: Rig) -> None:
    stack = setup(rig)
    before = store_state(stack.emu)
    # A pattern Get-CsUser expands without a '*' (the emulator's -like matching of '?').
    text = rig.failure(lambda: stack.engine.up([grant(["sip:?????@contoso.com"])]))
    assert "names 3 users" in text and "exactly one user" in text
    assert store_state(stack.emu) == before
    assert stack.emu.audit.writes() == [] or all(
        e.role == "local" for e in stack.emu.audit.writes()
    )
    stack.engine.destroy()
    [carol] = stack.emu.run_cmdlet("Get-CsUser", "sip:carol@contoso.com")
    assert carol.properties["ExternalAccessPolicy"] == "Partners"
