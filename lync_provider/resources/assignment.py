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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import Field, field_validator

from lync_provider.lync.identities import canonical_policy_identity, same_identity, tag_name
from lync_provider.remoting import CmdletCall, NotFoundError
from lync_provider.resources.base import (
    LyncProvider,
    LyncResourceError,
    Spec,
    decode_map,
    encode_map,
)
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import Name, PolicyIdentity

log = logging.getLogger(__name__)

PRIOR = "prior_policies"
LIVE = "live_policies"


class UserNotFoundError(LyncResourceError):
    """Get-CsUser knows no such user."""


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
    """Grants, re-grants and un-grants a per-user external access policy."""

    spec = ExternalAccessPolicyAssignmentSpec
    kind = "ExternalAccessPolicyAssignment"

    def _policy_of(self, user: str) -> str | None:
        try:
            records = self.frontend().read(CmdletCall("Get-CsUser", {"Identity": user}))
        except NotFoundError:
            records = []
        if not records:
            raise UserNotFoundError(
                f"{self.kind}: user {user!r} was not found; name users by SIP address, "
                "UPN, DOMAIN\\logon or display name, as Grant-CsExternalAccessPolicy accepts"
            )
        if len(records) > 1:
            names = ", ".join(str(r.get("SipAddress") or r.get("Identity")) for r in records[:5])
            raise LyncResourceError(
                f"{self.kind}: {user!r} names {len(records)} users ({names}"
                f"{', ...' if len(records) > 5 else ''}), and a grant to it would change "
                "them all; name exactly one user, by SIP address or UPN"
            )
        policy = records[0].get("ExternalAccessPolicy")
        return canonical_policy_identity(policy) if policy else None

    def _policy_or_gone(self, user: str) -> str | None:
        """The user's policy; None for a user who no longer exists (holds nothing)."""
        try:
            return self._policy_of(user)
        except UserNotFoundError:
            log.warning("%s: user %r no longer exists", self.kind, user)
            return None

    def _grant(self, user: str, policy: str | None) -> None:
        name = tag_name(policy) if policy else None
        self.frontend().write(
            CmdletCall("Grant-CsExternalAccessPolicy", {"Identity": user, "PolicyName": name}),
            confirm=lambda: same_identity(self._policy_of(user), policy),
        )

    def _outputs(self, inputs: Mapping[str, Any], prior: Mapping[str, Any]) -> dict[str, Any]:
        live = {user: self._policy_or_gone(user) for user in inputs["users"]}
        policy = canonical_policy_identity(str(inputs["policy_name"]))
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
        prior: dict[str, Any] = {}
        with self.failing("grant it", policy):
            try:
                for user in props["users"]:
                    prior[user] = self._policy_of(user)
                    self._grant(user, policy)
                outs = self._outputs(props, prior)
            except Exception:
                for user, held in prior.items():
                    self._grant(user, held)
                raise
        return CreateResult(policy, outs)

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        """Any difference is an update: Grant both assigns and re-assigns."""
        changed = self.changed_properties(olds, news)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=None)

    def read(self, id_: str, props: Any) -> ReadResult:
        """Which of the users still hold the policy (someone may have re-granted by hand)."""
        policy = id_ or canonical_policy_identity(str(props["policy_name"]))
        users = list(decode_map(props.get(LIVE), "user")) or list(props.get("users") or [])
        prior = decode_map(props.get(PRIOR), "user")
        with self.failing("read it", policy):
            outs = self._outputs({"policy_name": policy, "users": users}, prior)
        inputs = {"policy_name": policy, "users": outs["users"]}
        return ReadResult(policy, outs, inputs)

    def update(self, id_: str, olds: Any, news: Any) -> UpdateResult:
        """Grant to users who lack the policy; give removed users their prior policy."""
        policy = canonical_policy_identity(str(news["policy_name"]))
        prior = decode_map(olds.get(PRIOR), "user")
        wanted = {str(user).casefold(): str(user) for user in news["users"]}
        with self.failing("update it", policy):
            for user in [u for u in prior if u.casefold() not in wanted]:
                self._grant(user, prior.pop(user))
            for user in wanted.values():
                held = self._policy_of(user)
                known = next((u for u in prior if u.casefold() == user.casefold()), None)
                if known is None:
                    prior[user] = held
                if not same_identity(held, policy):
                    self._grant(user, policy)
            outs = self._outputs(news, prior)
        return UpdateResult(outs)

    def delete(self, id_: str, props: Any) -> None:
        """Give each user still holding the policy what they held before (usually none:
        unassign). A user someone has since moved to another policy is left alone."""
        policy = id_ or canonical_policy_identity(str(props["policy_name"]))
        prior = decode_map(props.get(PRIOR), "user")
        with self.failing("delete it", policy):
            for user in decode_map(props.get(LIVE), "user") or prior:
                if same_identity(self._policy_or_gone(user), policy):
                    self._grant(user, prior.get(user))


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
