"""The reference program's resource graph, per cloud and policy scope, under mocks."""

from __future__ import annotations

import json
import logging
from typing import Any

import certifi
import pulumi
import pytest

from lync_provider import (
    ExternalAccessPolicy,
    ExternalAccessPolicyArgs,
    HostingProvider,
    HostingProviderArgs,
)
from lync_provider.settings import endpoint
from lync_provider.settings.connections import load_connections, lookup_from
from tests.program.mocks import RecordingMonitor, run_program

BASE = {
    "lync:frontEndUrl": "https://pool01.contoso.com/OcsPowershell",
    "lync:edgeUrl": "https://edge01.contoso.com:5986/wsman",
    "lync:username": "CONTOSO\\lyncadmin",
    "lync:password": "Pa$$w0rd-not-in-state",
    "lync:edgePassword": "Edge-Pa$$-not-in-state",
}
CONFIG_TYPES = ("AccessEdgeConfig", "HostingProvider", "ExternalAccessPolicy")


def program(**extra: Any) -> RecordingMonitor:
    config = dict(BASE)
    for key, value in extra.items():
        config[f"lync:{key}"] = json.dumps(value) if isinstance(value, list) else str(value)
    return run_program(config)


@pytest.mark.parametrize(
    ("extra", "proxy"),
    [
        ({}, "exap.um.outlook.com"),
        ({"cloud": "21vianet"}, "exap.um.partner.outlook.cn"),
        ({"cloud": "21vianet", "proxyFqdn": "exap.um.office365.us"}, "exap.um.office365.us"),
    ],
    ids=["worldwide", "21vianet", "override"],
)
def test_every_resource_with_the_documented_values(extra: dict[str, str], proxy: str) -> None:
    monitor = program(**extra)
    types = sorted(r.typ.rsplit(":", 1)[1] for r in monitor.registrations)
    assert types == sorted(
        [
            "AccessEdgeConfig",
            "EdgeVerification",
            "ExchangeOnlineIntegration",
            "ExternalAccessPolicy",
            "HostingProvider",
            "ReplicationGate",
        ]
    )
    assert monitor.one(":AccessEdgeConfig").inputs["allow_federated_users"] is True
    hp = monitor.one(":HostingProvider").inputs
    assert {k: hp[k] for k in hp if not k.startswith("__")} == {
        "identity": "Exchange Online",
        "enabled": True,
        "enabled_shared_address_space": True,
        "hosts_ocs_users": False,
        "proxy_fqdn": proxy,
        "is_local": False,
        "verification_level": "UseSourceVerification",
    }
    policy = monitor.one(":ExternalAccessPolicy").inputs
    assert policy["identity"] == "Global" and policy["enable_outside_access"] is True
    expected = monitor.one(":EdgeVerification").inputs["hosting_providers"][0]
    assert expected["proxy_fqdn"] == proxy


@pytest.mark.parametrize(
    ("scope", "canonical"), [("global", "Global"), ("site:Redmond", "Site:Redmond")]
)
def test_global_and_site_policies_need_no_grant(scope: str, canonical: str) -> None:
    monitor = program(policyIdentity=scope)
    assert monitor.one(":ExternalAccessPolicy").inputs["identity"] == canonical
    assert monitor.by_type(":ExternalAccessPolicyAssignment") == []


def test_a_tag_policy_is_granted_to_its_users() -> None:
    users = ["sip:alice@contoso.com", "CONTOSO\\bob"]
    monitor = program(policyIdentity="tag:OWA-Users", policyUsers=users)
    assert monitor.one(":ExternalAccessPolicy").inputs["identity"] == "Tag:OWA-Users"
    grant = monitor.one(":ExternalAccessPolicyAssignment")
    assert grant.inputs["users"] == users
    assert grant.inputs["policy_name"] == "Tag:OWA-Users"
    assert monitor.one(":ExternalAccessPolicy").urn in grant.dependencies


def test_the_gate_waits_for_every_configuration_resource() -> None:
    monitor = program(policyIdentity="tag:OWA", policyUsers=["alice@contoso.com"])
    gate = monitor.one(":ReplicationGate")
    configuration = [
        monitor.one(f":{t}").urn for t in (*CONFIG_TYPES, "ExternalAccessPolicyAssignment")
    ]
    assert set(configuration) <= set(gate.dependencies)
    # Grants write Active Directory, not the CMS: no snapshot to wait for, only the order.
    assert len(gate.inputs["changed_after"]) == len(CONFIG_TYPES)
    verification = monitor.one(":EdgeVerification")
    assert gate.urn in verification.dependencies


def test_no_credential_among_any_input() -> None:
    monitor = program()
    everything = json.dumps([r.inputs for r in monitor.registrations], default=str)
    for secret in (BASE["lync:password"], BASE["lync:edgePassword"], "CONTOSO\\\\lyncadmin"):
        assert secret not in everything
    assert "pool01.contoso.com" not in everything


