"""New-/Set-/Get-/Remove-/Enable-/Disable-CsHostingProvider: federation partners on the Edge.

Identity and ProxyFqdn are both unique (case-insensitively); ProxyFqdn is fixed at creation:
Set has no ``-ProxyFqdn`` in any Lync version, so changing it means Remove + New
(lync-cmdlets.md §2). The ``Name`` property mirrors the identity, as Lync's Get output shows.

Each cmdlet's parameters transcribe its ODP page, skype/skype-ps/SkypeForBusiness/
<Cmdlet>.md: SYNTAX for the sets, the parameter sections for Required, Position and
Applicable (AutodiscoverUrl and SipClientPort: 2013 on, every version the emulator knows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lync_emulator.cmdlets import access_edge
from lync_emulator.cmdlets.access_edge import EDGE_NAMESPACE, VERIFICATION_LEVEL
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
    require,
    wrappers,
)
from lync_emulator.cmdlets.binding import (
    BOOLEAN,
    STRING,
    SWITCH,
    UINT64,
    Param,
    identity_type,
)
from lync_emulator.cmdlets.errors import CmdletError, already_exists, invalid_operation
from lync_emulator.invocation import LyncObject
from lync_emulator.store import Doc
from lync_emulator.versions import ServerVersion

COLLECTION = "HostingProvider"
TYPE_NAME = EDGE_NAMESPACE + "DisplayHostingProvider"
IDENTITY = identity_type("Microsoft.Rtc.Management.Xds.XdsGlobalRelativeIdentity")
_CLASS = "Microsoft.Rtc.Management.Internal.{}HostingProviderCmdlet"

# Defaults from the prose of ODP New-CsHostingProvider.md (the yaml always says None).
PROPERTIES: tuple[Param, ...] = (
    Param("Enabled", BOOLEAN, default=False),
    Param("EnabledSharedAddressSpace", BOOLEAN, default=False),
    Param("HostsOCSUsers", BOOLEAN, default=False),
    Param("IsLocal", BOOLEAN, default=False),
    Param("VerificationLevel", VERIFICATION_LEVEL, default="AlwaysVerifiable"),
    Param("AutodiscoverUrl", STRING),
    Param("SipClientPort", UINT64, default=443),
)
# New-CsHostingProvider marks three of them "Required: True" (its syntax has no brackets
# around them, although the prose names only Identity, ProxyFqdn and Enabled as required).
_NEW_MANDATORY = frozenset({"Enabled", "EnabledSharedAddressSpace", "HostsOCSUsers"})

# No Microsoft sample of Get-CsHostingProvider output was found: the order is our choice.
# The object carries every property, including those the default view hides (ODP Get
# Example 6: EnabledSharedAddressSpace and HostsOCSUsers; ODP New: SipClientPort).
_SAMPLE = (
    "Identity",
    "Name",
    "ProxyFqdn",
    "VerificationLevel",
    "Enabled",
    "EnabledSharedAddressSpace",
    "HostsOCSUsers",
    "IsLocal",
    "AutodiscoverUrl",
    "SipClientPort",
)
_VIEWS = {version: full_view(_SAMPLE, PROPERTIES, version) for version in ServerVersion}
_WRAP = wrappers(PROPERTIES)


def _render(doc: Doc, version: ServerVersion) -> LyncObject:
    return render(TYPE_NAME, doc, _VIEWS[version], _WRAP, str(doc["Identity"]))


FAMILY = Family(COLLECTION, "HostingProvider", lambda identity: identity, _render)


def _new(inv: Invocation) -> None:
    identity: str = inv.bound.get("Identity")
    proxy: str = inv.bound.get("ProxyFqdn")
    if FAMILY.find(inv.store, identity) is not None:
        raise already_exists("HostingProvider", identity)
    for other in inv.store.values(COLLECTION):
        if str(other["ProxyFqdn"]).casefold() == proxy.casefold():
            raise CmdletError(
                f'Cannot create "HostingProvider" with identity "{identity}": ProxyFqdn '
                f'"{proxy}" is already used by "{other["Identity"]}". ProxyFqdn must be unique.',
                "DuplicateProxyFqdn",
                "ResourceExists",
                target=proxy,
            )
    given = {p.name: inv.bound.values[p.name] for p in PROPERTIES if p.name in inv.bound.values}
    doc = {"Identity": identity, "Name": identity, "ProxyFqdn": proxy, **defaults(PROPERTIES)}
    doc.update(given)
    if inv.bound.has("InMemory"):
        # An unsaved object, to be committed later with Set-CsHostingProvider -Instance.
        inv.emit(_render(doc, inv.version))
        return
    _require_dns_srv_routing(inv, identity)
    inv.write(COLLECTION, FAMILY.key(identity), doc)


def _require_dns_srv_routing(inv: Invocation, identity: str) -> None:
    """ODP New-CsHostingProvider.md: "you cannot federate with a hosting provider if your
    Edge Servers are configured to use default routing rather than Domain Name System (DNS)
    server routing" (the Set and Get pages say the same). Whether New- refuses or makes a
    provider that never works is undocumented; we refuse, the stricter reading, which also
    keeps the invariant Set-CsAccessEdgeConfiguration enforces from its side (no default
    route while hosting providers exist). The error's text and id are ours."""
    edge = inv.store.get(access_edge.COLLECTION, access_edge.GLOBAL_KEY)
    if edge is not None and edge["RoutingMethod"] == access_edge.DEFAULT_ROUTE:
        raise invalid_operation(
            f'Cannot create "HostingProvider" with identity "{identity}": hosting providers '
            "require DNS SRV routing, and the access edge configuration uses default routing. "
            "Run Set-CsAccessEdgeConfiguration -UseDnsSrvRouting first.",
            "HostingProviderRequiresDnsSrvRouting",
        )


