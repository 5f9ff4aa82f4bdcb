"""Get-/Set-CsAccessEdgeConfiguration: the Edge's global federation and routing settings.

One global instance exists. Its routing method decides which properties exist: DNS SRV
routing (the default, and required for hosting providers) shows BeClearingHouse and
EnablePartnerDiscovery; default routing shows DefaultRouteFqdn, IsPublicProvider and
VerificationLevel. The routing method itself is read-only and changes only through the
``-UseDnsSrvRouting`` / ``-UseDefaultRouting`` switches (lync-cmdlets.md §1).
"""

from __future__ import annotations

from typing import Any

from lync_emulator.cmdlets.base import (
    SHOULD_PROCESS,
    Cmdlet,
    Family,
    Invocation,
    defaults,
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

_COMMON = frozenset({"Identity", "DnsSrvRouting", "DefaultRoute"})
_DNS = frozenset({"DnsSrvRouting"})
_ROUTE = frozenset({"DefaultRoute"})

# The Lync 2013 parameter table (L13H); DnsSrvCacheRecordCount and SkypeSearchUrl are
# later (SfB 2015) additions and are deliberately absent.
PROPERTIES: tuple[Param, ...] = (
    Param("AllowAnonymousUsers", BOOLEAN, sets=_COMMON, default=False),
    Param("AllowFederatedUsers", BOOLEAN, sets=_COMMON, default=False),
    Param("AllowOutsideUsers", BOOLEAN, sets=_COMMON, default=True),
    Param("EnableArchivingDisclaimer", BOOLEAN, sets=_COMMON, default=False),
    Param("KeepCrlsUpToDateForPeers", BOOLEAN, sets=_COMMON, default=True),
    Param("MarkSourceVerifiableOnOutgoingMessages", BOOLEAN, sets=_COMMON, default=True),
    Param(
        "OutgoingTlsCountForFederatedPartners",
        UINT32,
        sets=_COMMON,
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
    Param("CertificatesDeletedPercentage", UINT32, sets=_COMMON, default=20),
    Param("DiscoveredPartnerReportPeriodMinutes", UINT32, sets=_COMMON, default=60),
    Param("DiscoveredPartnerStandardRate", UINT32, sets=_COMMON, default=20),
    Param("EnableDiscoveredPartnerContactsLimit", BOOLEAN, sets=_COMMON, default=True),
    # Documented default False, but Microsoft's sample Get output shows True: the server wins.
    Param("EnableUserReplicator", BOOLEAN, sets=_COMMON, default=True),
    Param("MaxAcceptedCertificatesStored", UINT32, sets=_COMMON, default=1000),
    Param("MaxContactsPerDiscoveredPartner", UINT32, sets=_COMMON, default=1000),
    Param("MaxRejectedCertificatesStored", UINT32, sets=_COMMON, default=500),
)
_DNS_ONLY = frozenset(p.name for p in PROPERTIES if p.sets == _DNS)
_ROUTE_ONLY = frozenset(p.name for p in PROPERTIES if p.sets == _ROUTE)

# Display order of Microsoft's sample output; the routing-specific block sits after
# AllowOutsideUsers. DiscoveredPartnerVerificationLevel is absent from that sample.
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
_DISPLAY = {
    DNS_SRV: (
        EDGE_NAMESPACE + "DisplayAccessEdgeSettingsDnsSrvRouting",
        (*_LEADING, "BeClearingHouse", "EnablePartnerDiscovery", *_TRAILING),
    ),
    DEFAULT_ROUTE: (
        EDGE_NAMESPACE + "DisplayAccessEdgeSettingsDefaultRoute",
        (*_LEADING, "DefaultRouteFqdn", "IsPublicProvider", "VerificationLevel", *_TRAILING),
    ),
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


def _render(doc: Doc) -> LyncObject:
    type_name, display = _DISPLAY[doc["RoutingMethod"]]
    return render(type_name, doc, display, _WRAP, str(doc["Identity"]))


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


_SET_PARAMS: tuple[Param, ...] = (
    Param("Identity", XDS_IDENTITY, position=1, sets=_COMMON),
    *PROPERTIES,
    Param("UseDnsSrvRouting", SWITCH, sets=_DNS),
    Param("UseDefaultRouting", SWITCH, sets=_ROUTE),
    instance_param(),
    *SHOULD_PROCESS,
)

CMDLETS: tuple[Cmdlet, ...] = (
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
        sets=("Identity", "DnsSrvRouting", "DefaultRoute", "Instance"),
    ),
)
