"""ExternalAccessPolicyAssignment: Grant-CsExternalAccessPolicy for a list of users.

A tag policy applies to a user only once granted. Create records each user's policy before
the grant (``prior_policies``) and grants; delete gives each user back what they had, which
for a user who had none is ``-PolicyName $null`` (unassign), so the tag policy can then be
removed. A grant changes the user's Active Directory object, not the Central Management
Store, so it is not replicated to the Edge and the ReplicationGate does not wait for it.
Users are named as Grant accepts them (SIP address, UPN, DOMAIN\\logon or display
name) and compared without regard to case.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import Field, field_validator

from lync_provider.lync.identities import canonical_policy_identity, same_identity, tag_name
from lync_provider.resources.base import (
    LyncProvider,
    LyncResourceError,
    Spec,
    decode_map,
    encode_map,
)
from lync_provider.resources.directory import Directory, Sweep, named
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import Name, PolicyIdentity

log = logging.getLogger(__name__)

PRIOR = "prior_policies"
LIVE = "live_policies"


class ExternalAccessPolicyAssignmentSpec(Spec):
    """Inputs: the tag policy and the users to grant it to."""

    cmdlet: ClassVar[str] = "Grant-CsExternalAccessPolicy"
    case_insensitive: ClassVar[frozenset[str]] = frozenset({"users"})
    policy_identities: ClassVar[frozenset[str]] = frozenset({"policy_name"})
    control_fields: ClassVar[frozenset[str]] = frozenset()

    policy_name: PolicyIdentity
    users: list[Name] = Field(min_length=1)

    @field_validator("policy_name")
    @classmethod
    def _tag_only(cls, value: str) -> str:
        tag_name(value)  # raises for Global and site policies, which are not granted
        return value

    @field_validator("users")
    @classmethod
    def _one_user_each(cls, value: list[str]) -> list[str]:
        wild = [user for user in value if "*" in user]
        if wild:
            raise ValueError(
                f"{', '.join(map(repr, wild))}: a wildcard names many users, whose policies "
                "would be replaced without a record of what each held; list each user"
            )
        return value

    @field_validator("users")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen = {user.casefold() for user in value}
        if len(seen) != len(value):
            raise ValueError("a user is listed twice (names compare without regard to case)")
        return value


class ExternalAccessPolicyAssignmentProvider(LyncProvider):
    """Grants, re-grants and un-grants a per-user external access policy.

    Users are read and granted ``lync:batchSize`` to a pipeline, each batch's grants riding
    with the next batch's reads (:class:`~.directory.Sweep`); a user who already holds what
    is wanted is not granted again, so adopting an assignment that is already in place
    writes nothing.
    """

    spec = ExternalAccessPolicyAssignmentSpec
    kind = "ExternalAccessPolicyAssignment"

    def directory(self) -> Directory:
        """The front end's users, batched as the front end's settings say."""
        frontend = self.connections().require_frontend()
        return Directory(self.frontend(), frontend.batch_size, self.kind)

    def _grant_all(
        self, directory: Directory, policy: str, users: Sequence[str]
    ) -> dict[str, str | None]:
        """Grant ``policy`` to the users who lack it; what each held before. On any failure
        (a user nobody has, a refusal, a lost connection) what was sent is undone first, so
        no user holds the policy without a record of what they held."""
        sweep = Sweep(
            directory,
            lambda found: {
                u: policy for u, held in found.items() if not same_identity(held, policy)
            },
        )
        try:
            sweep.run(users)
            if sweep.missing:
                raise directory.not_found(sweep.missing, policy)
            self._raise_refused(sweep, policy)
        except Exception:
            self._undo(directory, sweep)
            raise
        return sweep.policies

    def _give_back(
        self, directory: Directory, policy: str, users: Sequence[str], prior: Mapping[str, Any]
    ) -> None:
        """Give users leaving the assignment their prior policy (see :meth:`_given_back`);
        a leaver nobody has any more is skipped, a refusal raised after the rest are done."""
        sweep = Sweep(
            directory, lambda held: self._given_back(policy, held, prior), missing_ok=True
        ).run(users)
        for user in sweep.missing:
            log.warning("%s: user %r no longer exists", self.kind, user)
        self._raise_refused(sweep, policy)

    def _raise_refused(self, sweep: Sweep, policy: str) -> None:
        """If the server refused any user, raise with each distinct refusal once, followed
        by the users it was given for (:func:`~.directory.named`)."""
        if not sweep.refused:
            return
        by_refusal: dict[str, list[str]] = {}
        for user, err in sweep.refused.items():
            said = err.server_errors[0].render() if err.server_errors else err.summary
            by_refusal.setdefault(said, []).append(user)
        lines = [
            f"  {said}\n    {'user' if len(users) == 1 else f'{len(users)} users'}: "
            + named(users, self.kind)
            for said, users in by_refusal.items()
        ]
        first = next(iter(sweep.refused.values()))
        raise LyncResourceError(
            f"{self.kind} {policy!r}: Grant-CsExternalAccessPolicy was refused for "
            f"{len(sweep.refused)} of {len(sweep.sent)} user(s) on {first.endpoint}:\n"
            + "\n".join(lines)
            + (f"\n  hint: {first.hint}" if first.hint else "")
        )

    def _undo(self, directory: Directory, sweep: Sweep) -> None:
        """Give the users granted before a failure back what they held; a failure here is
        only logged, so the error reported is the one that made the grant fail."""
        held = sweep.policies  # every user a grant was sent to was read first
        given = {user: held[user] for user in sweep.sent if user not in sweep.refused}
        try:
            refused = directory.grant(given)
        except Exception:
            log.exception("%s: could not give users back their prior policies", self.kind)
            return
        for user, err in refused.items():
            log.error("%s: could not give %r back its prior policy: %s", self.kind, user, err)

    @staticmethod
    def _outputs(
        policy: str, live: Mapping[str, str | None], prior: Mapping[str, Any]
    ) -> dict[str, Any]:
        holding = [user for user, held in live.items() if same_identity(held, policy)]
        return {
            "policy_name": policy,
            "users": holding,
            PRIOR: encode_map(prior, "user"),
            LIVE: encode_map(live, "user"),
        }

    def create(self, props: Any) -> CreateResult:
        """Record each user's current policy, then grant; undo the grants on failure."""
        policy = canonical_policy_identity(str(props["policy_name"]))
        users = [str(user) for user in props["users"]]
        with self.failing("grant it", policy):
            prior = self._grant_all(self.directory(), policy, users)
        return CreateResult(policy, self._outputs(policy, dict.fromkeys(users, policy), prior))

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        """Any difference is an update: Grant both assigns and re-assigns."""
        changed = self.changed_properties(olds, news)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=None)

    @staticmethod
    def _policy(id_: str, props: Any) -> str:
        """The policy this assignment grants now: the state's ``policy_name``, not the ID.

        The ID is the policy the assignment was created with, and the engine never changes
        an ID on update, so after an update that moved the users to another policy only the
        state names it. The ID is the fallback for state that has no outputs."""
        named = props.get("policy_name") if props else None
        return canonical_policy_identity(str(named)) if named else id_

    def read(self, id_: str, props: Any) -> ReadResult:
        """Which of the users still hold the policy (someone may have re-granted by hand)."""
        policy = self._policy(id_, props)
        users = list(decode_map(props.get(LIVE), "user")) or list(props.get("users") or [])
        prior = decode_map(props.get(PRIOR), "user")
        with self.failing("read it", policy):
            live = self.directory().policies(users)
        outs = self._outputs(policy, live, prior)
        return ReadResult(id_ or policy, outs, {"policy_name": policy, "users": outs["users"]})

    def update(self, id_: str, olds: Any, news: Any) -> UpdateResult:
        """Grant to users who lack the policy; give removed users their prior policy.

        A new ``policy_name`` is an update too: the users are granted the new policy and
        keep the prior policies recorded before the first grant, so delete still gives
        them back what they held before this assignment existed.

        A failed grant undoes this update's grants, so no user holds the policy without a
        record of what they held before.
        """
        policy = canonical_policy_identity(str(news["policy_name"]))
        prior = decode_map(olds.get(PRIOR), "user")
        users = [str(user) for user in news["users"]]
        kept = {user.casefold() for user in users}
        removed = [user for user in prior if user.casefold() not in kept]
        directory = self.directory()
        with self.failing("update it", policy):
            if removed:
                # Users leaving hold the policy granted so far, which may not be the new one.
                self._give_back(directory, self._policy(id_, olds), removed, prior)
                for user in removed:
                    prior.pop(user)
            held = self._grant_all(directory, policy, users)
            known = {user.casefold() for user in prior}
            prior.update({u: held[u] for u in users if u.casefold() not in known})
        return UpdateResult(self._outputs(policy, dict.fromkeys(users, policy), prior))

    def delete(self, id_: str, props: Any) -> None:
        """Give each user still holding the policy what they held before (usually none:
        unassign). A user someone has since moved to another policy is left alone."""
        policy = self._policy(id_, props)
        prior = decode_map(props.get(PRIOR), "user")
        users = list(decode_map(props.get(LIVE), "user")) or list(prior)
        with self.failing("delete it", policy):
            self._give_back(self.directory(), policy, users, prior)

    @staticmethod
    def _given_back(
        policy: str, held: Mapping[str, str | None], prior: Mapping[str, Any]
    ) -> dict[str, str | None]:
        """What to grant users leaving the assignment: their prior policy, to those who
        still hold this one and did not already hold it before."""
        return {
            user: prior.get(user)
            for user, now in held.items()
            if same_identity(now, policy) and not same_identity(prior.get(user), policy)
        }


@dataclass
class ExternalAccessPolicyAssignmentArgs:
    """Inputs of :class:`ExternalAccessPolicyAssignment`."""

    policy_name: pulumi.Input[str]
    users: pulumi.Input[list[pulumi.Input[str]]]


class ExternalAccessPolicyAssignment(
    LyncResource, module="lync", name="ExternalAccessPolicyAssignment"
):
    """Grants a tag external access policy to users; delete gives them back their prior one.

    Outputs: ``users`` that hold the policy now, ``prior_policies`` and ``live_policies``
    (user → policy identity or None).
    """

    args_type = ExternalAccessPolicyAssignmentArgs
    provider_type = ExternalAccessPolicyAssignmentProvider
    extra_outputs = (PRIOR, LIVE)
