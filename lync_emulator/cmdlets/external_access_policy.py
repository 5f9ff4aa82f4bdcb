"""New-/Set-/Get-/Remove-CsExternalAccessPolicy: who may talk to federated and outside users.

Identities have three scopes: ``Global``, ``Site:<name>`` and per-user ``Tag:<name>`` (a
bare name means a tag). They are stored in that canonical casing and matched
case-insensitively. The global policy always exists: New refuses it, Set without an
identity edits it, and Remove resets it with a warning instead of deleting it
(lync-cmdlets.md §3). Sites are not checked against a topology, which the emulator lacks.

Parameters transcribe the on-premises rows of ODP skype/skype-ps/SkypeForBusiness/
<Cmdlet>.md for New/Set/Get/Remove-CsExternalAccessPolicy. Left out, so refused as unknown:
the Online/Teams-only ones (Tenant, ApplicableTo, Include, EnableAcsFederationAccess,
EnableTeamsConsumer*: "Applicable: Microsoft Teams" or "(Microsoft Teams Only)"), and
``-Tenant`` also on 2015/2019, where ODP lists it but calls it "reserved for internal
Microsoft use". EnablePublicCloudAccess is kept on every version: the 2013-2019 servers have
it (L13H new-csexternalaccesspolicy.md); only the 2025 rewrite of the pages dropped it.
EnableXmppAccess is 2013 on ("Applicable: Lync Server 2013, ... 2019"), so every version the
emulator knows; 2019 deprecated XMPP federation but kept the parameter.
"""

from __future__ import annotations

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
)
from lync_emulator.cmdlets.binding import BOOLEAN, STRING, SWITCH, Param, identity_type
from lync_emulator.cmdlets.errors import CmdletError, already_exists, invalid_argument
from lync_emulator.invocation import LyncObject
from lync_emulator.store import Data, Doc
from lync_emulator.versions import ServerVersion

COLLECTION = "ExternalAccessPolicy"
USERS = "User"
TYPE_NAME = "Microsoft.Rtc.Management.WritableConfig.Policy.ExternalAccess.ExternalAccessPolicy"
IDENTITY = identity_type("Microsoft.Rtc.Management.Xds.XdsIdentity")
GLOBAL = "Global"
_CLASS = "Microsoft.Rtc.Management.Internal.{}ExternalAccessPolicyCmdlet"

# Defaults: False for each, from the Lync 2013 prose (L13H Skype/SfbServer/sfbs2019/
# new-csexternalaccesspolicy.md); ODP's 2021 "The default value is True" for
# EnableFederationAccess is the Teams default.
PROPERTIES: tuple[Param, ...] = (
    Param("Description", STRING),
    Param("EnableFederationAccess", BOOLEAN, default=False),
    Param("EnableXmppAccess", BOOLEAN, default=False),
    Param("EnablePublicCloudAccess", BOOLEAN, default=False),
    Param("EnablePublicCloudAudioVideoAccess", BOOLEAN, default=False),
    Param("EnableOutsideAccess", BOOLEAN, default=False),
)
# Microsoft's sample (OfficeDocs-SkypeForBusiness Skype/SfbServer/manage/
# federation-and-external-access/external-access-policies/
# manage-external-access-policy-for-your-organization.md) shows all seven, in this order.
_SAMPLE = ("Identity", *(p.name for p in PROPERTIES))
_VIEWS = {version: full_view(_SAMPLE, PROPERTIES, version) for version in ServerVersion}
_SCOPES = {"site": "Site", "tag": "Tag"}


def canonical(identity: str) -> str:
    """``global`` → ``Global``, ``site:X`` → ``Site:X``, ``tag:X`` or ``X`` → ``Tag:X``."""
    text = identity.strip()
    if text.casefold() == GLOBAL.casefold():
        return GLOBAL
    scope, colon, name = text.partition(":")
    if not colon:
        scope, name = "tag", text
    if scope.casefold() not in _SCOPES or not name:
        raise invalid_argument(
            f'"{identity}" is not a valid identity for "ExternalAccessPolicy". Use "Global", '
            '"site:<SiteName>" or a per-user policy name ("tag:<PolicyName>").',
            "InvalidIdentity",
            target=identity,
        )
    return f"{_SCOPES[scope.casefold()]}:{name}"


