"""The server products the emulator can impersonate, and what each reports about itself.

Lync Server 2013 and its successors (Skype for Business Server 2015, 2019 and Subscription
Edition) serve the same ``Cs*`` cmdlets; later versions add parameters. Which parameter
exists on which version is declared on each cmdlet's parameter table (``Param.since`` /
``Param.until`` in :mod:`lync_emulator.cmdlets.binding`), next to the doc page it comes
from; this module only names the versions and their ProductVersion.
"""

from __future__ import annotations

from enum import StrEnum


class ServerVersion(StrEnum):
    """A server product, spelled as ``--version`` and ``Emulator(version=...)`` take it."""

    LYNC_2013 = "2013"
    SFB_2015 = "2015"
    SFB_2019 = "2019"
    SFB_SE = "SE"

    @property
    def rank(self) -> int:
        """Release order, so that "from 2015 on" is a comparison."""
        return list(ServerVersion).index(self)

    @classmethod
    def parse(cls, value: str | ServerVersion) -> ServerVersion:
        """``"2019"``, ``"se"`` → the member (case-insensitive); ValueError otherwise."""
        text = str(value).strip().casefold()
        for member in cls:
            if member.value.casefold() == text:
                return member
        allowed = ", ".join(member.value for member in cls)
        raise ValueError(f"{value!r} is not a server version; use one of {allowed}")


DEFAULT_VERSION = ServerVersion.LYNC_2013

# ProductVersion in Get-CsManagementStoreReplicationStatus. The major.minor.build families
# come from the cpe ranges of Microsoft's CVE records CVE-2026-70297 and CVE-2026-66303
# (skype_for_business_server_2015: 6.0.9319.x; _2019: 7.0.2046.x, fixed in CU8
# 7.0.2046.583; _subscription_edition: 7.0.2046.x, fixed in CU1 7.0.2046.889) and, for
# 2013, the 5.0.8308 family of Lync Server 2013. Which revision a real server reports
# depends on its cumulative update; the emulator reports each family's base (.0), so 2019
# and Subscription Edition cannot be told apart by it, as on real servers of the same build.
PRODUCT_VERSIONS: dict[ServerVersion, str] = {
    ServerVersion.LYNC_2013: "5.0.8308.0",
    ServerVersion.SFB_2015: "6.0.9319.0",
    ServerVersion.SFB_2019: "7.0.2046.0",
    ServerVersion.SFB_SE: "7.0.2046.0",
}
