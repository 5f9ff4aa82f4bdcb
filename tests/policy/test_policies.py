"""Each guardrail on resource-like args built as pulumi-policy's analyzer builds them: the
inputs that pass, the ones that must be reported, and the config that changes the verdict."""

from __future__ import annotations

from typing import Any

import pytest
from lync_guardrails.policies import (
    validate_anonymous_users,
    validate_is_local,
    validate_outside_access,
    validate_proxy_fqdn,
    validate_verification_level,
)
from lync_guardrails.resources import (
    ACCESS_EDGE_CONFIG,
    EXTERNAL_ACCESS_POLICY,
    EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
    HOSTING_PROVIDER,
    INTEGRATION,
)
from pulumi_policy.proxy import UnknownValueError

from tests.policy.support import (
    UNKNOWN,
    Violations,
    resource_args,
    stack_args,
    stack_resource,
)

EXCHANGE_ONLINE = {
    "identity": "Exchange Online",
    "proxy_fqdn": "exap.um.outlook.com",
    "enabled": True,
    "enabled_shared_address_space": True,
    "hosts_ocs_users": False,
    "is_local": False,
    "verification_level": "UseSourceVerification",
}


def run(validate: Any, args: Any) -> Violations:
    report = Violations()
    validate(args, report)
    return report


# -- lync-hosting-provider-not-always-unverifiable -----------------------------------------


@pytest.mark.parametrize(
    "level", ["AlwaysUnverifiable", "alwaysunverifiable", " ALWAYSUNVERIFIABLE "]
)
def test_always_unverifiable_hosting_provider_is_reported(level: str) -> None:
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "verification_level": level})
    report = run(validate_verification_level, args)
    [message] = report.messages
    assert "'Exchange Online'" in message
    assert "AlwaysUnverifiable" in message
    assert "UseSourceVerification" in message


@pytest.mark.parametrize("level", ["UseSourceVerification", "AlwaysVerifiable", None])
def test_other_verification_levels_pass(level: str | None) -> None:
    props = {**EXCHANGE_ONLINE, "verification_level": level}
    if level is None:
        del props["verification_level"]
    assert run(validate_verification_level, resource_args(HOSTING_PROVIDER, props)).reports == []


def test_verification_level_of_other_kinds_is_not_this_policys_business() -> None:
    """AccessEdgeConfig has a verification_level of its own (default routing)."""
    args = resource_args(
        ACCESS_EDGE_CONFIG,
        {"routing_method": "UseDefaultRouting", "verification_level": "AlwaysUnverifiable"},
    )
    assert run(validate_verification_level, args).reports == []


# -- lync-anonymous-users-only-when-allowed ------------------------------------------------


@pytest.mark.parametrize("value", [True, "true", "Yes", 1])
@pytest.mark.parametrize("config", [None, {"allowAnonymousUsers": False}])
def test_anonymous_users_are_reported_unless_allowed(
    value: object, config: dict[str, Any] | None
) -> None:
    args = resource_args(
        ACCESS_EDGE_CONFIG,
        {"allow_federated_users": True, "allow_anonymous_users": value},
        name="exchange-online-access-edge",
        config=config,
    )
    [message] = run(validate_anonymous_users, args).messages
    assert "'exchange-online-access-edge'" in message
    assert "allow_anonymous_users=True" in message
    assert '"allowAnonymousUsers": true' in message


def test_anonymous_users_pass_when_the_config_allows_them() -> None:
    args = resource_args(
        ACCESS_EDGE_CONFIG,
        {"allow_anonymous_users": True},
        config={"allowAnonymousUsers": True},
    )
    assert run(validate_anonymous_users, args).reports == []


@pytest.mark.parametrize(
    "props", [{"allow_federated_users": True}, {"allow_anonymous_users": False}]
)
def test_no_anonymous_users_passes(props: dict[str, Any]) -> None:
    assert run(validate_anonymous_users, resource_args(ACCESS_EDGE_CONFIG, props)).reports == []


def test_anonymous_users_policy_looks_only_at_the_access_edge_configuration() -> None:
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "allow_anonymous_users": True})
    assert run(validate_anonymous_users, args).reports == []


# -- lync-exchange-online-proxy-fqdn -------------------------------------------------------


@pytest.mark.parametrize(
    "proxy", ["exap.um.outlook.com", "exap.um.partner.outlook.cn", "EXAP.UM.Outlook.com."]
)
def test_documented_proxy_fqdns_pass(proxy: str) -> None:
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "proxy_fqdn": proxy})
    assert run(validate_proxy_fqdn, args).reports == []


