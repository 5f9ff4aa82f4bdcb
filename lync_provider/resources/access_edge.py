"""AccessEdgeConfig: the Global Set-CsAccessEdgeConfiguration singleton.

``allow_federated_users=True`` is step 1 of the Exchange Online integration: it enables the
shared SIP address space. The routing mode is one input, ``routing_method``: DNS SRV routing
(what hosting providers require) or default routing through ``default_route_fqdn``. Lync
sends it as the ``-UseDnsSrvRouting`` / ``-UseDefaultRouting`` switches and shows it as the
read-only ``RoutingMethod`` property; properties that belong to the other mode are refused.

Set-CsAccessEdgeConfiguration has three parameter sets and ``-Identity`` belongs only to the
first (ODP Set-CsAccessEdgeConfiguration, SYNTAX): the DnsSrvRouting and DefaultRoute sets,
which hold the routing switches and the routing-only properties, have none. The settings
exist once, at the global scope, and every set without ``-Identity`` targets them, so Set is
always sent without ``-Identity``; that binds in whichever set the other parameters choose.
DnsSrvCacheRecordCount and SkypeSearchUrl exist from Skype for Business Server 2015 on
(``lync_provider.lync.versions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import pulumi
from pydantic import Field, model_validator

from lync_provider.remoting import SWITCH
from lync_provider.resources.base import PropertyError, Spec
from lync_provider.resources.config_object import ConfigObjectProvider
from lync_provider.resources.resource import LyncResource
from lync_provider.resources.types import (
    Count,
    Fqdn,
    HttpsUrl,
    RoutingMethod,
    VerificationLevel,
)

GLOBAL = "Global"
_DNS_SRV_ONLY = (
    "enable_partner_discovery",
    "be_clearing_house",
    "discovered_partner_verification_level",
)
_DEFAULT_ROUTE_ONLY = ("default_route_fqdn", "is_public_provider", "verification_level")
_ROUTING_ONLY = frozenset(_DNS_SRV_ONLY + _DEFAULT_ROUTE_ONLY)
_OTHER_MODE = {"UseDnsSrvRouting": _DEFAULT_ROUTE_ONLY, "UseDefaultRouting": _DNS_SRV_ONLY}


class AccessEdgeConfigSpec(Spec):
    """Inputs of AccessEdgeConfig: every Lync Server 2013 Set-CsAccessEdgeConfiguration
    parameter, snake_case; unset means unmanaged."""

    cmdlet: ClassVar[str] = "Set-CsAccessEdgeConfiguration"
    case_insensitive: ClassVar[frozenset[str]] = frozenset({"default_route_fqdn"})
    noun: ClassVar[str] = "CsAccessEdgeConfiguration"
    control_fields: ClassVar[frozenset[str]] = frozenset()

    allow_anonymous_users: bool | None = None
    allow_federated_users: bool | None = None
    allow_outside_users: bool | None = None
    enable_archiving_disclaimer: bool | None = None
    keep_crls_up_to_date_for_peers: bool | None = None
    mark_source_verifiable_on_outgoing_messages: bool | None = None
    outgoing_tls_count_for_federated_partners: int | None = Field(default=None, ge=1, le=4)
    routing_method: RoutingMethod | None = None
    default_route_fqdn: Fqdn | None = None
    enable_partner_discovery: bool | None = None
    be_clearing_house: bool | None = None
    discovered_partner_verification_level: VerificationLevel | None = None
    is_public_provider: bool | None = None
    verification_level: VerificationLevel | None = None
    certificates_deleted_percentage: int | None = Field(default=None, ge=1, le=100)
    discovered_partner_report_period_minutes: Count | None = None
    discovered_partner_standard_rate: Count | None = None
    enable_discovered_partner_contacts_limit: bool | None = None
    enable_user_replicator: bool | None = None
    max_accepted_certificates_stored: Count | None = None
    max_contacts_per_discovered_partner: Count | None = None
    max_rejected_certificates_stored: Count | None = None
    dns_srv_cache_record_count: Count | None = None
    skype_search_url: HttpsUrl | None = None

    @model_validator(mode="after")
    def _routing(self) -> AccessEdgeConfigSpec:
        given = self.model_fields_set
        if self.routing_method == "UseDefaultRouting":
            if self.default_route_fqdn is None:
                raise PropertyError(
                    "default_route_fqdn",
                    "routing_method UseDefaultRouting requires default_route_fqdn",
                )
            wrong = [f for f in _DNS_SRV_ONLY if f in given]
        else:
            wrong = [f for f in _DEFAULT_ROUTE_ONLY if f in given]
        if wrong:
            mode = self.routing_method or "unset (declare routing_method)"
            raise PropertyError(
                wrong[0],
                f"{', '.join(wrong)} cannot be set when routing_method is {mode}; "
                f"{'default' if wrong[0] in _DEFAULT_ROUTE_ONLY else 'DNS SRV'} routing only",
            )
        return self


class AccessEdgeConfigProvider(ConfigObjectProvider):
    """Takes over the Global access edge configuration; delete restores the prior values."""

    spec = AccessEdgeConfigSpec
    kind = "AccessEdgeConfig"

    def identity_of(self, props: Mapping[str, Any]) -> str:
        return GLOBAL

    def is_singleton(self, identity: str) -> bool:
        return True

    def set_identity(self, identity: str) -> dict[str, Any]:
        """None: ``-Identity`` exists only in the Identity set (see the module docstring)."""
        return {}

    def set_parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Routing becomes its switch; the other mode's properties are not sent with it.

        A routing-only property that is None is the other mode's, absent from the object read
        back, and is not sent either: it would bind that mode's parameter set. Any other None
        is sent as ``$null``, so restoring a prior "unset" (SkypeSearchUrl) writes it back.
        """
        values = dict(values)
        routing = values.pop("routing_method", None)
        excluded = _OTHER_MODE.get(routing, ())
        params = self.to_parameters(
            {
                name: value
                for name, value in values.items()
                if name not in excluded and not (value is None and name in _ROUTING_ONLY)
            }
        )
        if routing is not None:
            return {routing: SWITCH, **params}
        return params


