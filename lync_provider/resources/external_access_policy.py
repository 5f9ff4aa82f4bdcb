"""ExternalAccessPolicy: New-/Set-/Get-/Remove-CsExternalAccessPolicy.

An Outlook Web App sign-in counts as a remote user, so OWA users need a policy with
``enable_outside_access=True`` ("Enable communications with remote users"). The identity is
``Global``, ``site:<site>`` or ``tag:<name>`` (a bare name means a tag). The Global policy
always exists and is taken over like a singleton: its prior values are restored on delete
(Remove-CsExternalAccessPolicy on Global would reset it to defaults, not to what it was).
Site and tag policies are created and removed, with ``adopt`` for existing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi

from lync_provider.lync.identities import canonical_policy_identity, same_identity
from lync_provider.resources.base import Spec
from lync_provider.resources.config_object import ConfigObjectProvider
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import PolicyIdentity, Text


class ExternalAccessPolicySpec(Spec):
    """Inputs of ExternalAccessPolicy: the Lync 2013 New-CsExternalAccessPolicy parameters."""

    cmdlet: ClassVar[str] = "New-CsExternalAccessPolicy"
    policy_identities: ClassVar[frozenset[str]] = frozenset({"identity"})
    noun: ClassVar[str] = "CsExternalAccessPolicy"

    identity: PolicyIdentity
    description: Text | None = None
    enable_federation_access: bool | None = None
    enable_outside_access: bool | None = None
    enable_public_cloud_access: bool | None = None
    enable_public_cloud_audio_video_access: bool | None = None
    enable_xmpp_access: bool | None = None
    adopt: bool | None = None


class ExternalAccessPolicyProvider(ConfigObjectProvider):
    """Global: take over and restore. Site and tag: create, converge and remove."""

    spec = ExternalAccessPolicySpec
    kind = "ExternalAccessPolicy"
    replace_on = frozenset({"identity"})

    def identity_of(self, props: Any) -> str:
        return canonical_policy_identity(str(props["identity"]))

    def is_singleton(self, identity: str) -> bool:
        return same_identity(identity, "Global")


@dataclass
class ExternalAccessPolicyArgs:
    """Inputs of :class:`ExternalAccessPolicy` (see :class:`ExternalAccessPolicySpec`)."""

    identity: pulumi.Input[str]
    description: pulumi.Input[str] | None = None
    enable_federation_access: pulumi.Input[bool] | None = None
    enable_outside_access: pulumi.Input[bool] | None = None
    enable_public_cloud_access: pulumi.Input[bool] | None = None
    enable_public_cloud_audio_video_access: pulumi.Input[bool] | None = None
    enable_xmpp_access: pulumi.Input[bool] | None = None
    adopt: pulumi.Input[bool] | None = None


class ExternalAccessPolicy(LyncResource, module="lync", name="ExternalAccessPolicy"):
    """An external access policy at Global, site or tag scope.

    Outputs: the managed properties' live values, the canonical ``identity``, and for Global
    or an adopted site/tag policy ``prior_values`` (restored on delete; an adopted policy is
    never removed, and says so in ``adopted``).
    """

    args_type = ExternalAccessPolicyArgs
    provider_type = ExternalAccessPolicyProvider
    extra_outputs = ("prior_values", "changed_at", "adopted")
