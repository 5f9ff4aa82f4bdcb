"""HostingProvider: New-/Set-/Get-/Remove-CsHostingProvider.

For Exchange Online: identity "Exchange Online", proxy_fqdn ``exap.um.outlook.com``
(21Vianet: ``exap.um.partner.outlook.cn``), enabled, shared address space on, HostsOCSUsers
off, IsLocal off, UseSourceVerification. Set-CsHostingProvider has no ``-ProxyFqdn`` and
identities are unique, so a change of ``identity`` or ``proxy_fqdn`` replaces the provider,
deleting the old one first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pydantic import Field

from lync_provider.resources.base import Spec
from lync_provider.resources.config_object import ConfigObjectProvider
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import Fqdn, HttpsUrl, Name, VerificationLevel


class HostingProviderSpec(Spec):
    """Inputs of HostingProvider: the Lync 2013 New-CsHostingProvider parameters."""

    cmdlet: ClassVar[str] = "New-CsHostingProvider"
    case_insensitive: ClassVar[frozenset[str]] = frozenset({"identity", "proxy_fqdn"})
    noun: ClassVar[str] = "CsHostingProvider"

    identity: Name
    proxy_fqdn: Fqdn
    enabled: bool
    enabled_shared_address_space: bool | None = None
    hosts_ocs_users: bool | None = None
    is_local: bool | None = None
    verification_level: VerificationLevel | None = None
    autodiscover_url: HttpsUrl | None = None
    sip_client_port: int | None = Field(default=None, ge=1, le=65535)
    adopt: bool | None = None


class HostingProviderProvider(ConfigObjectProvider):
    """Creates, converges and removes one hosting provider."""

    spec = HostingProviderSpec
    kind = "HostingProvider"
    replace_on = frozenset({"identity", "proxy_fqdn"})
    delete_before_replace = True
    # New-CsHostingProvider prompts for these when absent (documented defaults: False).
    new_defaults: ClassVar[Mapping[str, Any]] = {
        "enabled_shared_address_space": False,
        "hosts_ocs_users": False,
    }


@dataclass
class HostingProviderArgs:
    """Inputs of :class:`HostingProvider` (see :class:`HostingProviderSpec`)."""

    identity: pulumi.Input[str]
    proxy_fqdn: pulumi.Input[str]
    enabled: pulumi.Input[bool]
    enabled_shared_address_space: pulumi.Input[bool] | None = None
    hosts_ocs_users: pulumi.Input[bool] | None = None
    is_local: pulumi.Input[bool] | None = None
    verification_level: pulumi.Input[str] | None = None
    autodiscover_url: pulumi.Input[str] | None = None
    sip_client_port: pulumi.Input[int] | None = None
    adopt: pulumi.Input[bool] | None = None


class HostingProvider(LyncResource, module="lync", name="HostingProvider"):
    """A Lync hosting provider (federation partner), e.g. Exchange Online.

    ``adopt=True`` takes over a provider that already exists with this identity instead of
    failing; its values are recorded (``prior_values``, ``adopted``) and destroy gives them
    back instead of removing it.
    """

    args_type = HostingProviderArgs
    provider_type = HostingProviderProvider
    extra_outputs = ("changed_at", "prior_values", "adopted")
