"""`check`: every bad input comes back as a CheckFailure on its property, before any call.

Driven through the real provider process (what `pulumi preview` does first), with no server
at all: validation must not need one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
        "not a parameter of Set-CsAccessEdgeConfiguration on Lync Server 2013",
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


@pytest.fixture(scope="module")
def versioned() -> Iterator[Callable[[str | None], Engine]]:
    """An engine whose stack sets lync:serverVersion (None: unset). One provider process per
    value: the SDK configures a provider once per process, as one process serves one stack."""
    processes: dict[str | None, ProviderProcess] = {}

    def engine(version: str | None) -> Engine:
        if version not in processes:
            processes[version] = ProviderProcess(project=PROJECT).__enter__()
        config = {"lync:serverVersion": version} if version is not None else {}
        return Engine(processes[version], config)

    yield engine
    for process in processes.values():
        process.stop()


def edge_preview(engine: Engine, **inputs: Any) -> None:
    engine.preview([declare(AccessEdgeConfig, "edge", AccessEdgeConfigProvider(), inputs)])


@pytest.mark.parametrize("version", ["2015", "2019", "SE"])
def test_skype_for_business_parameters_pass_check_from_2015_on(
    versioned: Callable[[str | None], Engine], version: str
) -> None:
    edge_preview(
        versioned(version),
        dns_srv_cache_record_count=50,
        skype_search_url="https://skypegraph.skype.com/search/v1.0/",
    )


@pytest.mark.parametrize("version", [None, "2013"])
def test_skype_for_business_parameters_are_refused_on_lync_2013_naming_key_and_version(
    versioned: Callable[[str | None], Engine], version: str | None
) -> None:
    with pytest.raises(CheckFailedError) as caught:
        edge_preview(versioned(version), dns_srv_cache_record_count=50, allow_federated_users=True)
    failures = dict(caught.value.failures)
    assert set(failures) == {"dns_srv_cache_record_count"}
    reason = failures["dns_srv_cache_record_count"]
    assert "DnsSrvCacheRecordCount" in reason and "Skype for Business Server 2015" in reason
    assert "lync:serverVersion 2013" in reason and "Lync Server 2013" in reason


def test_an_unknown_server_version_is_a_check_failure_naming_the_key(
    versioned: Callable[[str | None], Engine],
) -> None:
    with pytest.raises(CheckFailedError) as caught:
        edge_preview(versioned("2012"), allow_federated_users=True)
    [(prop, reason)] = caught.value.failures
    assert prop == "serverVersion"
    assert "lync:serverVersion" in reason and "2012" in reason and "2019" in reason


@pytest.mark.parametrize(
    ("version", "inputs", "warned"),
    [
        ("2019", {"enable_xmpp_access": True}, "XMPP federation was removed"),
        ("SE", {"enable_xmpp_access": True}, "XMPP federation was removed"),
        ("2013", {"enable_public_cloud_access": True}, "public IM connectivity service has ended"),
    ],
)
def test_retired_features_are_accepted_with_a_warning(
    versioned: Callable[[str | None], Engine], version: str, inputs: dict[str, Any], warned: str
) -> None:
    engine = versioned(version)
    before = engine.provider.stderr.count(warned)
    declared = declare(
        ExternalAccessPolicy, "p", ExternalAccessPolicyProvider(), {"identity": "tag:x", **inputs}
    )
    assert engine.preview([declared]).ops == {"p": "create"}
    assert engine.provider.stderr.count(warned) == before + 1


def test_xmpp_on_lync_2013_is_not_warned_about(versioned: Callable[[str | None], Engine]) -> None:
    engine = versioned("2013")
    inputs = {"identity": "tag:x", "enable_xmpp_access": True}
    engine.preview([declare(ExternalAccessPolicy, "p", ExternalAccessPolicyProvider(), inputs)])
    assert "XMPP" not in engine.provider.stderr
