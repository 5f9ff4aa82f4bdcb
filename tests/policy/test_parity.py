"""The pack imports nothing from lync_provider, so what it copies must agree with the product:
type tokens, input names, the policy identity rule, and how check reads booleans and
enumerations. Each test fails when one side changes without the other."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from lync_guardrails import resources as pack
from pydantic import TypeAdapter, ValidationError

from lync_provider import (
    AccessEdgeConfig,
    AccessEdgeConfigArgs,
    ExternalAccessPolicy,
    ExternalAccessPolicyArgs,
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentArgs,
    HostingProvider,
    HostingProviderArgs,
)
from lync_provider.lync.identities import IdentityError, canonical_policy_identity
from lync_provider.resources.types import VerificationLevel


@pytest.mark.parametrize(
    ("cls", "token"),
    [
        (AccessEdgeConfig, pack.ACCESS_EDGE_CONFIG),
        (HostingProvider, pack.HOSTING_PROVIDER),
        (ExternalAccessPolicy, pack.EXTERNAL_ACCESS_POLICY),
        (ExternalAccessPolicyAssignment, pack.EXTERNAL_ACCESS_POLICY_ASSIGNMENT),
    ],
)
def test_type_tokens_are_the_ones_the_sdk_registers(cls: Any, token: str) -> None:
    """pulumi.dynamic.Resource registers ``f"pulumi-python:{cls._resource_type_name}"``."""
    assert f"pulumi-python:{cls._resource_type_name}" == token


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (HostingProviderArgs, {"identity", "proxy_fqdn", "is_local", "verification_level"}),
        (AccessEdgeConfigArgs, {"allow_anonymous_users"}),
        (ExternalAccessPolicyArgs, {"identity", "enable_outside_access"}),
        (ExternalAccessPolicyAssignmentArgs, {"policy_name"}),
    ],
)
def test_the_inputs_the_policies_read_exist(args: Any, names: set[str]) -> None:
    assert names <= {f.name for f in dataclasses.fields(args)}


@pytest.mark.parametrize(
    "identity",
    [
        "Global",
        "global",
        " GLOBAL ",
        "site:Redmond",
        "Site:redmond",
        "tag:OWA",
        "TAG:OWA",
        "OWA",
        " OWA-RemoteAccess ",
        "tag:a:b",
        "service:x",
        "tag:",
        "site:",
        ":x",
    ],
)
def test_policy_identities_canonicalise_as_lync_provider_does(identity: str) -> None:
    try:
        expected: str | None = canonical_policy_identity(identity)
    except IdentityError:
        expected = None
    assert pack.canonical_policy_identity(identity) == expected


BOOLEANS = [
    True,
    False,
    1,
    0,
    1.0,
    0.0,
    2,
    0.5,
    "true",
    "TRUE",
    "True",
    "yes",
    "Y",
    "on",
    "1",
    "t",
    "false",
    "No",
    "off",
    "0",
    "f",
    "n",
    " true",
    "2",
    "",
    "maybe",
    None,
]


@pytest.mark.parametrize("value", BOOLEANS)
def test_booleans_read_as_the_providers_check_reads_them(value: object) -> None:
    """Specs are pydantic models in lax mode: ``"TRUE"`` or ``1`` is True there too."""
    try:
        expected: bool | None = TypeAdapter(bool).validate_python(value)
    except ValidationError:
        expected = None
    assert pack.as_bool(value) is expected


@pytest.mark.parametrize(
    "value",
    [
        "AlwaysUnverifiable",
        "alwaysunverifiable",
        "  AlwaysUnverifiable\t",
        "AlwaysVerifiable",
        "UseSourceVerification",
        "Always Unverifiable",
    ],
)
def test_verification_levels_match_as_the_providers_check_matches_them(value: str) -> None:
    try:
        read = TypeAdapter(VerificationLevel).validate_python(value)
    except ValidationError:
        read = None
    assert pack.same_word(value, "AlwaysUnverifiable") is (read == "AlwaysUnverifiable")
