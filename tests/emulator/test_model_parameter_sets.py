"""Each served cmdlet binds as its documented syntax blocks say: sets, mandatory, positions.

The cases come from the ODP pages cited in each cmdlet module; a combination no syntax block
allows fails with PowerShell's AmbiguousParameterSet before the cmdlet runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from lync_emulator.service import LyncService
from tests.emulator.model_helpers import failed, make_service, ok, one, provider

INSTANCE = {"Identity": "Global"}


@pytest.fixture
def service() -> LyncService:
    svc = make_service()
    ok(svc.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")))
    ok(svc.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    return svc


def _edge(service: LyncService) -> dict[str, Any]:
    return one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))


def test_access_edge_identity_is_only_in_the_identity_set(service: LyncService) -> None:
    before = service.store.version
    for routing in (
        {"UseDnsSrvRouting": None},
        {"EnablePartnerDiscovery": True},
        {"UseDefaultRouting": None, "DefaultRouteFqdn": "sip.example"},
        {"IsPublicProvider": True},
    ):
        err = failed(
            service.run("frontend", "Set-CsAccessEdgeConfiguration", Identity="Global", **routing),
            "AmbiguousParameterSet",
            "InvalidArgument",
        )
        assert err.message == (
            "Parameter set cannot be resolved using the specified named parameters."
        )
    # Positionally, too: the routing sets have no positional parameter at all.
    failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", "Global", UseDnsSrvRouting=None),
        "PositionalParameterNotFound",
    )
    assert service.store.version == before


def test_access_edge_routing_sets_bind_without_identity(service: LyncService) -> None:
    """ODP Example 3, and the non-routing properties in every property set."""
    ok(
        service.run(
            "frontend",
            "Set-CsAccessEdgeConfiguration",
            UseDnsSrvRouting=None,
            EnablePartnerDiscovery=True,
            AllowFederatedUsers=True,
        )
    )
    assert (_edge(service)["EnablePartnerDiscovery"], _edge(service)["AllowFederatedUsers"]) == (
        True,
        True,
    )
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", "Global", AllowAnonymousUsers=True))
    assert _edge(service)["AllowAnonymousUsers"] is True


def test_access_edge_instance_set_holds_only_the_instance(service: LyncService) -> None:
    extras = ({"AllowFederatedUsers": True}, {"Identity": "Global"}, {"UseDnsSrvRouting": None})
    for extra in extras:
        failed(
            service.run("frontend", "Set-CsAccessEdgeConfiguration", Instance=INSTANCE, **extra),
            "AmbiguousParameterSet",
        )
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", Instance=INSTANCE, Force=None))


@pytest.mark.parametrize(
    "cmdlet",
    [
        "Set-CsHostingProvider",
        "Enable-CsHostingProvider",
        "Disable-CsHostingProvider",
        "Set-CsExternalAccessPolicy",
    ],
)
def test_identity_and_instance_are_separate_sets(service: LyncService, cmdlet: str) -> None:
    failed(
        service.run("frontend", cmdlet, Identity="P", Instance={"Identity": "P"}),
        "AmbiguousParameterSet",
    )


def test_set_properties_bind_in_both_sets(service: LyncService) -> None:
    """Set-CsHostingProvider and Set-CsExternalAccessPolicy list every property in both."""
    instance = one(service.run("frontend", "Get-CsExternalAccessPolicy", "Sales"))
    ok(
        service.run(
            "frontend", "Set-CsExternalAccessPolicy", Instance=instance, EnableOutsideAccess=True
        )
    )
    assert one(service.run("frontend", "Get-CsExternalAccessPolicy", "Sales"))[
        "EnableOutsideAccess"
    ]


@pytest.mark.parametrize(
    "cmdlet",
    ["Get-CsAccessEdgeConfiguration", "Get-CsHostingProvider", "Get-CsExternalAccessPolicy"],
)
def test_get_identity_and_filter_are_separate_sets(service: LyncService, cmdlet: str) -> None:
    failed(service.run("frontend", cmdlet, Identity="Global", Filter="*"), "AmbiguousParameterSet")
    # -LocalStore belongs to both.
    ok(service.run("frontend", cmdlet, Filter="*", LocalStore=None))


@pytest.mark.parametrize(
    ("role", "cmdlet", "arguments", "missing"),
    [
        ("frontend", "New-CsExternalAccessPolicy", {"EnableOutsideAccess": True}, "Identity"),
        ("frontend", "Remove-CsExternalAccessPolicy", {}, "Identity"),
        ("frontend", "Remove-CsHostingProvider", {}, "Identity"),
        ("frontend", "Grant-CsExternalAccessPolicy", {"PolicyName": "Sales"}, "Identity"),
        # Not given is not $null: leaving PolicyName out must not unassign the user.
        ("frontend", "Grant-CsExternalAccessPolicy", {"Identity": "bob@contoso.com"}, "PolicyName"),
        ("frontend", "Disable-CsUser", {}, "Identity"),
        ("edge", "Import-Module", {}, "Name"),
    ],
)
def test_missing_mandatory_parameter(
    service: LyncService, role: str, cmdlet: str, arguments: dict[str, Any], missing: str
) -> None:
    err = failed(service.run(role, cmdlet, **arguments), "MissingMandatoryParameter")
    assert err.message.endswith(f"missing mandatory parameters: {missing}.")


@pytest.mark.parametrize(
    ("cmdlet", "arguments"),
    [
        ("Set-CsAccessEdgeConfiguration", {}),
        ("Set-CsExternalAccessPolicy", {}),
        ("Get-CsUser", {}),
        ("Get-CsManagementStoreReplicationStatus", {}),
        ("Invoke-CsManagementStoreReplication", {}),
        # PolicyName is mandatory but AllowNull: an explicit $null binds (and unassigns).
        ("Grant-CsExternalAccessPolicy", {"Identity": "alice@contoso.com", "PolicyName": None}),
    ],
)
def test_nothing_else_is_mandatory(
    service: LyncService, cmdlet: str, arguments: dict[str, Any]
) -> None:
    ok(service.run("frontend", cmdlet, **arguments))


def test_replication_cmdlets_take_the_replica_positionally_and_invoke_has_no_what_if(
    service: LyncService,
) -> None:
    edge = "edge01.contoso.local"
    assert one(service.run("frontend", "Get-CsManagementStoreReplicationStatus", edge))[
        "ReplicaFqdn"
    ] == (edge)
    ok(service.run("frontend", "Invoke-CsManagementStoreReplication", edge, Force=None))
    for switch in ("WhatIf", "Confirm"):
        err = failed(
            service.run("frontend", "Invoke-CsManagementStoreReplication", **{switch: None}),
            "NamedParameterNotFound",
        )
        assert err.message == f"A parameter cannot be found that matches parameter name '{switch}'."


def test_grant_takes_identity_then_policy_name_positionally(service: LyncService) -> None:
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "Sales"))
    assert one(service.run("frontend", "Get-CsUser", "alice@contoso.com"))[
        "ExternalAccessPolicy"
    ] == ("Sales")
    failed(
        service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "Sales", "x"),
        "PositionalParameterNotFound",
    )


@pytest.mark.parametrize(("alias", "name"), [("wi", "WhatIf"), ("CF", "Confirm")])
def test_documented_what_if_and_confirm_aliases(
    service: LyncService, alias: str, name: str
) -> None:
    before = service.store.version
    ok(service.run("frontend", "Remove-CsHostingProvider", "P", **{alias: None}))
    assert service.audit.entries()[-1].parameters == {"Identity": "P", name: True}
    if name == "WhatIf":
        assert service.store.version == before


def test_teams_and_online_only_parameters_do_not_exist(service: LyncService) -> None:
    for cmdlet, arguments in (
        ("New-CsExternalAccessPolicy", {"Identity": "X", "EnableTeamsConsumerAccess": True}),
        ("Get-CsExternalAccessPolicy", {"ApplicableTo": "alice@contoso.com"}),
        ("Grant-CsExternalAccessPolicy", {"Global": None, "PolicyName": "Sales"}),
    ):
        failed(service.run("frontend", cmdlet, **arguments), "NamedParameterNotFound")