def _set(inv: Invocation) -> None:
    identity, values = requested(inv, PROPERTIES)
    # Without -Identity, Lync targets the global scope, where no hosting provider lives.
    doc = require(inv, FAMILY, identity or "Global")
    inv.write(COLLECTION, FAMILY.key(str(doc["Identity"])), {**doc, **values})


def _remove(inv: Invocation) -> None:
    doc = require(inv, FAMILY, inv.bound.get("Identity"))
    inv.write(COLLECTION, FAMILY.key(str(doc["Identity"])), None)


def _toggle(enabled: bool) -> Callable[[Invocation], None]:
    """Enable/Disable: documented as failing when the provider is already in that state."""

    def run(inv: Invocation) -> None:
        identity, _ = requested(inv, ())
        doc = require(inv, FAMILY, identity or "Global")
        if doc["Enabled"] is enabled:
            state = "enabled" if enabled else "disabled"
            raise invalid_operation(
                f'Hosting provider "{doc["Identity"]}" is already {state}.',
                "AlreadyEnabled" if enabled else "AlreadyDisabled",
                target=str(doc["Identity"]),
            )
        inv.write(COLLECTION, FAMILY.key(str(doc["Identity"])), {**doc, "Enabled": enabled})

    return run


# Set/Enable/Disable: "[[-Identity]]" (Position 2) in the Identity set, -Instance in the
# Instance set; everything else in both.
_IDENTITY_SET = frozenset({"Identity"})
_SET_SETS = ("Identity", "Instance")
_OPTIONAL_IDENTITY = Param("Identity", IDENTITY, position=2, sets=_IDENTITY_SET)

CMDLETS: tuple[Cmdlet, ...] = (
    # ODP skype/skype-ps/SkypeForBusiness/Get-CsHostingProvider.md
    get_cmdlet("Get-CsHostingProvider", _CLASS.format("Get"), FAMILY, IDENTITY),
    # ODP skype/skype-ps/SkypeForBusiness/New-CsHostingProvider.md
    Cmdlet(
        "New-CsHostingProvider",
        _CLASS.format("New"),
        (
            Param("Identity", IDENTITY, mandatory=True, position=2),
            Param("ProxyFqdn", STRING, mandatory=True),
            *(replace(p, mandatory=p.name in _NEW_MANDATORY) for p in PROPERTIES),
            Param("InMemory", SWITCH),
            *SHOULD_PROCESS,
        ),
        _new,
        writes=True,
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Set-CsHostingProvider.md
    Cmdlet(
        "Set-CsHostingProvider",
        _CLASS.format("Set"),
        (
            _OPTIONAL_IDENTITY,
            *PROPERTIES,
            instance_param(),
            *SHOULD_PROCESS,
        ),
        _set,
        writes=True,
        sets=_SET_SETS,
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Remove-CsHostingProvider.md
    Cmdlet(
        "Remove-CsHostingProvider",
        _CLASS.format("Remove"),
        (Param("Identity", IDENTITY, mandatory=True, position=2), *SHOULD_PROCESS),
        _remove,
        writes=True,
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Enable-CsHostingProvider.md
    Cmdlet(
        "Enable-CsHostingProvider",
        _CLASS.format("Enable"),
        (_OPTIONAL_IDENTITY, instance_param(), *SHOULD_PROCESS),
        _toggle(enabled=True),
        writes=True,
        sets=_SET_SETS,
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Disable-CsHostingProvider.md
    Cmdlet(
        "Disable-CsHostingProvider",
        _CLASS.format("Disable"),
        (_OPTIONAL_IDENTITY, instance_param(), *SHOULD_PROCESS),
        _toggle(enabled=False),
        writes=True,
        sets=_SET_SETS,
    ),
)
