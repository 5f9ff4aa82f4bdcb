"""Get-/Set-CsAccessEdgeConfiguration: the Edge's global federation and routing settings.

One global instance exists. Its routing method decides which properties exist: DNS SRV
routing (the default, and required for hosting providers) shows BeClearingHouse and
EnablePartnerDiscovery; default routing shows DefaultRouteFqdn, IsPublicProvider and
VerificationLevel. The routing method itself is read-only and changes only through the
``-UseDnsSrvRouting`` / ``-UseDefaultRouting`` switches (lync-cmdlets.md §1).

Get's parameters are the two sets of ODP skype/skype-ps/SkypeForBusiness/
Get-CsAccessEdgeConfiguration.md (see :func:`~lync_emulator.cmdlets.base.get_cmdlet`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lync_emulator.cmdlets.base import (
    SHOULD_PROCESS,
    Cmdlet,
    Family,
    Invocation,
    defaults,
    full_view,
    get_cmdlet,
    instance_param,
    render,
    requested,
    wrappers,
)
from lync_emulator.cmdlets.binding import (
    BOOLEAN,
    STRING,
    SWITCH,
    UINT32,
    Param,
    enum_type,
    identity_type,
)
from lync_emulator.cmdlets.errors import invalid_argument, invalid_operation
from lync_emulator.invocation import LyncObject
from lync_emulator.store import Data, Doc
from lync_emulator.versions import ServerVersion

COLLECTION = "AccessEdgeConfiguration"
HOSTING_PROVIDERS = "HostingProvider"
EDGE_NAMESPACE = "Microsoft.Rtc.Management.WritableConfig.Settings.Edge."
GLOBAL_KEY = "global"
DNS_SRV = "UseDnsSrvRouting"
DEFAULT_ROUTE = "UseDefaultRouting"

VERIFICATION_LEVEL = enum_type(
    EDGE_NAMESPACE + "VerificationLevelType",
    ("AlwaysVerifiable", "AlwaysUnverifiable", "UseSourceVerification"),
)
XDS_IDENTITY = identity_type("Microsoft.Rtc.Management.Xds.XdsIdentity")

# Set-CsAccessEdgeConfiguration's four parameter sets (ODP
# skype/skype-ps/SkypeForBusiness/Set-CsAccessEdgeConfiguration.md, SYNTAX): every
# non-routing property is in Identity, DnsSrvRouting and DefaultRoute; -Identity is in the
# Identity set alone, so "-Identity Global -UseDnsSrvRouting" cannot bind; the Instance set
# holds only -Instance and the ShouldProcess switches.
_PROPERTY_SETS = frozenset({"Identity", "DnsSrvRouting", "DefaultRoute"})
_DNS = frozenset({"DnsSrvRouting"})
_ROUTE = frozenset({"DefaultRoute"})

# The same page's parameter sections: type, sets, "Applicable:" versions; defaults from the
# prose (the yaml always says None). The 2013 rows are in the Lync 2013 help too (L13H
# Skype/SfbServer/sfbs2019/set-csaccessedgeconfiguration.md); DnsSrvCacheRecordCount and
# SkypeSearchUrl are "Applicable: Skype for Business Server 2015, Skype for Business Server
# 2019" and absent from L13H, so they exist from 2015 on. No default is documented for either;
# the emulator's is $null, so the count is a nullable UInt32 (a Get can be written back).
_NULLABLE_UINT32 = replace(UINT32, nullable=True)
PROPERTIES: tuple[Param, ...] = (
    Param("AllowAnonymousUsers", BOOLEAN, sets=_PROPERTY_SETS, default=False),
    Param("AllowFederatedUsers", BOOLEAN, sets=_PROPERTY_SETS, default=False),
    Param("AllowOutsideUsers", BOOLEAN, sets=_PROPERTY_SETS, default=True),
    Param("EnableArchivingDisclaimer", BOOLEAN, sets=_PROPERTY_SETS, default=False),
    Param("KeepCrlsUpToDateForPeers", BOOLEAN, sets=_PROPERTY_SETS, default=True),
    Param("MarkSourceVerifiableOnOutgoingMessages", BOOLEAN, sets=_PROPERTY_SETS, default=True),
    Param(
        "OutgoingTlsCountForFederatedPartners",
        UINT32,
        sets=_PROPERTY_SETS,
        default=4,
        value_range=(1, 4),
    ),
    Param("EnablePartnerDiscovery", BOOLEAN, sets=_DNS, default=False),
    Param("BeClearingHouse", BOOLEAN, sets=_DNS, default=False),
    Param(
        "DiscoveredPartnerVerificationLevel",
        VERIFICATION_LEVEL,
        sets=_DNS,
        default="AlwaysVerifiable",
    ),
    Param("DefaultRouteFqdn", STRING, sets=_ROUTE),
    Param("IsPublicProvider", BOOLEAN, sets=_ROUTE, default=False),
    Param("VerificationLevel", VERIFICATION_LEVEL, sets=_ROUTE, default="AlwaysVerifiable"),
    Param("CertificatesDeletedPercentage", UINT32, sets=_PROPERTY_SETS, default=20),
    Param("DiscoveredPartnerReportPeriodMinutes", UINT32, sets=_PROPERTY_SETS, default=60),
    Param("DiscoveredPartnerStandardRate", UINT32, sets=_PROPERTY_SETS, default=20),
    Param("EnableDiscoveredPartnerContactsLimit", BOOLEAN, sets=_PROPERTY_SETS, default=True),
    # Documented default False, but Microsoft's sample Get output shows True: the server wins.
    Param("EnableUserReplicator", BOOLEAN, sets=_PROPERTY_SETS, default=True),
    Param("MaxAcceptedCertificatesStored", UINT32, sets=_PROPERTY_SETS, default=1000),
    Param("MaxContactsPerDiscoveredPartner", UINT32, sets=_PROPERTY_SETS, default=1000),
    Param("MaxRejectedCertificatesStored", UINT32, sets=_PROPERTY_SETS, default=500),
    Param(
        "DnsSrvCacheRecordCount",
        _NULLABLE_UINT32,
        sets=_PROPERTY_SETS,
        since=ServerVersion.SFB_2015,
    ),
    Param("SkypeSearchUrl", STRING, sets=_PROPERTY_SETS, since=ServerVersion.SFB_2015),
)
_DNS_ONLY = frozenset(p.name for p in PROPERTIES if p.sets == _DNS)
_ROUTE_ONLY = frozenset(p.name for p in PROPERTIES if p.sets == _ROUTE)

# Get's output types (ODP Get-CsAccessEdgeConfiguration.md OUTPUTS) by routing method. Each
# carries the properties of its Set parameter set (ODP Set DESCRIPTION: with DNS SRV routing
# "you will see ... BeClearinghouse and EnablePartnerDiscovery"; with default routing
# "those two property values will not be available. Instead, you will see ...
# VerificationLevel and IsPublicProvider"), plus Identity and the read-only RoutingMethod.
# The DNS SRV order is Microsoft's sample output (OfficeDocs-SkypeForBusiness
# Skype/SfbServer/manage/federation-and-external-access/access-edge/
# manage-access-edge-configuration-for-your-organization.md); the properties that sample
# leaves out (DiscoveredPartnerVerificationLevel; from 2015 DnsSrvCacheRecordCount and
# SkypeSearchUrl) follow it. No default-route sample exists: its routing block takes the
# place of the DNS SRV one (our choice).
_LEADING = ("Identity", "AllowAnonymousUsers", "AllowFederatedUsers", "AllowOutsideUsers")
_TRAILING = (
    "EnableArchivingDisclaimer",
    "EnableUserReplicator",
    "KeepCrlsUpToDateForPeers",
    "MarkSourceVerifiableOnOutgoingMessages",
    "OutgoingTlsCountForFederatedPartners",
    "DiscoveredPartnerStandardRate",
    "EnableDiscoveredPartnerContactsLimit",
    "MaxContactsPerDiscoveredPartner",
    "DiscoveredPartnerReportPeriodMinutes",
    "MaxAcceptedCertificatesStored",
    "MaxRejectedCertificatesStored",
    "CertificatesDeletedPercentage",
    "RoutingMethod",
)
_TYPES = {
    DNS_SRV: (
        EDGE_NAMESPACE + "DisplayAccessEdgeSettingsDnsSrvRouting",
        "DnsSrvRouting",
        (*_LEADING, "BeClearingHouse", "EnablePartnerDiscovery", *_TRAILING),
    ),
    DEFAULT_ROUTE: (
        EDGE_NAMESPACE + "DisplayAccessEdgeSettingsDefaultRoute",
        "DefaultRoute",
        (*_LEADING, "DefaultRouteFqdn", "IsPublicProvider", "VerificationLevel", *_TRAILING),
    ),
}
_VIEWS = {
    (routing, version): (
        type_name,
        full_view(sample, [p for p in PROPERTIES if p.in_set(set_name)], version),
    )
    for routing, (type_name, set_name, sample) in _TYPES.items()
    for version in ServerVersion
}
_WRAP = wrappers(PROPERTIES)


def _canonical(identity: str) -> str:
    if identity.strip().casefold() != GLOBAL_KEY:
        raise invalid_argument(
            f'"{identity}" is not a valid identity for "AccessEdgeConfiguration": these '
            'settings exist only at the global scope ("Global").',
            "InvalidIdentity",
            target=identity,
        )
    return "Global"


def _render(doc: Doc, version: ServerVersion) -> LyncObject:
    type_name, view = _VIEWS[(doc["RoutingMethod"], version)]
    return render(type_name, doc, view, _WRAP, str(doc["Identity"]))


FAMILY = Family(COLLECTION, "AccessEdgeConfiguration", _canonical, _render)


def seed() -> Data:
    """The global settings as a fresh deployment has them."""
    doc = {"Identity": "Global", **defaults(PROPERTIES), "RoutingMethod": DNS_SRV}
    return {COLLECTION: {GLOBAL_KEY: doc}}


def _target_routing(inv: Invocation, current: str, values: dict[str, Any]) -> str:
    if inv.bound.has("UseDnsSrvRouting"):
        return DNS_SRV
    if inv.bound.has("UseDefaultRouting"):
        if not values.get("DefaultRouteFqdn"):
            raise invalid_argument(
                "UseDefaultRouting requires DefaultRouteFqdn: give the FQDN of the default "
                "route in the same command.",
                "DefaultRouteFqdnRequired",
            )
        return DEFAULT_ROUTE
    return current


def _check_routing_properties(routing: str, values: dict[str, Any]) -> None:
    misplaced = sorted((_ROUTE_ONLY if routing == DNS_SRV else _DNS_ONLY).intersection(values))
    if misplaced:
        needed = DEFAULT_ROUTE if routing == DNS_SRV else DNS_SRV
        raise invalid_operation(
            f"{', '.join(misplaced)} can be set only when the routing method is {needed}; "
            f"the routing method is {routing}. Add -{needed} to change it.",
            "RoutingMethodMismatch",
        )


def _set(inv: Invocation) -> None:
    identity, values = requested(inv, PROPERTIES)
    if identity is not None:
        _canonical(identity)
    doc = inv.store.get(COLLECTION, GLOBAL_KEY)
    assert doc is not None, "the global access edge settings are seeded and never deleted"
    routing = _target_routing(inv, str(doc["RoutingMethod"]), values)
    _check_routing_properties(routing, values)
    new_route = routing == DEFAULT_ROUTE and (
        doc["RoutingMethod"] != DEFAULT_ROUTE or "DefaultRouteFqdn" in values
    )
    if new_route and inv.store.values(HOSTING_PROVIDERS):
        raise invalid_operation(
            "A default route cannot be assigned while hosting providers exist: hosting "
            "providers require DNS SRV routing. Remove every hosting provider "
            "(Remove-CsHostingProvider) first.",
            "HostingProvidersExist",
        )
    updated = {**doc, **values, "RoutingMethod": routing}
    if routing == DNS_SRV:
        updated["DefaultRouteFqdn"] = None
    inv.write(COLLECTION, GLOBAL_KEY, updated)


# ODP skype/skype-ps/SkypeForBusiness/Set-CsAccessEdgeConfiguration.md (sets: see above).
_SET_PARAMS: tuple[Param, ...] = (
    Param("Identity", XDS_IDENTITY, position=2, sets=frozenset({"Identity"})),
    *PROPERTIES,
    Param("UseDnsSrvRouting", SWITCH, sets=_DNS),
    Param("UseDefaultRouting", SWITCH, sets=_ROUTE),
    instance_param(),
    *SHOULD_PROCESS,
)

CMDLETS: tuple[Cmdlet, ...] = (
    # ODP skype/skype-ps/SkypeForBusiness/Get-CsAccessEdgeConfiguration.md
    get_cmdlet(
        "Get-CsAccessEdgeConfiguration",
        "Microsoft.Rtc.Management.Internal.GetAccessEdgeConfigurationCmdlet",
        FAMILY,
        XDS_IDENTITY,
    ),
    Cmdlet(
        "Set-CsAccessEdgeConfiguration",
        "Microsoft.Rtc.Management.Internal.SetAccessEdgeConfigurationCmdlet",
        _SET_PARAMS,
        _set,
        writes=True,
        # The page's order; binding falls back to the first (Identity) when several fit.
        sets=("Identity", "Instance", "DefaultRoute", "DnsSrvRouting"),
    ),
)