@pytest.mark.parametrize(
    ("identity", "proxy", "parents"),
    [
        # Microsoft's identity, a typo in the FQDN.
        ("Exchange Online", "exap.um.outlok.com", ()),
        # Lync compares identities without regard to case.
        (" exchange online ", "sip.contoso.com", ()),
        # Another identity, but an Exchange UM FQDN that is not one of the two.
        ("Office 365 GCC", "exap.um.office365.us", ()),
        ("Legacy UM", "um.outlook.com", ()),
        # The component's provider renamed by lync:hostingProviderIdentity: its URN says.
        ("EXO (contoso)", "sip.contoso.com", (INTEGRATION,)),
    ],
)
def test_exchange_online_provider_with_another_proxy_fqdn_is_reported(
    identity: str, proxy: str, parents: tuple[str, ...]
) -> None:
    args = resource_args(
        HOSTING_PROVIDER,
        {**EXCHANGE_ONLINE, "identity": identity, "proxy_fqdn": proxy},
        name="exchange-online-hosting-provider",
        parent_types=parents,
    )
    [message] = run(validate_proxy_fqdn, args).messages
    assert repr(proxy) in message
    assert "exap.um.outlook.com" in message
    assert "exap.um.partner.outlook.cn" in message


def test_a_federation_partner_is_not_the_exchange_online_provider() -> None:
    args = resource_args(
        HOSTING_PROVIDER,
        {"identity": "fabrikam.com", "proxy_fqdn": "sip.fabrikam.com", "enabled": True},
    )
    assert run(validate_proxy_fqdn, args).reports == []


def test_configured_identities_mark_the_exchange_online_provider() -> None:
    props = {**EXCHANGE_ONLINE, "identity": "EXO", "proxy_fqdn": "sip.contoso.com"}
    default = resource_args(HOSTING_PROVIDER, props)
    configured = resource_args(
        HOSTING_PROVIDER, props, config={"exchangeOnlineIdentities": ["Exchange Online", "exo"]}
    )
    assert run(validate_proxy_fqdn, default).reports == []
    assert len(run(validate_proxy_fqdn, configured).reports) == 1


def test_additional_proxy_fqdns_from_the_config_pass() -> None:
    props = {**EXCHANGE_ONLINE, "proxy_fqdn": "exap.um.office365.us"}
    assert len(run(validate_proxy_fqdn, resource_args(HOSTING_PROVIDER, props)).reports) == 1
    allowed = resource_args(
        HOSTING_PROVIDER, props, config={"additionalProxyFqdns": ["EXAP.um.office365.us"]}
    )
    assert run(validate_proxy_fqdn, allowed).reports == []


def test_an_unknown_proxy_fqdn_is_left_to_pulumi_policy_during_preview() -> None:
    """pulumi-policy turns the error into its "can't run policy during preview" note."""
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "proxy_fqdn": UNKNOWN})
    with pytest.raises(UnknownValueError):
        run(validate_proxy_fqdn, args)


# -- lync-granted-policy-allows-outside-access ---------------------------------------------


def granted(policy_name: object, outside: object, *, identity: str = "Tag:OWA-RemoteAccess"):
    """A stack with one tag policy and an assignment of ``policy_name``, both children of
    the component (as ExchangeOnlineIntegration declares them)."""
    policy_props: dict[str, Any] = {"identity": identity}
    if outside is not None:
        policy_props["enable_outside_access"] = outside
    policy = stack_resource(
        EXTERNAL_ACCESS_POLICY,
        policy_props,
        name="exchange-online-external-access-policy",
        parent_types=(INTEGRATION,),
    )
    assignment = stack_resource(
        EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
        {"policy_name": policy_name, "users": ["sip:alice@contoso.com"]},
        name="exchange-online-policy-assignment",
        parent_types=(INTEGRATION,),
        property_dependencies={"policy_name": [policy]},
    )
    return policy, assignment


@pytest.mark.parametrize(
    "name", ["Tag:OWA-RemoteAccess", "tag:owa-remoteaccess", "OWA-RemoteAccess"]
)
def test_granted_policy_with_outside_access_passes(name: str) -> None:
    policy, assignment = granted(name, True)
    assert run(validate_outside_access, stack_args([policy, assignment])).reports == []


@pytest.mark.parametrize("outside", [False, "false", None])
def test_granted_policy_without_outside_access_is_reported(outside: object) -> None:
    policy, assignment = granted("owa-remoteaccess", outside)
    report = run(validate_outside_access, stack_args([policy, assignment]))
    [message] = report.messages
    assert report.urns == [policy.urn]
    assert "'Tag:OWA-RemoteAccess'" in message
    assert "enable_outside_access=True" in message


