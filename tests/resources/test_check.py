"""`check`: every bad input comes back as a CheckFailure on its property, before any call.

Driven through the real provider process (what `pulumi preview` does first), with no server
at all: validation must not need one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lync_provider.replication import ReplicationGate, ReplicationGateProvider
from lync_provider.resources import (
    AccessEdgeConfig,
    AccessEdgeConfigProvider,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
    ExternalAccessPolicyProvider,
    HostingProvider,
    HostingProviderProvider,
)
from lync_provider.resources.base import LyncProvider
from lync_provider.resources.resource import LyncResource
from tests.resources.conftest import PROJECT
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import CheckFailedError, Engine, ProviderProcess, declare

EDGE: tuple[type[LyncResource], type[LyncProvider]] = (AccessEdgeConfig, AccessEdgeConfigProvider)
HP: tuple[type[LyncResource], type[LyncProvider]] = (HostingProvider, HostingProviderProvider)
POLICY: tuple[type[LyncResource], type[LyncProvider]] = (
    ExternalAccessPolicy,
    ExternalAccessPolicyProvider,
)
GRANT: tuple[type[LyncResource], type[LyncProvider]] = (
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
)
GATE: tuple[type[LyncResource], type[LyncProvider]] = (ReplicationGate, ReplicationGateProvider)

CASES: list[tuple[str, tuple[type[LyncResource], type[LyncProvider]], dict[str, Any], str, str]] = [
    (
        "unknown verification level",
        HP,
        {**EXCHANGE_ONLINE, "verification_level": "Sometimes"},
        "verification_level",
        "unknown verification level 'Sometimes'; use one of AlwaysVerifiable",
    ),
    (
        "malformed FQDN",
        HP,
        {**EXCHANGE_ONLINE, "proxy_fqdn": "exap um outlook"},
        "proxy_fqdn",
        "is not a fully qualified domain name",
    ),
    (
        "missing proxy",
        HP,
        {"identity": "Exchange Online", "enabled": True},
        "proxy_fqdn",
        "Field required",
    ),
    (
        "port out of range",
        HP,
        {**EXCHANGE_ONLINE, "sip_client_port": 70000},
        "sip_client_port",
        "less than or equal to 65535",
    ),
    (
        "unknown scope prefix",
        POLICY,
        {"identity": "service:Registrar", "enable_outside_access": True},
        "identity",
        "'site:<site name>' or 'tag:<policy name>'",
    ),
    (
        "default routing without route FQDN",
        EDGE,
        {"routing_method": "UseDefaultRouting"},
        "default_route_fqdn",
        "requires default_route_fqdn",
    ),
    (
        "default-route property under DNS SRV routing",
        EDGE,
        {"routing_method": "UseDnsSrvRouting", "is_public_provider": True},
        "is_public_provider",
        "default routing only",
    ),
    (
        "unknown routing method",
        EDGE,
        {"routing_method": "Carrier pigeon"},
        "routing_method",
        "unknown routing method",
    ),
    (
        "property newer than Lync 2013",
        EDGE,
        {"skype_search_url": "https://search.example.com"},
        "skype_search_url",
        "Skype for Business Server 2015",
    ),
    (
        "property that does not exist",
        EDGE,
        {"allow_martians": True},
        "allow_martians",
        "not a parameter of Set-CsAccessEdgeConfiguration in Lync Server 2013",
    ),
    (
        "TLS count out of range",
        EDGE,
        {"outgoing_tls_count_for_federated_partners": 9},
        "outgoing_tls_count_for_federated_partners",
        "less than or equal to 4",
    ),
    (
        "granting the Global policy",
        GRANT,
        {"policy_name": "Global", "users": ["alice@contoso.com"]},
        "policy_name",
        "not a per-user (tag) policy",
    ),
    (
        "a user listed twice",
        GRANT,
        {"policy_name": "tag:OWA", "users": ["alice@contoso.com", "ALICE@contoso.com"]},
        "users",
        "listed twice",
    ),
    (
        "gate poll bounds inverted",
        GATE,
        {"poll_min_seconds": 5, "poll_max_seconds": 1},
        "inputs",
        "poll_max_seconds must not be below poll_min_seconds",
    ),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with ProviderProcess(project=PROJECT) as process:
        yield Engine(process, {})


@pytest.mark.parametrize(
    ("resource", "inputs", "prop", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_bad_input_is_a_check_failure_on_its_property(
    engine: Engine,
    resource: tuple[type[LyncResource], type[LyncProvider]],
    inputs: dict[str, Any],
    prop: str,
    reason: str,
) -> None:
    resource_type, provider = resource
    with pytest.raises(CheckFailedError) as caught:
        engine.preview([declare(resource_type, "bad", provider(), inputs)])
    failures = dict(caught.value.failures)
    assert prop in failures, failures
    assert reason in failures[prop]


def test_all_problems_are_reported_together(engine: Engine) -> None:
    bad = {"identity": "", "proxy_fqdn": "nope", "enabled": "perhaps"}
    with pytest.raises(CheckFailedError) as caught:
        engine.preview([declare(HostingProvider, "bad", HostingProviderProvider(), bad)])
    assert {p for p, _ in caught.value.failures} == {"identity", "proxy_fqdn", "enabled"}


def test_valid_inputs_are_normalized(engine: Engine) -> None:
    inputs = {"identity": "TAG:owa", "enable_outside_access": True}
    declared = declare(ExternalAccessPolicy, "ok", ExternalAccessPolicyProvider(), inputs)
    assert engine.preview([declared]).ops == {"ok": "create"}
    checked = engine.provider.check(engine.urn(declared), {}, dict(declared.inputs)).inputs
    assert checked["identity"] == "Tag:owa"