def _render(doc: Doc, version: ServerVersion) -> LyncObject:
    return render(TYPE_NAME, doc, _VIEWS[version], {}, str(doc["Identity"]))


FAMILY = Family(COLLECTION, "ExternalAccessPolicy", canonical, _render)


def _fresh(identity: str) -> dict[str, object]:
    return {"Identity": identity, **defaults(PROPERTIES)}


def seed() -> Data:
    """Only the global policy exists in a fresh deployment."""
    return {COLLECTION: {GLOBAL.casefold(): _fresh(GLOBAL)}}


def _new(inv: Invocation) -> None:
    identity = canonical(inv.bound.get("Identity"))
    if identity == GLOBAL:
        raise CmdletError(
            'Cannot create "ExternalAccessPolicy" with identity "Global": the global policy '
            "always exists. Use Set-CsExternalAccessPolicy to change it.",
            "DuplicateIdentity",
            "ResourceExists",
            target=identity,
        )
    if FAMILY.find(inv.store, identity) is not None:
        raise already_exists("ExternalAccessPolicy", identity)
    _, values = requested(inv, PROPERTIES)
    doc = {**_fresh(identity), **values}
    if not inv.bound.has("InMemory"):
        inv.write(COLLECTION, identity.casefold(), doc)
    inv.emit(_render(doc, inv.version))


def _set(inv: Invocation) -> None:
    identity, values = requested(inv, PROPERTIES)
    doc = require(inv, FAMILY, identity or GLOBAL)
    inv.write(COLLECTION, FAMILY.key(str(doc["Identity"])), {**doc, **values})


def _remove(inv: Invocation) -> None:
    doc = require(inv, FAMILY, inv.bound.get("Identity"))
    identity = str(doc["Identity"])
    if identity == GLOBAL:
        inv.write(COLLECTION, GLOBAL.casefold(), _fresh(GLOBAL))
        inv.warnings.append(
            'Global configuration for "ExternalAccessPolicy" cannot be removed. Instead of '
            'removing it, the Global configuration for "ExternalAccessPolicy" has been reset '
            "to the default value."
        )
        return
    holders = [
        user
        for user in inv.directory.values(USERS)
        if str(user.get("ExternalAccessPolicy") or "").casefold() == identity.casefold()
    ]
    if holders and not inv.bound.has("Force"):
        # Lync prompts here; a non-interactive host cannot answer, so it fails. With
        # -Force the policy goes and the users keep a dangling reference, as CSPS describes.
        raise CmdletError(
            f'The policy "{identity}" is currently assigned to one or more users. Assign a '
            "different policy to the users before removing this one. The policy is in use.",
            "PolicyInUse",
            "InvalidOperation",
            target=identity,
        )
    inv.write(COLLECTION, identity.casefold(), None)


CMDLETS: tuple[Cmdlet, ...] = (
    # ODP skype/skype-ps/SkypeForBusiness/Get-CsExternalAccessPolicy.md
    get_cmdlet("Get-CsExternalAccessPolicy", _CLASS.format("Get"), FAMILY, IDENTITY),
    # ODP skype/skype-ps/SkypeForBusiness/New-CsExternalAccessPolicy.md
    Cmdlet(
        "New-CsExternalAccessPolicy",
        _CLASS.format("New"),
        (
            Param("Identity", IDENTITY, mandatory=True, position=2),
            *PROPERTIES,
            Param("InMemory", SWITCH),
            *SHOULD_PROCESS,
        ),
        _new,
        writes=True,
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Set-CsExternalAccessPolicy.md
    Cmdlet(
        "Set-CsExternalAccessPolicy",
        _CLASS.format("Set"),
        (
            # SYNTAX shows [[-Identity]] in the Identity set only (its yaml says "(All)").
            Param("Identity", IDENTITY, position=1, sets=frozenset({"Identity"})),
            *PROPERTIES,
            instance_param(),
            *SHOULD_PROCESS,
        ),
        _set,
        writes=True,
        sets=("Identity", "Instance"),
    ),
    # ODP skype/skype-ps/SkypeForBusiness/Remove-CsExternalAccessPolicy.md
    Cmdlet(
        "Remove-CsExternalAccessPolicy",
        _CLASS.format("Remove"),
        (Param("Identity", IDENTITY, mandatory=True, position=2), *SHOULD_PROCESS),
        _remove,
        writes=True,
    ),
)