def test_a_policy_granted_outside_the_component_is_checked_too() -> None:
    policy = stack_resource(EXTERNAL_ACCESS_POLICY, {"identity": "Tag:Pilot"}, name="pilot")
    other = stack_resource(
        EXTERNAL_ACCESS_POLICY,
        {"identity": "Tag:Unrelated", "enable_outside_access": False},
        name="unrelated",
    )
    assignment = stack_resource(
        EXTERNAL_ACCESS_POLICY_ASSIGNMENT, {"policy_name": "pilot", "users": ["bob"]}, name="a"
    )
    report = run(validate_outside_access, stack_args([policy, other, assignment]))
    assert report.urns == [policy.urn]
    assert "granted by 'a'" in report.messages[0]


def test_the_component_policy_is_checked_without_an_assignment() -> None:
    """Global (the default) and site policies apply without a grant."""
    policy = stack_resource(
        EXTERNAL_ACCESS_POLICY,
        {"identity": "Global", "enable_outside_access": False},
        name="exchange-online-external-access-policy",
        parent_types=(INTEGRATION,),
    )
    assert run(validate_outside_access, stack_args([policy])).urns == [policy.urn]
    fixed = stack_resource(
        EXTERNAL_ACCESS_POLICY,
        {"identity": "Global", "enable_outside_access": True},
        parent_types=(INTEGRATION,),
    )
    assert run(validate_outside_access, stack_args([fixed])).reports == []


def test_an_ungranted_policy_outside_the_component_is_not_checked() -> None:
    policy = stack_resource(
        EXTERNAL_ACCESS_POLICY, {"identity": "Tag:Contractors", "enable_outside_access": False}
    )
    assert run(validate_outside_access, stack_args([policy])).reports == []


def test_granting_a_policy_the_stack_does_not_declare_is_reported() -> None:
    assignment = stack_resource(
        EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
        {"policy_name": "Tag:Elsewhere", "users": ["bob"]},
        name="grant-elsewhere",
    )
    report = run(validate_outside_access, stack_args([assignment]))
    assert report.urns == [assignment.urn]
    assert "'Tag:Elsewhere'" in report.messages[0]


@pytest.mark.parametrize(("outside", "violations"), [(True, 0), (False, 1)])
def test_an_unknown_policy_name_follows_its_dependency(outside: bool, violations: int) -> None:
    """First preview: policy_name is the policy's identity output, not known yet; the
    engine still says which resource it comes from."""
    policy, assignment = granted(UNKNOWN, outside, identity="Tag:Renamed")
    report = run(validate_outside_access, stack_args([policy, assignment]))
    assert len(report.reports) == violations


def test_an_unknown_policy_name_without_a_dependency_is_left_to_pulumi_policy() -> None:
    assignment = stack_resource(
        EXTERNAL_ACCESS_POLICY_ASSIGNMENT, {"policy_name": UNKNOWN, "users": ["bob"]}
    )
    with pytest.raises(UnknownValueError):
        run(validate_outside_access, stack_args([assignment]))


# -- lync-local-hosting-provider-only-in-lab -----------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "prod-cn", "dev", "acme/lync/prod", None])
@pytest.mark.parametrize("value", [True, "True", 1])
def test_local_hosting_provider_outside_a_lab_is_reported(
    monkeypatch: pytest.MonkeyPatch, stack: str | None, value: object
) -> None:
    if stack is None:
        monkeypatch.delenv("PULUMI_STACK", raising=False)
    else:
        monkeypatch.setenv("PULUMI_STACK", stack)
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "is_local": value})
    [message] = run(validate_is_local, args).messages
    assert "is_local=False" in message
    assert (repr(stack) if stack else "did not name") in message
    assert "local;" in message  # the lab stacks it would be allowed in


@pytest.mark.parametrize("stack", ["local", "acme/lync/local"])
def test_local_hosting_provider_in_a_lab_passes(
    monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    monkeypatch.setenv("PULUMI_STACK", stack)
    args = resource_args(HOSTING_PROVIDER, {**EXCHANGE_ONLINE, "is_local": True})
    assert run(validate_is_local, args).reports == []


def test_lab_stacks_come_from_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    props = {**EXCHANGE_ONLINE, "is_local": True}
    monkeypatch.setenv("PULUMI_STACK", "local")
    no_labs = resource_args(HOSTING_PROVIDER, props, config={"labStacks": []})
    assert len(run(validate_is_local, no_labs).reports) == 1
    monkeypatch.setenv("PULUMI_STACK", "lab-2")
    labs = {"labStacks": ["lab-1", "lab-2"]}
    assert run(validate_is_local, resource_args(HOSTING_PROVIDER, props, config=labs)).reports == []


@pytest.mark.parametrize("value", [False, "false", None])
def test_a_provider_that_is_not_local_passes_anywhere(
    monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")
    props = {**EXCHANGE_ONLINE, "is_local": value}
    if value is None:
        del props["is_local"]
    assert run(validate_is_local, resource_args(HOSTING_PROVIDER, props)).reports == []
