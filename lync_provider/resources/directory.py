"""Users as Get-CsUser shows them, read and granted many to a pipeline.

One pipeline per user costs a round trip and, on a real front end, a cmdlet start-up per
user: granting a department of 2,000 would take tens of minutes, and so would each refresh.
An administrator types ``Get-CsUser -Filter ... | Grant-CsExternalAccessPolicy``; this tool
cannot pipe (each user's prior policy must be known before the grant, and the program names
users, not a filter), so a *batch* is one pipeline of up to ``lync:batchSize`` statements,
``Get-CsUser -Identity u1; Get-CsUser -Identity u2; ...``. pypsrp fragments a long pipeline
to the server's envelope size, and the server fragments its answer in turn.

Reads. Get-CsUser writes a non-terminating error for a name nobody has, so the statements
after it still answer. The objects do not say which statement produced them, so each is
matched to the names it answers to: its SIP address (with or without ``sip:``), its UPN or
its DN, which each name one user only. Names in another form (display name, DOMAIN\\logon,
which may name several users or a user of another domain), names that no object or several
objects answer to, and every name of a batch the server refused as a whole, are read again
alone, as one pipeline per user did, so their answers and their errors are exact.

Grants. A batch of Grant statements; when the server refuses one of them the pipeline
stops there, so the users of that batch who do not yet hold what they should are granted
one by one: each failure is reported by its user's name, and the rest are applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from lync_provider.lync.identities import canonical_policy_identity, same_identity, tag_name
from lync_provider.remoting import (
    CmdletCall,
    LyncSession,
    NotFoundError,
    RemoteCommandError,
)
from lync_provider.resources.base import LyncResourceError

log = logging.getLogger(__name__)

GET = "Get-CsUser"
GRANT = "Grant-CsExternalAccessPolicy"
# Properties whose value names exactly one user, as Get-CsUser -Identity accepts them.
_UNIQUE_NAMES = ("SipAddress", "UserPrincipalName", "Identity")


class UserNotFoundError(LyncResourceError):
    """Get-CsUser knows no such user (one or several names)."""


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _matchable(name: str) -> bool:
    """Whether ``name`` is in a form that names one user at most (SIP address, UPN, DN)."""
    folded = name.casefold()
    return "@" in folded or folded.startswith(("sip:", "cn="))


def _names_of(record: Mapping[str, Any]) -> set[str]:
    names = {str(record[key]).casefold() for key in _UNIQUE_NAMES if record.get(key)}
    return names | {name.removeprefix("sip:") for name in names}


def _policy(record: Mapping[str, Any]) -> str | None:
    held = record.get("ExternalAccessPolicy")
    return canonical_policy_identity(str(held)) if held else None


class Directory:
    """Get-CsUser and Grant-CsExternalAccessPolicy for many users, ``batch_size`` a pipeline.

    ``kind`` names the resource in errors.
    """

    def __init__(self, session: LyncSession, batch_size: int, kind: str) -> None:
        self.session = session
        self.batch_size = batch_size
        self.kind = kind

    # -- reads ----------------------------------------------------------------------------

    def policies(self, users: Sequence[str], *, missing_ok: bool = False) -> dict[str, str | None]:
        """Each user's per-user external access policy (canonical identity, None for none).

        Users nobody has are listed together in one :class:`UserNotFoundError`, or with
        ``missing_ok`` logged and given None (a leaver holds nothing).
        """
        found = self.records(users)
        missing = [user for user, record in found.items() if record is None]
        if missing and not missing_ok:
            which = (
                f"user {missing[0]!r} was not found"
                if len(missing) == 1
                else f"{len(missing)} users were not found: {', '.join(map(repr, missing))}"
            )
            raise UserNotFoundError(
                f"{self.kind}: {which}; name users by SIP address, UPN, DOMAIN\\logon or "
                "display name, as Grant-CsExternalAccessPolicy accepts"
            )
        for user in missing:
            log.warning("%s: user %r no longer exists", self.kind, user)
        return {user: _policy(record) if record else None for user, record in found.items()}

    def records(self, users: Sequence[str]) -> dict[str, Mapping[str, Any] | None]:
        """Each user's Get-CsUser object, None for a name nobody has, in the order given."""
        found: dict[str, Mapping[str, Any] | None] = {}
        alone = [user for user in users if not _matchable(user)]
        for batch in _batches([user for user in users if _matchable(user)], self.batch_size):
            answered = self._read_batch(batch)
            found.update(answered)
            alone += [user for user in batch if user not in answered]
        for user in alone:
            found[user] = self._read_one(user)
        return {user: found[user] for user in users}

    def _read_batch(self, batch: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        """The users of ``batch`` that exactly one returned object answers to."""
        calls = [CmdletCall(GET, {"Identity": user}) for user in batch]
        try:
            reply = self.session.read_all(calls)
        except RemoteCommandError as refused:
            log.info(
                "%s: a batch of %d reads was refused (%s); reading each alone",
                self.kind,
                len(batch),
                refused.summary,
            )
            return {}
        by_name: dict[str, dict[str, Mapping[str, Any]]] = {}
        for record in reply.records:
            for name in _names_of(record):
                by_name.setdefault(name, {})[str(record.get("Identity"))] = record
        answered: dict[str, Mapping[str, Any]] = {}
        for user in batch:
            records = list(by_name.get(user.casefold(), {}).values())
            if len(records) == 1:
                answered[user] = records[0]
        return answered

    def _read_one(self, user: str) -> Mapping[str, Any] | None:
        try:
            records = self.session.read(CmdletCall(GET, {"Identity": user}))
        except NotFoundError:
            return None
        if len(records) > 1:
            names = ", ".join(str(r.get("SipAddress") or r.get("Identity")) for r in records[:5])
            raise LyncResourceError(
                f"{self.kind}: {user!r} names {len(records)} users ({names}"
                f"{', ...' if len(records) > 5 else ''}), and a grant to it would change "
                "them all; name exactly one user, by SIP address or UPN"
            )
        return records[0] if records else None

    # -- grants ---------------------------------------------------------------------------

    def grant(self, wanted: Mapping[str, str | None]) -> dict[str, RemoteCommandError]:
        """Give each user the policy mapped to it (None: unassign); the users the server
        refused, with its answer. A lost reply is settled by reading the batch back."""
        users = list(wanted)
        refused: dict[str, RemoteCommandError] = {}
        for batch in _batches(users, self.batch_size):
            calls = [_grant_call(user, wanted[user]) for user in batch]
            try:
                self.session.write(*calls, confirm=partial(self._holding, batch, wanted))
            except RemoteCommandError as err:
                log.info(
                    "%s: a grant in a batch of %d was refused (%s); granting the rest one by one",
                    self.kind,
                    len(batch),
                    err.summary,
                )
                refused.update(self._grant_each(batch, wanted))
        return refused

    def _holding(self, batch: Sequence[str], wanted: Mapping[str, str | None]) -> bool:
        held = self.policies(batch, missing_ok=True)
        return all(same_identity(held[user], wanted[user]) for user in batch)

    def _grant_each(
        self, batch: Sequence[str], wanted: Mapping[str, str | None]
    ) -> dict[str, RemoteCommandError]:
        held = self.policies(batch, missing_ok=True)
        refused: dict[str, RemoteCommandError] = {}
        for user in batch:
            if same_identity(held[user], wanted[user]):
                continue
            try:
                self.session.write(
                    _grant_call(user, wanted[user]),
                    confirm=partial(self._holding, [user], wanted),
                )
            except RemoteCommandError as err:
                refused[user] = err
        return refused


def _grant_call(user: str, policy: str | None) -> CmdletCall:
    """Grant takes the policy's name without ``Tag:``; ``$null`` unassigns."""
    return CmdletCall(GRANT, {"Identity": user, "PolicyName": tag_name(policy) if policy else None})
