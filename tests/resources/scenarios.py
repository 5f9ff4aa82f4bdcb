"""One lifecycle scenario per resource kind: what to declare, change, and change by hand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lync_emulator.emulator import Emulator
from lync_provider.resources import (
    AccessEdgeConfig,
    AccessEdgeConfigProvider,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
    ExternalAccessPolicyProvider,
    HostingProvider,
    HostingProviderProvider,
)
from lync_provider.resources.base import LyncProvider
from lync_provider.resources.resource import LyncResource

EXCHANGE_ONLINE = {
    "identity": "Exchange Online",
    "enabled": True,
    "enabled_shared_address_space": True,
    "hosts_ocs_users": False,
    "proxy_fqdn": "exap.um.outlook.com",
    "is_local": False,
    "verification_level": "UseSourceVerification",
}


@dataclass
class Scenario:
    """A resource declared, updated, and drifted out of band (as in the Management Shell)."""

    name: str
    resource: type[LyncResource]
    provider: type[LyncProvider]
    inputs: dict[str, Any]
    updated: dict[str, Any]
    out_of_band: tuple[str, tuple[Any, ...], dict[str, Any]]
    drifted_output: tuple[str, Any]  # (output key, the value refresh must then show)
    read_live: Callable[[Emulator], Any]  # the desired property, read from the emulator
    desired_live: Any
    # What the update from inputs to updated must write, and nothing more: (cmdlet,
    # parameters) in the order sent, as the emulator's audit log binds them.
    update_writes: list[tuple[str, dict[str, Any]]]
    setup: Callable[[Emulator], None] = field(default=lambda emu: None)


def _prop(cmdlet: str, identity: str | None, prop: str) -> Callable[[Emulator], Any]:
    def read(emu: Emulator) -> Any:
        args = (identity,) if identity else ()
        [obj] = emu.run_cmdlet(cmdlet, *args)
        return obj.properties[prop]

    return read


def _users_with(policy: str) -> Callable[[Emulator], Any]:
    def read(emu: Emulator) -> Any:
        return sorted(
            u.properties["SipAddress"]
            for u in emu.run_cmdlet("Get-CsUser")
            if u.properties["ExternalAccessPolicy"] == policy
        )

    return read


def _new_tag_policy(emu: Emulator) -> None:
    emu.run_cmdlet("New-CsExternalAccessPolicy", "tag:OWA", EnableOutsideAccess=True)


SCENARIOS = [
    Scenario(
        name="access_edge",
        resource=AccessEdgeConfig,
        provider=AccessEdgeConfigProvider,
        inputs={"allow_federated_users": True, "allow_outside_users": True},
        updated={"allow_federated_users": True, "enable_archiving_disclaimer": True},
        out_of_band=("Set-CsAccessEdgeConfiguration", (), {"AllowFederatedUsers": False}),
        drifted_output=("allow_federated_users", False),
        read_live=_prop("Get-CsAccessEdgeConfiguration", None, "AllowFederatedUsers"),
        desired_live=True,
        # allow_outside_users leaves management: its prior value (the default, True) goes back.
        update_writes=[
            (
                "Set-CsAccessEdgeConfiguration",
                {"AllowOutsideUsers": True, "EnableArchivingDisclaimer": True},
            )
        ],
    ),
    Scenario(
        name="hosting_provider",
        resource=HostingProvider,
        provider=HostingProviderProvider,
        inputs=EXCHANGE_ONLINE,
        updated={**EXCHANGE_ONLINE, "sip_client_port": 5061},
        out_of_band=("Set-CsHostingProvider", ("Exchange Online",), {"Enabled": False}),
        drifted_output=("enabled", False),
        read_live=_prop("Get-CsHostingProvider", "Exchange Online", "Enabled"),
        desired_live=True,
        update_writes=[
            ("Set-CsHostingProvider", {"Identity": "Exchange Online", "SipClientPort": 5061})
        ],
    ),
    Scenario(
        name="global_policy",
        resource=ExternalAccessPolicy,
        provider=ExternalAccessPolicyProvider,
        inputs={"identity": "global", "enable_outside_access": True},
        updated={"identity": "Global", "enable_outside_access": True, "description": "OWA"},
        out_of_band=("Set-CsExternalAccessPolicy", ("Global",), {"EnableOutsideAccess": False}),
        drifted_output=("enable_outside_access", False),
        read_live=_prop("Get-CsExternalAccessPolicy", "Global", "EnableOutsideAccess"),
        desired_live=True,
        update_writes=[
            ("Set-CsExternalAccessPolicy", {"Identity": "Global", "Description": "OWA"})
        ],
    ),
    Scenario(
        name="tag_policy",
        resource=ExternalAccessPolicy,
        provider=ExternalAccessPolicyProvider,
        inputs={"identity": "tag:OWA", "enable_outside_access": True},
        updated={"identity": "tag:OWA", "enable_outside_access": True, "description": "OWA"},
        out_of_band=("Set-CsExternalAccessPolicy", ("tag:OWA",), {"EnableOutsideAccess": False}),
        drifted_output=("enable_outside_access", False),
        read_live=_prop("Get-CsExternalAccessPolicy", "tag:OWA", "EnableOutsideAccess"),
        desired_live=True,
        update_writes=[
            ("Set-CsExternalAccessPolicy", {"Identity": "Tag:OWA", "Description": "OWA"})
        ],
    ),
    Scenario(
        name="site_policy",
        resource=ExternalAccessPolicy,
        provider=ExternalAccessPolicyProvider,
        inputs={"identity": "site:Redmond", "enable_outside_access": True},
        updated={"identity": "site:Redmond", "enable_outside_access": True, "description": "x"},
        out_of_band=(
            "Set-CsExternalAccessPolicy",
            ("site:Redmond",),
            {"EnableOutsideAccess": False},
        ),
        drifted_output=("enable_outside_access", False),
        read_live=_prop("Get-CsExternalAccessPolicy", "site:Redmond", "EnableOutsideAccess"),
        desired_live=True,
        update_writes=[
            ("Set-CsExternalAccessPolicy", {"Identity": "Site:Redmond", "Description": "x"})
        ],
    ),
    Scenario(
        name="assignment",
        resource=ExternalAccessPolicyAssignment,
        provider=ExternalAccessPolicyAssignmentProvider,
        inputs={"policy_name": "tag:OWA", "users": ["sip:alice@contoso.com", "bob@contoso.com"]},
        updated={"policy_name": "OWA", "users": ["sip:alice@contoso.com", "carol@contoso.com"]},
        out_of_band=("Grant-CsExternalAccessPolicy", ("bob@contoso.com",), {"PolicyName": None}),
        drifted_output=("users", ["sip:alice@contoso.com"]),
        read_live=_users_with("OWA"),  # Get-CsUser shows the bare tag name
        desired_live=["sip:alice@contoso.com", "sip:bob@contoso.com"],
        # bob leaves the assignment and gets his prior (no) policy back; carol joins.
        update_writes=[
            ("Grant-CsExternalAccessPolicy", {"Identity": "bob@contoso.com", "PolicyName": None}),
            (
                "Grant-CsExternalAccessPolicy",
                {"Identity": "carol@contoso.com", "PolicyName": "OWA"},
            ),
        ],
        setup=_new_tag_policy,
    ),
]
