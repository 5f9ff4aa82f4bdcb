"""Get-CsUser, Grant-CsExternalAccessPolicy and Disable-CsUser over a few seeded users.

Users live in Active Directory, not in the Central Management Store: the cmdlets are the
``ADConnect`` ones (ODP Get-CsUser OUTPUTS: ``Microsoft.Rtc.Management.ADConnect.Schema.
ADUser``), and a per-user policy is the user's ``msRTCSIP-UserPolicies`` attribute, which
"stores name-value pairs for user policies" (L13 Lync/LyncServer/
lync-server-2013-schema-attributes-and-descriptions.md). So these cmdlets write the
emulator's directory: persisted, but no CMS version, no replication and no new
LastUpdateCreation. A user may be named by SIP address (with or without ``sip:``), UPN,
``DOMAIN\\logon``, display name or DN, with ``*`` wildcards (lync-cmdlets.md §3, Grant
``-Identity``).

A granted policy is stored by its canonical identity (``Tag:OWA``), which
Remove-CsExternalAccessPolicy's in-use check compares; it is *shown* as Lync prints it, the
bare name (``OWA``), and blank when none is assigned: ODP Get-CsEffectivePolicy.md
DESCRIPTION ("LocationPolicy : RedmondLocationPolicy", "ClientPolicy :"; Get-CsUser "only
returns information about per-user policies"), ODP Grant-CsExternalAccessPolicy.md ("The
PolicyName is simply the policy Identity minus the policy scope", Example 4
``{ExternalAccessPolicy -eq $Null}``). ``-Filter`` compares what is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lync_emulator.cmdlets.base import (
    CONFIRM,
    WHAT_IF,
    Cmdlet,
    Invocation,
    render,
    wildcard_match,
)
from lync_emulator.cmdlets.binding import INT32, STRING, SWITCH, Param, identity_type
from lync_emulator.cmdlets.errors import (
    CmdletError,
    invalid_argument,
    not_found,
    user_not_found,
)
from lync_emulator.cmdlets.external_access_policy import COLLECTION as POLICIES
from lync_emulator.cmdlets.external_access_policy import canonical
from lync_emulator.cmdlets.user_lookup import NameLookup
from lync_emulator.invocation import LyncObject
from lync_emulator.store import Data, Doc, StoreView
from lync_emulator.versions import ServerVersion

COLLECTION = "User"
_SCHEMA = "Microsoft.Rtc.Management.ADConnect.Schema."
# ODP Get-CsUser.md OUTPUTS and ODP Grant-CsExternalAccessPolicy.md OUTPUTS (-PassThru).
USER_TYPE = _SCHEMA + "ADUser"
GRANTED_TYPE = _SCHEMA + "OCSUserOrAppContact"
USER_ID = identity_type("Microsoft.Rtc.Management.AD.UserIdParameter")
DOMAIN = "CONTOSO"
_AD_CLASS = "Microsoft.Rtc.Management.AD.Cmdlets.{}Cmdlet"

_SEED = (
    ("alice", "Alice Adams"),
    ("bob", "Bob Brown"),
    ("carol", "Carol Clark"),
    ("dave", "Dave Davis"),
    ("erin", "Erin Evans"),
    ("frank", "Frank Fischer"),
)

# No Microsoft sample of Get-CsUser output exists (ODP Get-CsUser.md has none); these are
# the properties the emulator models, in our order.
_DISPLAY = (
    "Identity",
    "VoicePolicy",
    "ConferencingPolicy",
    "PresencePolicy",
    "ClientPolicy",
    "ExternalAccessPolicy",
    "HostedVoicemailPolicy",
    "HostingProvider",
    "RegistrarPool",
    "Enabled",
    "SipAddress",
    "LineURI",
    "EnterpriseVoiceEnabled",
    "HomeServer",
    "DisplayName",
    "SamAccountName",
    "UserPrincipalName",
)


def _user(logon: str, display_name: str) -> dict[str, Any]:
    return {
        "Identity": f"CN={display_name},OU=Users,DC=contoso,DC=local",
        "VoicePolicy": None,
        "ConferencingPolicy": None,
        "PresencePolicy": None,
        "ClientPolicy": None,
        "ExternalAccessPolicy": None,
        "HostedVoicemailPolicy": None,
        "HostingProvider": "SRV:",
        "RegistrarPool": "pool01.contoso.local",
        "Enabled": True,
        "SipAddress": f"sip:{logon}@contoso.com",
        "LineURI": "",
        "EnterpriseVoiceEnabled": False,
        "HomeServer": "CN=Lc Services,CN=Microsoft,CN=1:1,CN=Pools,CN=RTC Service,"
        "CN=Services,CN=Configuration,DC=contoso,DC=local",
        "DisplayName": display_name,
        "SamAccountName": logon,
        "UserPrincipalName": f"{logon}@contoso.local",
    }


_POLICIES = (
    "VoicePolicy",
    "ConferencingPolicy",
    "PresencePolicy",
    "ClientPolicy",
    "ExternalAccessPolicy",
    "HostedVoicemailPolicy",
)


def seed() -> Data:
    """The directory of a fresh deployment: six enabled users, no per-user policies."""
    users = (_user(logon, name) for logon, name in _SEED)
    return {COLLECTION: {str(u["SipAddress"]).casefold(): u for u in users}}


def _shown(user: Doc) -> dict[str, Any]:
    """The user as Get-CsUser prints it: per-user policies by bare name (``Tag:`` dropped)."""
    shown = dict(user)
    for name in _POLICIES:
        if shown.get(name) is not None:
            shown[name] = str(shown[name]).partition(":")[2]
    return shown


def _shown_value(user: Doc, name: str) -> Any:
    """``_shown(user).get(name)``, without copying the user (a filter reads every user)."""
    value = user.get(name)
    if name in _POLICIES and value is not None:
        return str(value).partition(":")[2]
    return value


def _render(user: Doc, type_name: str) -> LyncObject:
    return render(type_name, _shown(user), _DISPLAY, {}, str(user["Identity"]))


def _names(user: Doc) -> list[str]:
    sip = str(user["SipAddress"])
    return [
        sip,
        sip.removeprefix("sip:"),
        str(user["UserPrincipalName"]),
        f"{DOMAIN}\\{user['SamAccountName']}",
        str(user["DisplayName"]),
        str(user["Identity"]),
    ]


# Looks up an identity without wildcards in an index instead of testing every user: see
# user_lookup for why the answer is still exactly that of a scan. Its stats count the users
# tested.
LOOKUP = NameLookup(_names)


def match_users(view: StoreView, identity: str) -> list[Doc]:
    """The users an identity names, in store order (several only through wildcards): each
    user one of whose :func:`_names` ``wildcard_match(identity, name)`` accepts."""
    return LOOKUP.find(view.documents(COLLECTION), identity)


# The OPATH subset clients use: {Property -eq|-ne|-like|-notlike value-or-$null}.
_FILTER = re.compile(
    r"""^\s*\{?\s*(\w+)\s+-(eq|ne|like|notlike)\s+(\$null|'[^']*'|"[^"]*"|[^\s{}]+)\s*\}?\s*$""",
    re.IGNORECASE,
)


