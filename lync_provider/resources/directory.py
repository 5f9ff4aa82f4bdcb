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
its DN, which each name one user only; a name no object answers to is missing when an
ObjectNotFound error names it (the error's target is the name its statement was given).
Names in another form (display name, DOMAIN\\logon, which may name several users or a user
of another domain), names that several objects or none (with no error naming them) answer
to, and every name of a batch the server refused as a whole, are read again alone, as one
pipeline per user did, so their answers and their errors are exact.

Grants. A batch of Grant statements; when the server refuses one of them the pipeline
stops there, so the users of that batch who do not yet hold what they should are granted
one by one: each failure is reported by its user's name, and the rest are applied.

Sweeps (:class:`Sweep`): a pass that reads each batch and grants what its answers decide.
Create must know each user's policy before granting (to record it), and destroy must see
that a user still holds the policy before giving the prior one back; a pipeline answers
only when it has run, so the grants a batch's reads decide cannot share that pipeline. They
ride in the next one instead, ahead of the next batch's reads::

    read 1 | grant 1, read 2 | grant 2, read 3 | ... | grant n

so U users cost ceil(U / batch) + 1 pipelines where reading all, then granting all, cost
twice ceil(U / batch). Each grant is still sent only after its user was read, so the prior
policy is known before the grant and a user someone moved elsewhere is left alone.

The price: batch k's grants go out before batch k+1's reads answer. So a strict sweep (not
``missing_ok``) that meets a user nobody has, or a refused grant, stops granting but goes on
reading, to name every missing user, and the caller undoes what was sent (:attr:`Sweep.sent`)
where reading everything first would have named them before writing anything.

A pipeline the server stopped (a terminating error), whose errors its reads do not explain,
or whose answer was lost after its grants took effect, is redone the exact way: its grants
are checked and sent one by one (:meth:`Directory.grant_each`) and its reads sent again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from lync_provider.lync.identities import canonical_policy_identity, same_identity, tag_name
from lync_provider.remoting import (
    CmdletCall,
    LyncSession,
    NotFoundError,
    RemoteCommandError,
    ServerError,
    quoted,
)
from lync_provider.resources.base import LyncResourceError

log = logging.getLogger(__name__)

GET = "Get-CsUser"
GRANT = "Grant-CsExternalAccessPolicy"
# Properties whose value names exactly one user, as Get-CsUser -Identity accepts them.
_UNIQUE_NAMES = ("SipAddress", "UserPrincipalName", "Identity")


class UserNotFoundError(LyncResourceError):
    """Get-CsUser knows no such user (one or several names)."""


def batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def matchable(name: str) -> bool:
    """Whether ``name`` is in a form that names one user at most (SIP address, UPN, DN)."""
    folded = name.casefold()
    return "@" in folded or folded.startswith(("sip:", "cn="))


def _names_of(record: Mapping[str, Any]) -> set[str]:
    names = {str(record[key]).casefold() for key in _UNIQUE_NAMES if record.get(key)}
    return names | {name.removeprefix("sip:") for name in names}


def policy_of(record: Mapping[str, Any]) -> str | None:
    held = record.get("ExternalAccessPolicy")
    return canonical_policy_identity(str(held)) if held else None


def not_found_targets(errors: Sequence[ServerError]) -> set[str]:
    """The names (casefolded) that ObjectNotFound errors say nobody has."""
    return {error.target.casefold() for error in errors if error.category == "ObjectNotFound"}


def matched(
    batch: Sequence[str], records: Sequence[Mapping[str, Any]], errors: Sequence[ServerError]
) -> dict[str, Mapping[str, Any] | None]:
    """The users of ``batch`` that exactly one of ``records`` answers to, by SIP address,
    UPN or DN (the objects do not say which statement produced them), and, as None, those
    no record answers to that an ObjectNotFound error names (its target is the name the
    statement was given)."""
    by_name: dict[str, dict[str, Mapping[str, Any]]] = {}
    for record in records:
        for name in _names_of(record):
            by_name.setdefault(name, {})[str(record.get("Identity"))] = record
    nobody = not_found_targets(errors)
    answered: dict[str, Mapping[str, Any] | None] = {}
    for user in batch:
        answering = list(by_name.get(user.casefold(), {}).values())
        if len(answering) == 1:
            answered[user] = answering[0]
        elif not answering and user.casefold() in nobody:
            answered[user] = None
    return answered


NAMED_AT_MOST = 20


def named(users: Sequence[str], kind: str) -> str:
    """The users quoted, at most :data:`NAMED_AT_MOST` of them and the rest counted.

    A grant to a department that fails for all of it would otherwise name thousands of
    users in one error, which nobody reads in ``pulumi up``'s output (and which can exceed
    what a gRPC client takes as an error's details). When names are left out, all of them
    are logged at WARNING (``LYNC_LOG_LEVEL``), for whoever needs the full list.
    """
    shown = ", ".join(map(quoted, users[:NAMED_AT_MOST]))
    rest = len(users) - NAMED_AT_MOST
    if rest <= 0:
        return shown
    log.warning("%s: all %d users: %s", kind, len(users), ", ".join(users))
    return f"{shown} and {rest} more (LYNC_LOG_LEVEL=WARNING logs every name)"


class Directory:
    """Get-CsUser and Grant-CsExternalAccessPolicy for many users, ``batch_size`` a pipeline.

    ``kind`` names the resource in errors.
    """

    def __init__(self, session: LyncSession, batch_size: int, kind: str) -> None:
        self.session = session
        self.batch_size = batch_size
        self.kind = kind

    # -- reads ----------------------------------------------------------------------------

    def policies(self, users: Sequence[str]) -> dict[str, str | None]:
        """Each user's per-user external access policy (canonical identity, None for none,
        and for a user nobody has any more: a leaver holds nothing, and is logged)."""
        found = self.records(users)
        for user, record in found.items():
            if record is None:
                log.warning("%s: user %r no longer exists", self.kind, user)
        return {user: policy_of(record) if record else None for user, record in found.items()}

    def not_found(self, missing: Sequence[str], subject: str) -> UserNotFoundError:
        """The error naming the users Get-CsUser did not find (the first
        :data:`NAMED_AT_MOST`; :func:`named` logs them all); ``subject`` is the resource's
        identity (the policy being granted)."""
        which = (
            f"user {quoted(missing[0])} was not found"
            if len(missing) == 1
            else f"{len(missing)} users were not found: {named(missing, self.kind)}"
        )
        return UserNotFoundError(
            f"{self.kind} {subject!r}: {which} (Get-CsUser on "
            f"{self.session.settings.display_url}). Name users by SIP "
            "address, UPN, DOMAIN\\logon or display name, as Grant-CsExternalAccessPolicy "
            "accepts, and check that each is enabled for Lync (Get-CsUser -Identity <name>)"
        )

    def records(self, users: Sequence[str]) -> dict[str, Mapping[str, Any] | None]:
        """Each user's Get-CsUser object, None for a name nobody has, in the order given."""
        return Sweep(self, _grant_nothing, missing_ok=True).run(users).records

    def read_batch(self, batch: Sequence[str]) -> dict[str, Mapping[str, Any] | None]:
        """The users of ``batch`` its answer settles (:func:`matched`; none when the server
        refused the batch as a whole)."""
        try:
            reply = self.session.read_all([get_call(user) for user in batch])
        except RemoteCommandError as refused:
            log.info(
                "%s: a batch of %d reads was refused (%s); reading each alone",
                self.kind,
                len(batch),
                refused.summary,
            )
            return {}
        return matched(batch, reply.records, reply.errors)

    def read_one(self, user: str) -> Mapping[str, Any] | None:
        """One user read alone, so every answer and error is its own."""
        try:
            records = self.session.read(get_call(user))
        except NotFoundError:
            return None
        return self.only(user, records)

    def only(self, user: str, records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        """The one user ``records`` (the answer to reading ``user`` alone) holds, None for
        none; a name that several users answer to is refused, as a grant would change all."""
        if len(records) > 1:
            names = ", ".join(str(r.get("SipAddress") or r.get("Identity")) for r in records[:5])
            raise LyncResourceError(
                f"{self.kind}: {quoted(user)} names {len(records)} users ({names}"
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
        for batch in batches(users, self.batch_size):
            calls = [grant_call(user, wanted[user]) for user in batch]
            try:
                self.session.write(*calls, confirm=partial(self.holding, batch, wanted))
            except RemoteCommandError as err:
                log.info(
                    "%s: a grant in a batch of %d was refused (%s); granting the rest one by one",
                    self.kind,
                    len(batch),
                    err.summary,
                )
                refused.update(self.grant_each(batch, wanted))
        return refused

    def holding(self, batch: Sequence[str], wanted: Mapping[str, str | None]) -> bool:
        """Whether every user of ``batch`` holds what ``wanted`` maps it to (a read-back)."""
        held = self.policies(batch)
        return all(same_identity(held[user], wanted[user]) for user in batch)

    def grant_each(
        self, batch: Sequence[str], wanted: Mapping[str, str | None]
    ) -> dict[str, RemoteCommandError]:
        """Grant, one pipeline each, the users of ``batch`` that do not yet hold what they
        should, after a batch that stopped part-way; the users the server refused."""
        held = self.policies(batch)
        refused: dict[str, RemoteCommandError] = {}
        for user in batch:
            if same_identity(held[user], wanted[user]):
                continue
            try:
                self.session.write(
                    grant_call(user, wanted[user]),
                    confirm=partial(self.holding, [user], wanted),
                )
            except RemoteCommandError as err:
                refused[user] = err
        return refused


def get_call(user: str) -> CmdletCall:
    """Get-CsUser for one name."""
    return CmdletCall(GET, {"Identity": user})


def grant_call(user: str, policy: str | None) -> CmdletCall:
    """Grant takes the policy's name without ``Tag:``; ``$null`` unassigns."""
    return CmdletCall(GRANT, {"Identity": user, "PolicyName": tag_name(policy) if policy else None})


# From the policies of users just read (found ones only), the grants to send for them.
Decide = Callable[[Mapping[str, str | None]], Mapping[str, str | None]]
Answers = dict[str, Mapping[str, Any] | None]


@dataclass(frozen=True)
class _Group:
    """Users read in one pipeline: a batch matched to its answers by name, or one user
    read alone (a display name or DOMAIN\\logon, or a name its batch left unanswered)."""

    users: tuple[str, ...]
    by_name: bool

    def explains(self, errors: Sequence[ServerError]) -> bool:
        """Whether every error is Get-CsUser not finding one of these users."""
        users = {user.casefold() for user in self.users}
        return all(
            error.category == "ObjectNotFound" and error.target.casefold() in users
            for error in errors
        )


class Sweep:
    """Reads ``users`` batch by batch and sends the grants ``decide`` makes of each batch.

    After :meth:`run`: ``records`` (each user's Get-CsUser object before this pass, None
    for a missing user, in the order given), ``missing``, ``sent`` (every grant sent, the
    one in flight when an error was raised included) and ``refused`` (the users the server
    refused).
    """

    def __init__(self, directory: Directory, decide: Decide, *, missing_ok: bool = False) -> None:
        self.directory = directory
        self.decide = decide
        self.missing_ok = missing_ok
        self.records: Answers = {}
        self.missing: list[str] = []
        self.sent: dict[str, str | None] = {}
        self.refused: dict[str, RemoteCommandError] = {}

    @property
    def stopped(self) -> bool:
        """A strict sweep sends no more grants after a missing user or a refusal."""
        return not self.missing_ok and bool(self.missing or self.refused)

    def run(self, users: Sequence[str]) -> Sweep:
        groups = deque(self._groups(users))
        grants: dict[str, str | None] = {}
        while groups or grants:
            group = groups.popleft() if groups else None
            answered = self._step(grants, group)
            if group is not None:
                unanswered = [user for user in group.users if user not in answered]
                groups.extend(_Group((user,), by_name=False) for user in unanswered)
            found = self._record(answered)
            grants = {} if self.stopped or not found else dict(self.decide(found))
        self.records = {user: self.records[user] for user in users}
        return self

    @property
    def policies(self) -> dict[str, str | None]:
        """Each user's policy before this pass (None for none, or for a missing user)."""
        return {
            user: policy_of(record) if record else None for user, record in self.records.items()
        }

    def _groups(self, users: Sequence[str]) -> Iterator[_Group]:
        named = [user for user in users if matchable(user)]
        for batch in batches(named, self.directory.batch_size):
            yield _Group(tuple(batch), by_name=True)
        for user in users:
            if not matchable(user):
                yield _Group((user,), by_name=False)

    def _record(self, answered: Answers) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for user, record in answered.items():
            self.records[user] = record
            if record is None:
                self.missing.append(user)
            else:
                found[user] = policy_of(record)
        return found

    def _step(self, grants: Mapping[str, str | None], group: _Group | None) -> Answers:
        """One pipeline: the grants decided from the previous group, then this group's reads."""
        if not grants:
            return self._read(group)
        directory = self.directory
        reads = [get_call(user) for user in group.users] if group else []
        self.sent.update(grants)
        calls = [grant_call(user, policy) for user, policy in grants.items()] + reads
        confirm = partial(directory.holding, list(grants), grants)
        try:
            reply = directory.session.write_all(calls, confirm=confirm)
        except RemoteCommandError as err:
            log.info(
                "%s: a pipeline of %d grants and %d reads was refused (%s); granting one by one",
                directory.kind,
                len(grants),
                len(reads),
                err.summary,
            )
            self.refused.update(directory.grant_each(list(grants), grants))
            return self._read(group)
        if group is not None and group.explains(reply.errors):
            return (
                self._read(group)
                if reply.settled
                else self._answers(group, reply.records, reply.errors)
            )
        if reply.errors:
            self.refused.update(directory.grant_each(list(grants), grants))
        return self._read(group)

    def _read(self, group: _Group | None) -> Answers:
        """A group read on its own, with :class:`Directory`'s exact fallbacks."""
        if group is None:
            return {}
        if group.by_name:
            return self.directory.read_batch(group.users)
        (user,) = group.users
        return {user: self.directory.read_one(user)}

    def _answers(
        self, group: _Group, records: Sequence[Mapping[str, Any]], errors: Sequence[ServerError]
    ) -> Answers:
        if group.by_name:
            return matched(group.users, records, errors)
        (user,) = group.users
        return {user: self.directory.only(user, records)}


def _grant_nothing(_found: Mapping[str, str | None]) -> Mapping[str, str | None]:
    return {}