def test_verify_edge_off_skips_edge_verification() -> None:
    config = {k: v for k, v in BASE.items() if k != "lync:edgeUrl"}
    config["lync:verifyEdge"] = "false"
    monitor = run_program(config)
    assert monitor.by_type(":EdgeVerification") == []
    assert monitor.by_type(":ReplicationGate")


def test_config_mistakes_stop_the_program_naming_each_key() -> None:
    config = {
        "lync:frontEndUrl": "not a url",
        "lync:username": "CONTOSO\\lyncadmin",
        "lync:cloud": "mars",
        "lync:policyUsers": json.dumps(["alice@contoso.com"]),
        "lync:colour": "blue",
        "lync:serverVersion": "2016",
    }
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program(config)
    text = str(caught.value)
    assert "lync:cloud" in text and "'worldwide' or '21vianet'" in text
    assert "lync:password: not set" in text and "--secret lync:password" in text
    assert "lync:frontEndUrl" in text
    assert "lync:colour: not a key of this project" in text
    assert "lync:edgeUrl: missing" in text
    assert "lync:policyUsers: users can only be granted a tag policy" in text
    assert "lync:serverVersion: '2016' is not a server version" in text


def test_lync_resources_are_replaced_delete_first_unless_the_program_says_otherwise() -> None:
    monitor = program(policyIdentity="tag:OWA", policyUsers=["alice@contoso.com"])
    for typ in (*CONFIG_TYPES, "ExternalAccessPolicyAssignment"):
        assert monitor.one(f":{typ}").delete_before_replace is True, typ

    def explicit() -> None:
        HostingProvider(
            "hp",
            HostingProviderArgs(identity="x", proxy_fqdn="a.b.c", enabled=True),
            opts=pulumi.ResourceOptions(delete_before_replace=False, protect=True),
        )

    assert run_program({}, program=explicit).one(":HostingProvider").delete_before_replace is False


def test_args_classes_accept_outputs_of_other_resources() -> None:
    def program() -> None:
        policy = ExternalAccessPolicy("p", ExternalAccessPolicyArgs(identity="tag:OWA"))
        HostingProvider(
            "hp",
            HostingProviderArgs(
                identity=policy.identity.apply(lambda i: f"for {i}"),
                proxy_fqdn="a.b.c",
                enabled=True,
            ),
        )

    monitor = run_program({}, program=program)
    assert monitor.one(":HostingProvider").inputs["identity"] == "for tag:OWA"


@pytest.mark.parametrize("password", ["[Winter2024!", '["x"]', "[]"])
def test_a_password_that_looks_like_json_is_a_password(password: str) -> None:
    """Only the integration's list keys are JSON; a connection key is text as given."""
    monitor = run_program({**BASE, "lync:password": password})
    assert monitor.by_type(":HostingProvider")


def test_a_list_key_that_is_not_json_is_reported_under_its_key() -> None:
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, "lync:policyIdentity": "tag:OWA", "lync:policyUsers": "[alice"})
    assert "lync:policyUsers: Input should be a valid list" in str(caught.value)


@pytest.mark.parametrize(("key", "url_key"), [("auth", "frontEndUrl"), ("edgeAuth", "edgeUrl")])
def test_a_bad_auth_is_reported_under_its_own_key(key: str, url_key: str) -> None:
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, f"lync:{key}": "kerb"})
    text = str(caught.value)
    assert f"lync:{key}: Input should be 'negotiate'" in text
    assert f"lync:{url_key}" not in text