def _filter(text: str) -> Callable[[Doc], bool]:
    found = _FILTER.match(text)
    if found is None or found.group(1) not in _DISPLAY:
        raise invalid_argument(
            f'Cannot parse the filter "{text}". The emulator supports '
            "{Property -eq|-ne|-like|-notlike 'value'|$null} on a displayed property.",
            "InvalidFilter",
            target=text,
        )
    prop, operator, raw = found.group(1), found.group(2).casefold(), found.group(3)
    wanted = None if raw.casefold() == "$null" else raw.strip("'\"")

    def matches(user: Doc) -> bool:
        value = _shown_value(user, prop)
        if operator in ("like", "notlike"):
            hit = wildcard_match(wanted or "", "" if value is None else str(value))
        elif wanted is None or value is None:
            hit = value is None and wanted is None
        else:
            hit = str(value).casefold() == wanted.casefold()
        return hit != operator.startswith("n")

    return matches


def _get(inv: Invocation) -> None:
    identity = inv.bound.get("Identity")
    if identity is None:
        users = inv.directory.values(COLLECTION)
    else:
        users = match_users(inv.directory, identity)
        if not users:
            inv.error(user_not_found(identity, terminating=False))
    if inv.bound.get("Filter") is not None:
        keep = _filter(inv.bound.get("Filter"))
        users = [user for user in users if keep(user)]
    if inv.bound.has("UnassignedUser"):
        users = []  # every seeded user is enabled for Lync and homed on the pool
    limit = inv.bound.get("ResultSize")
    for user in users if limit is None else users[:limit]:
        inv.emit(_render(user, USER_TYPE))


