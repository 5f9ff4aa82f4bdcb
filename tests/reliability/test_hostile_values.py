"""Scenario 8: hostile values in every string input that reaches the server.

Each is stored literally and read back equal, or refused by `check` with a clear reason; the
audit log shows exactly the intended cmdlets and no other statement. Values travel as PSRP
parameters, never as PowerShell source, so quotes, `$()`, backticks, semicolons and newlines
are data. Control characters are refused: no Lync identity holds one, and a NUL cannot travel
in remoting's XML at all.
"""

from __future__ import annotations

import pytest

from lync_provider.resources import (
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
    ExternalAccessPolicyProvider,
    HostingProvider,
    HostingProviderProvider,
)
from tests.reliability.conftest import Rig
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import CheckFailedError, declare

STORED = {
    "quotes": 'O\'Brien "Partner"',
    "subexpression": "$(Remove-CsHostingProvider -Identity 'Exchange Online')",
    "backticks": "`$env:USERNAME`",
    "semicolons": "a; Remove-CsExternalAccessPolicy Global; b",
    "non-ascii": "Fédération Ωmega 東京",
    "right-to-left": "\u202eenilno egnahcxe",
    "pipes and redirects": "x | Out-File C:\\pwned.txt > y",
    "escape lookalike": "_x0007_ and _x005F_",
}
REFUSED = {
    "NUL": "a\x00b",
    "BEL": "a\x07b",
    "ESC": "a\x1b[31m",
    "newline": "line one\nline two",
}
PROVIDER_CMDLETS = {
    "Get-CsManagementStoreReplicationStatus",
    "Get-CsHostingProvider",
    "New-CsHostingProvider",
    "Remove-CsHostingProvider",
}


def test_hostile_hosting_provider_identities_are_stored_literally(rig: Rig) -> None:
    stack = rig.stack()
    declared = [
        declare(
            HostingProvider,
            f"hp{i}",
            HostingProviderProvider(),
            {**EXCHANGE_ONLINE, "identity": value, "proxy_fqdn": f"sip{i}.partner.example"},
        )
        for i, value in enumerate(STORED.values())
    ]
    stack.engine.up(declared)
    for i, value in enumerate(STORED.values()):
        [live] = stack.emu.run_cmdlet("Get-CsHostingProvider", value)
        assert live.properties["Identity"] == value
        assert stack.engine.outputs(f"hp{i}")["identity"] == value
    assert stack.engine.up(declared).changes is False
    stack.engine.destroy()
    assert stack.emu.run_cmdlet("Get-CsHostingProvider") == []
    entries = stack.emu.audit.entries()
    assert {e.cmdlet for e in entries} <= PROVIDER_CMDLETS
    written = sorted(e.parameters["Identity"] for e in entries if e.wrote and e.role != "local")
    assert written == sorted([*STORED.values(), *STORED.values()])


def test_hostile_policy_descriptions_round_trip(rig: Rig) -> None:
    stack = rig.stack()
    values = [*STORED.values(), "x" * 4096, "two\nlines\ttabbed"]
    declared = [
        declare(
            ExternalAccessPolicy,
            f"p{i}",
            ExternalAccessPolicyProvider(),
            {"identity": f"tag:Hostile{i}", "description": value},
        )
        for i, value in enumerate(values)
    ]
    stack.engine.up(declared)
    for i, value in enumerate(values):
        [live] = stack.emu.run_cmdlet("Get-CsExternalAccessPolicy", f"tag:Hostile{i}")
        assert live.properties["Description"] == value
    assert stack.engine.refresh().changes is False
    assert stack.engine.up(declared).changes is False


def test_hostile_user_names_are_looked_up_literally_and_not_found(rig: Rig) -> None:
    stack = rig.stack()
    stack.emu.run_cmdlet("New-CsExternalAccessPolicy", "tag:OWA")
    stack.emu.audit.clear()
    for value in STORED.values():
        inputs = {"policy_name": "tag:OWA", "users": [value]}
        declared = declare(
            ExternalAccessPolicyAssignment, "g", ExternalAccessPolicyAssignmentProvider(), inputs
        )
        text = rig.failure(lambda declared=declared: stack.engine.up([declared]))
        # As typed in PowerShell; a character a terminal would not show as itself, escaped.
        shown = "'" + value.replace("'", "''") + "'" if value.isprintable() else repr(value)
        assert "was not found" in text and shown in text
    lookups = [e.parameters for e in stack.emu.audit.entries("Get-CsUser")]
    assert lookups == [{"Identity": value} for value in STORED.values()]
    assert stack.emu.audit.writes() == []


REFUSING = {
    "hosting provider identity": (HostingProvider, HostingProviderProvider, EXCHANGE_ONLINE),
    "policy identity": (ExternalAccessPolicy, ExternalAccessPolicyProvider, {}),
    "user name": (
        ExternalAccessPolicyAssignment,
        ExternalAccessPolicyAssignmentProvider,
        {"policy_name": "tag:OWA"},
    ),
}


@pytest.mark.parametrize("kind", REFUSING)
def test_control_characters_are_refused_by_check_before_any_call(rig: Rig, kind: str) -> None:
    resource, provider, inputs = REFUSING[kind]
    prop = "users" if kind == "user name" else "identity"
    stack = rig.stack()
    for value in REFUSED.values():
        given = {**inputs, prop: [value] if prop == "users" else value}
        with pytest.raises(CheckFailedError) as caught:
            stack.engine.up([declare(resource, "r", provider(), given)])
        [(failed, reason)] = caught.value.failures
        assert failed == prop and "control characters" in reason and "U+00" in reason
    assert stack.emu.audit.entries() == []


def test_a_nul_in_a_description_is_refused(rig: Rig) -> None:
    stack = rig.stack()
    declared = declare(
        ExternalAccessPolicy,
        "p",
        ExternalAccessPolicyProvider(),
        {"identity": "tag:x", "description": "a\x00b"},
    )
    with pytest.raises(CheckFailedError) as caught:
        stack.engine.up([declared])
    assert caught.value.failures[0][0] == "description"