@dataclass
class AccessEdgeConfigArgs:
    """Inputs of :class:`AccessEdgeConfig` (see :class:`AccessEdgeConfigSpec`)."""

    allow_anonymous_users: pulumi.Input[bool] | None = None
    allow_federated_users: pulumi.Input[bool] | None = None
    allow_outside_users: pulumi.Input[bool] | None = None
    enable_archiving_disclaimer: pulumi.Input[bool] | None = None
    keep_crls_up_to_date_for_peers: pulumi.Input[bool] | None = None
    mark_source_verifiable_on_outgoing_messages: pulumi.Input[bool] | None = None
    outgoing_tls_count_for_federated_partners: pulumi.Input[int] | None = None
    routing_method: pulumi.Input[str] | None = None
    default_route_fqdn: pulumi.Input[str] | None = None
    enable_partner_discovery: pulumi.Input[bool] | None = None
    be_clearing_house: pulumi.Input[bool] | None = None
    discovered_partner_verification_level: pulumi.Input[str] | None = None
    is_public_provider: pulumi.Input[bool] | None = None
    verification_level: pulumi.Input[str] | None = None
    certificates_deleted_percentage: pulumi.Input[int] | None = None
    discovered_partner_report_period_minutes: pulumi.Input[int] | None = None
    discovered_partner_standard_rate: pulumi.Input[int] | None = None
    enable_discovered_partner_contacts_limit: pulumi.Input[bool] | None = None
    enable_user_replicator: pulumi.Input[bool] | None = None
    max_accepted_certificates_stored: pulumi.Input[int] | None = None
    max_contacts_per_discovered_partner: pulumi.Input[int] | None = None
    max_rejected_certificates_stored: pulumi.Input[int] | None = None
    dns_srv_cache_record_count: pulumi.Input[int] | None = None
    skype_search_url: pulumi.Input[str] | None = None


class AccessEdgeConfig(LyncResource, module="lync", name="AccessEdgeConfig"):
    """The Global access edge configuration, taken over on create and restored on delete.

    Outputs: each managed property's live value, ``identity`` (``Global``) and
    ``prior_values`` (what the properties were before Pulumi took them over).
    """

    args_type = AccessEdgeConfigArgs
    provider_type = AccessEdgeConfigProvider