@pytest.mark.parametrize(
    ("auth", "package"), [("kerberos", "gssapi"), ("credssp", "requests_credssp")]
)
def test_an_auth_whose_library_is_missing_is_a_config_error_under_its_key(
    auth: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pypsrp imports these libraries only at the first connection; without them that was an
    ImportError traceback naming no key."""
    missing = {package}
    monkeypatch.setattr(endpoint, "find_spec", lambda name: None if name in missing else object())
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, "lync:edgeAuth": auth})
    text = str(caught.value)
    assert f"lync:edgeAuth: {auth} needs the Python package {package}" in text
    assert "pypsrp[" in text and "lync:edgeUrl" not in text
    missing.clear()  # installed, the same stack is accepted
    run_program({**BASE, "lync:edgeAuth": auth})


def test_kerberos_on_windows_needs_no_gssapi(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyspnego does Kerberos through SSPI on Windows; gssapi is never installed there."""
    monkeypatch.setattr(endpoint, "find_spec", lambda name: None)
    monkeypatch.setattr(endpoint.sys, "platform", "win32")
    run_program({**BASE, "lync:edgeAuth": "kerberos"})


def test_a_bad_timeout_names_its_key() -> None:
    with pytest.raises(Exception, match=r"lync:operationTimeout: 'soon' is not a number") as err:
        run_program({**BASE, "lync:operationTimeout": "soon"})
    assert "lync:frontEndUrl" not in str(err.value)


def test_every_problem_of_the_connection_keys_is_reported_at_once() -> None:
    config = {**BASE, "lync:operationTimeout": "soon", "lync:connectTimeout": "-1"}
    frontend = load_connections(lookup_from(config, env={}))
    assert frontend.problem == (
        "lync:operationTimeout: 'soon' is not a number of seconds; "
        "lync:connectTimeout: Input should be greater than 0"
    )


def test_basic_over_http_is_refused_in_the_words_of_the_stack_keys() -> None:
    config = {**BASE, "lync:frontEndUrl": "http://pool01.contoso.com/OcsPowershell"}
    problem = load_connections(lookup_from({**config, "lync:auth": "basic"}, env={})).problem
    assert problem is not None and problem.startswith("lync:frontEndUrl: an http:// URL with ")
    assert "set lync:auth to negotiate or ntlm" in problem
    assert "set lync:encryption to never only on purpose" in problem
    assert "encryption='never'" not in problem  # the Python model's words, not the stack's
    # A missing password does not hide it: both are said at once.
    config = {k: v for k, v in config.items() if "assword" not in k}
    both = load_connections(lookup_from({**config, "lync:auth": "basic"}, env={})).problems
    assert [p.split(":")[1] for p in both] == ["password", "frontEndUrl"]


@pytest.mark.parametrize(
    ("left_out", "expected"),
    [
        (
            ("lync:password", "lync:edgePassword"),
            "lync:password: not set, and lync:auth negotiate needs a user name and a password: "
            "run `pulumi config set --secret lync:password` or set LYNC_PASSWORD",
        ),
        (
            ("lync:username",),
            "lync:username: not set, and lync:auth negotiate needs a user name and a password: "
            "run `pulumi config set lync:username` or set LYNC_USERNAME",
        ),
    ],
)
def test_a_missing_credential_is_named_by_its_key(left_out: tuple[str, ...], expected: str) -> None:
    config = {k: v for k, v in BASE.items() if k not in left_out}
    problem = load_connections(lookup_from(config, env={})).problem
    assert problem is not None and problem.split("; ")[0] == expected


@pytest.mark.parametrize(
    ("changes", "keys"),
    [
        (  # a bad URL does not hide a refusal that needs no URL
            {
                "lync:frontEndUrl": "ftp://pool01.contoso.com/OcsPowershell",
                "lync:caBundle": certifi.where(),
                "lync:skipCertificateValidation": "true",
            },
            ["frontEndUrl", "caBundle"],
        ),
        (  # nor does a bad field one of the settings as a whole
            {
                "lync:frontEndUrl": "http://pool01.contoso.com/OcsPowershell",
                "lync:auth": "basic",
                "lync:poolsPerEndpoint": "99",
            },
            ["poolsPerEndpoint", "frontEndUrl"],
        ),
    ],
    ids=["bad-url", "bad-field"],
)
def test_one_problem_does_not_hide_another(changes: dict[str, str], keys: list[str]) -> None:
    config = {k: v for k, v in BASE.items() if k != "lync:edgeUrl"} | changes
    problems = load_connections(lookup_from(config, env={})).problems
    assert [p.split(":")[1] for p in problems] == keys


def test_the_second_look_keeps_what_the_keys_say(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked again without its failed fields, the endpoint keeps the URL's scheme, and a
    method that needs no password is not taken for the default that does."""
    monkeypatch.setattr(endpoint, "find_spec", lambda name: None)  # gssapi missing
    kerberos = {"lync:frontEndUrl": BASE["lync:frontEndUrl"], "lync:auth": "kerberos"}
    [problem] = load_connections(lookup_from(kerberos, env={})).problems
    assert problem.startswith("lync:auth: kerberos needs the Python package gssapi")
    bad_port = {**BASE, "lync:frontEndUrl": "http://fe.contoso.com:99999/OcsPowershell"}
    bad_port = {k: v for k, v in bad_port.items() if k != "lync:edgeUrl"}
    problems = load_connections(lookup_from({**bad_port, "lync:auth": "basic"}, env={})).problems
    assert len(problems) == 2 and "has an invalid port" in problems[0]
    assert problems[1].startswith("lync:frontEndUrl: an http:// URL with lync:auth basic")


def test_a_credential_both_endpoints_lack_is_said_once() -> None:
    config = {
        "lync:frontEndUrl": BASE["lync:frontEndUrl"],
        "lync:edgeUrl": BASE["lync:edgeUrl"],
        "lync:edgeAuth": "ntlm",
    }
    problems = load_connections(lookup_from(config, env={})).problems
    assert [p.split(":")[1] for p in problems] == ["username", "password"]


def test_a_credential_only_the_edge_needs_names_its_own_key_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(endpoint, "find_spec", lambda name: object())  # as if gssapi were there
    config = {
        "lync:frontEndUrl": BASE["lync:frontEndUrl"],
        "lync:auth": "kerberos",  # the front end needs no password
        "lync:username": "CONTOSO\\lyncadmin",
        "lync:edgeUrl": BASE["lync:edgeUrl"],
        "lync:edgeAuth": "ntlm",
    }
    [problem] = load_connections(lookup_from(config, env={})).problems
    assert problem.startswith("lync:password: not set, and lync:edgeAuth ntlm needs")
    assert "(or lync:edgePassword, for this endpoint alone)" in problem


def test_a_bad_encryption_names_its_own_key() -> None:
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, "lync:encryption": "off"})
    text = str(caught.value)
    assert "lync:encryption: Input should be 'auto', 'always' or 'never'" in text
    assert "lync:frontEndUrl" not in text


@pytest.mark.parametrize(("version", "warned"), [("2019", True), ("SE", True), ("2015", False)])
def test_the_program_warns_where_preview_shows_it_when_xmpp_is_gone(
    caplog: pytest.LogCaptureFixture, version: str, warned: bool
) -> None:
    def program() -> None:
        ExternalAccessPolicy("p", identity="tag:Partners", enable_xmpp_access=True)
        ExternalAccessPolicy("q", identity="tag:Other", enable_xmpp_access=False)

    with caplog.at_level(logging.WARNING):
        run_program({"lync:serverVersion": version}, program=program)
    xmpp = [r.getMessage() for r in caplog.records if "XMPP federation" in r.getMessage()]
    assert len(xmpp) == (1 if warned else 0)


def test_edge_verification_has_its_timeout_key_and_reruns_on_every_write() -> None:
    monitor = program(edgeVerificationTimeoutSeconds=45)
    verification = monitor.one(":EdgeVerification").inputs
    assert verification["timeout_seconds"] == 45
    # Triggered by each replicated resource's changed_at: a drift fix re-verifies the Edge.
    assert len(verification["triggers"]) == len(CONFIG_TYPES)


@pytest.mark.parametrize("typo", ["site", "Tag", "global:Redmond"])
def test_a_scope_word_without_its_name_is_refused_not_made_a_tag(typo: str) -> None:
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, "lync:policyIdentity": typo})
    text = str(caught.value)
    assert f"lync:policyIdentity: {typo!r} would be read as a per-user (tag) policy" in text


def test_a_bad_policy_identity_is_reported_alone_not_with_a_policy_users_echo() -> None:
    config = {
        **BASE,
        "lync:policyIdentity": "forest:x",
        "lync:policyUsers": json.dumps(["alice@contoso.com"]),
    }
    with pytest.raises(Exception, match="lync:policyIdentity") as caught:
        run_program(config)
    assert "lync:policyUsers" not in str(caught.value)


def test_a_missing_ca_bundle_is_a_config_error_naming_the_key(tmp_path: Any) -> None:
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(Exception, match="lync:caBundle") as caught:
        run_program({**BASE, "lync:caBundle": str(missing)})
    assert "is not a file" in str(caught.value) and "firewall" not in str(caught.value)


def test_a_ca_bundle_without_a_certificate_is_a_config_error_naming_the_key(
    tmp_path: Any,
) -> None:
    not_pem = tmp_path / "ca.cer"
    not_pem.write_bytes(b"\x30\x82\x01\x0a binary DER, not PEM")
    with pytest.raises(Exception, match="stack configuration has problems") as caught:
        run_program({**BASE, "lync:caBundle": str(not_pem)})
    text = str(caught.value)
    assert "lync:caBundle: " in text and "holds no PEM certificate" in text
    assert "lync:frontEndUrl" not in text


def test_the_connection_keys_reach_the_endpoint_settings() -> None:
    config = {
        f"lync:{k}": v
        for k, v in {
            "frontEndUrl": BASE["lync:frontEndUrl"],
            "username": "CONTOSO\\lyncadmin",
            "password": "x",
            "poolsPerEndpoint": "2",
            "batchSize": "25",
            "connectTimeout": "7",
            "operationTimeout": "9",
        }.items()
    }
    frontend = load_connections(lookup_from(config, env={})).require_frontend()
    assert (frontend.max_pools, frontend.connect_timeout, frontend.operation_timeout) == (2, 7, 9)
    assert frontend.batch_size == 25
    for key, bad_value in (("poolsPerEndpoint", "99"), ("batchSize", "0")):
        bad = load_connections(lookup_from({**config, f"lync:{key}": bad_value}, env={}))
        assert bad.problem is not None and bad.problem.startswith(f"lync:{key}: "), bad.problem