def _policy_to_grant(inv: Invocation, name: str | None) -> str | None:
    if name is None:
        return None
    policy = canonical(name)
    if not policy.startswith("Tag:"):
        raise CmdletError(
            f'Policy "{name}" is not a user policy. You can assign only a user policy to a '
            "specific user.",
            "PolicyNotUserPolicy",
            "InvalidArgument",
            target=name,
        )
    stored = inv.store.get(POLICIES, policy.casefold())
    if stored is None:
        raise not_found("ExternalAccessPolicy", policy)
    return str(stored["Identity"])


def _grant(inv: Invocation) -> None:
    identity: str = inv.bound.get("Identity")
    users = match_users(inv.directory, identity)
    if not users:
        raise user_not_found(identity)
    policy = _policy_to_grant(inv, inv.bound.get("PolicyName"))
    for user in users:
        updated = {**user, "ExternalAccessPolicy": policy}
        inv.write_directory(COLLECTION, str(user["SipAddress"]).casefold(), updated)
        if inv.bound.has("PassThru"):
            inv.emit(_render(updated, GRANTED_TYPE))


def _disable(inv: Invocation) -> None:
    """Disable-CsUser: the account stays in AD but is no longer a Lync user, so Get-CsUser
    and Grant- no longer find it (what a leaver looks like to the assignment resource)."""
    identity: str = inv.bound.get("Identity")
    users = match_users(inv.directory, identity)
    if not users:
        raise user_not_found(identity)
    for user in users:
        inv.write_directory(COLLECTION, str(user["SipAddress"]).casefold(), None)


CMDLETS: tuple[Cmdlet, ...] = (
    Cmdlet(
        "Get-CsUser",
        _AD_CLASS.format("GetOcsUser"),
        # ODP Get-CsUser.md: one set, nothing mandatory. -OnLyncServer is "Applicable: Lync
        # Server 2010, Lync Server 2013"; from 2015 the switch is -OnModernServer, which
        # keeps OnLyncServer as its alias. Credential, LdapFilter and OU are left out (the
        # emulator has no LDAP or OUs to honour them), so they are refused as unknown.
        (
            Param("Identity", USER_ID, position=1),
            Param("Filter", STRING),
            Param("ResultSize", INT32),
            Param("DomainController", STRING),
            Param("OnLyncServer", SWITCH, until=ServerVersion.LYNC_2013),
            Param(
                "OnModernServer",
                SWITCH,
                aliases=("OnLyncServer",),
                since=ServerVersion.SFB_2015,
            ),
            Param("OnOfficeCommunicationServer", SWITCH),
            Param("UnassignedUser", SWITCH),
        ),
        _get,
    ),
    Cmdlet(
        "Grant-CsExternalAccessPolicy",
        _AD_CLASS.format("GrantExternalAccessPolicy"),
        # The on-premises syntax (L13H grant-csexternalaccesspolicy.md; ODP's yaml: Identity
        # "Required: True", Position 1; PolicyName Position 2). ODP's GrantToGroup/
        # GrantToTenant sets and -Tenant are Teams/Online only. The sources disagree on
        # whether PolicyName is required: the SYNTAX block writes it `[-PolicyName] <String>`
        # (the value required, like -Identity's), the parameter table "Required: False". The
        # only unassign documented is explicit ("set the PolicyName parameter to $Null"), so
        # we take the stricter reading: it must be given, and may be given $null.
        (
            Param("Identity", USER_ID, mandatory=True, position=1),
            Param("PolicyName", STRING, mandatory=True, position=2, allow_null=True),
            Param("DomainController", STRING),
            Param("PassThru", SWITCH),
            WHAT_IF,
            CONFIRM,
        ),
        _grant,
        writes=True,
    ),
    Cmdlet(
        "Disable-CsUser",
        _AD_CLASS.format("DisableOcsUser"),
        # ODP Disable-CsUser.md: one set, Identity "Required: True", Position 1.
        (
            Param("Identity", USER_ID, mandatory=True, position=1),
            Param("DomainController", STRING),
            Param("PassThru", SWITCH),
            WHAT_IF,
            CONFIRM,
        ),
        _disable,
        writes=True,
    ),
)
