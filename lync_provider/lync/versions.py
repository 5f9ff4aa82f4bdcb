"""Which Lync / Skype for Business Server version has which parameter: the one table.

Lync Server 2013 and its successors, Skype for Business Server 2015, 2019 and Subscription
Edition, run the same ``Cs*`` cmdlets and the same Exchange Online procedure; the later ones
add a few parameters and retire a few services. A stack says which one it targets with
``lync:serverVersion`` (default ``2013``); the resources refuse a parameter the target does
not have, naming the version, and warn about parameters that still bind but no longer do
anything. Sources: Microsoft's cmdlet reference (``office-docs-powershell``,
``skype/skype-ps/skype/<Cmdlet>.md``, the ``Applicable:`` line of each parameter), summarised
in ``docs/fidelity.md``.

This module is pure data and lookups, usable from any layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ServerVersion(StrEnum):
    """A server product the stack targets, spelled as ``lync:serverVersion`` takes it."""

    LYNC_2013 = "2013"
    SFB_2015 = "2015"
    SFB_2019 = "2019"
    SFB_SE = "SE"

    @property
    def label(self) -> str:
        """The product's name, for messages."""
        return _LABELS[self]

    @property
    def rank(self) -> int:
        """Release order, for "from this version on" comparisons."""
        return list(ServerVersion).index(self)

    @classmethod
    def parse(cls, value: object) -> ServerVersion:
        """``2019``, ``"se"``, ``"Subscription Edition"`` → the member; ValueError otherwise."""
        text = str(value).strip().casefold()
        for member in cls:
            if text in (member.value.casefold(), member.label.casefold()):
                return member
        if text in ("subscriptionedition", "subscription edition", "vnext"):
            return cls.SFB_SE
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"{value!r} is not a server version; use one of {allowed}")


_LABELS = {
    ServerVersion.LYNC_2013: "Lync Server 2013",
    ServerVersion.SFB_2015: "Skype for Business Server 2015",
    ServerVersion.SFB_2019: "Skype for Business Server 2019",
    ServerVersion.SFB_SE: "Skype for Business Server Subscription Edition",
}
DEFAULT_VERSION = ServerVersion.LYNC_2013


@dataclass(frozen=True)
class ParameterAvailability:
    """A parameter that exists only from ``since`` on (inclusive)."""

    cmdlet: str
    parameter: str
    since: ServerVersion

    def exists_on(self, version: ServerVersion) -> bool:
        """Whether the target's cmdlet has this parameter."""
        return version.rank >= self.since.rank


@dataclass(frozen=True)
class Retirement:
    """A parameter that still binds but whose service is gone from ``since`` on."""

    cmdlet: str
    parameter: str
    since: ServerVersion
    reason: str

    def applies_to(self, version: ServerVersion) -> bool:
        """Whether setting the parameter on this target deserves the warning."""
        return version.rank >= self.since.rank


# ODP Set-CsAccessEdgeConfiguration: "Applicable: Skype for Business Server 2015, Skype for
# Business Server 2019" for both; the Lync 2013 help (L13H) has neither.
AVAILABILITY: tuple[ParameterAvailability, ...] = (
    ParameterAvailability(
        "Set-CsAccessEdgeConfiguration", "DnsSrvCacheRecordCount", ServerVersion.SFB_2015
    ),
    ParameterAvailability(
        "Set-CsAccessEdgeConfiguration", "SkypeSearchUrl", ServerVersion.SFB_2015
    ),
)

RETIREMENTS: tuple[Retirement, ...] = (
    # Skype for Business Server 2019 removed XMPP federation; the parameter stays in the syntax.
    Retirement(
        "New-CsExternalAccessPolicy",
        "EnableXmppAccess",
        ServerVersion.SFB_2019,
        "XMPP federation was removed in Skype for Business Server 2019: EnableXmppAccess is "
        "accepted but has no effect",
    ),
    # Public IM connectivity (AOL, Yahoo!, Windows Live/Skype consumer) has ended for every
    # version; the parameter left Microsoft's syntax in 2025.
    Retirement(
        "New-CsExternalAccessPolicy",
        "EnablePublicCloudAccess",
        ServerVersion.LYNC_2013,
        "the public IM connectivity service has ended: EnablePublicCloudAccess no longer "
        "connects users to any public IM network",
    ),
)


def availability(cmdlet: str, parameter: str) -> ParameterAvailability | None:
    """The version rule of one cmdlet parameter, or None when every version has it."""
    for rule in AVAILABILITY:
        if rule.cmdlet.casefold() == cmdlet.casefold() and rule.parameter == parameter:
            return rule
    return None


def retirement(cmdlet: str, parameter: str, version: ServerVersion) -> Retirement | None:
    """The retirement warning for setting this parameter on this target, if any."""
    for rule in RETIREMENTS:
        same = rule.cmdlet.casefold() == cmdlet.casefold() and rule.parameter == parameter
        if same and rule.applies_to(version):
            return rule
    return None


# ProductVersion of Get-CsManagementStoreReplicationStatus by major.minor.build: 5.0.8308
# (Lync 2013), 6.0.9319 (SfB 2015), 7.0.2046 (SfB 2019 and Subscription Edition alike; the
# cpe ranges of Microsoft's CVE records, e.g. CVE-2026-70297, give all three).
_PRODUCT_FAMILIES: dict[str, tuple[ServerVersion, ...]] = {
    "5.0": (ServerVersion.LYNC_2013,),
    "6.0": (ServerVersion.SFB_2015,),
    "7.0": (ServerVersion.SFB_2019, ServerVersion.SFB_SE),
}


def versions_for_product(product_version: str | None) -> tuple[ServerVersion, ...]:
    """The server versions a reported ProductVersion can belong to (empty: unknown)."""
    if not product_version:
        return ()
    major_minor = ".".join(product_version.strip().split(".")[:2])
    return _PRODUCT_FAMILIES.get(major_minor, ())


def version_mismatch(configured: ServerVersion, product_versions: list[str]) -> str | None:
    """What is wrong when the replicas report a product other than the configured one."""
    seen = sorted({p for p in product_versions if versions_for_product(p)})
    foreign = [p for p in seen if configured not in versions_for_product(p)]
    if not foreign:
        return None
    products = " / ".join(
        sorted({v.label for p in foreign for v in versions_for_product(p)}, key=str)
    )
    return (
        f"lync:serverVersion is {configured.value} ({configured.label}), but the servers report "
        f"ProductVersion {', '.join(foreign)} ({products}); set lync:serverVersion to match, "
        "or parameters of the real version are refused and its retired ones go unwarned"
    )
