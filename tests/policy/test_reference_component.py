"""ExchangeOnlineIntegration under ``pulumi.runtime.set_mocks``, its registrations handed to
the pack as the engine hands them over: this is where the type tokens, URNs and snake_case
inputs the policies rely on are seen coming from the real SDK, not written by hand.

What the engine does between the two is reproduced: ``__provider`` is dropped (it marshals
properties for analyzers with ``SkipInternalKeys``), the rest goes through a Struct.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from lync_guardrails import POLICIES
from lync_guardrails.resources import (
    ACCESS_EDGE_CONFIG,
    EXTERNAL_ACCESS_POLICY,
    EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
    HOSTING_PROVIDER,
    INTEGRATION,
)
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import ROOT
from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from lync_provider import ExchangeOnlineIntegration, ExchangeOnlineIntegrationArgs
from tests.policy.support import Violations, engine_props, options


@dataclass
class Registered:
    typ: str
    name: str
    urn: str
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]]
    outputs: dict[str, Any] = field(default_factory=dict)


class Echo(pulumi.runtime.Mocks):
    """Outputs are the inputs, as a create's read-back of the declared values gives."""

    def __init__(self) -> None:
        self.outputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = {k: v for k, v in args.inputs.items() if k != "__provider"}
        self.outputs[args.name] = outputs
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


class Recorder(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: Echo) -> None:
        super().__init__(mocks)
        self.echo = mocks
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    typ=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=rpc.deserialize_properties(request.object, keep_internal=True),
                    property_dependencies={
                        k: list(v.urns) for k, v in request.propertyDependencies.items()
                    },
                )
            )
        return response


def declare(args: ExchangeOnlineIntegrationArgs) -> list[Registered]:
    echo = Echo()
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = Recorder(echo)
    ROOT.set(None)
    pulumi.runtime.set_mocks(echo, project="lync", stack="prod", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config({})

    @pulumi.runtime.test
    def program() -> None:
        ExchangeOnlineIntegration("exchange-online", args)

    program()
    for registered in monitor.registered:
        registered.outputs = echo.outputs.get(registered.name, {})
    return monitor.registered


def analyzer_view(props: dict[str, Any]) -> Any:
    return engine_props({k: v for k, v in props.items() if not k.startswith("__")})


def run_pack(registered: list[Registered]) -> list[tuple[str, str]]:
    """(policy name, message) for every violation the pack's policies report."""
    found: list[tuple[str, str]] = []
    resources = {
        r.urn: PolicyResource(
            r.typ, analyzer_view(r.outputs), r.urn, r.name, options(), None, None, [], {}
        )
        for r in registered
    }
    for r in registered:
        resources[r.urn].property_dependencies = {
            k: [resources[u] for u in urns if u in resources]
            for k, urns in r.property_dependencies.items()
        }
    for policy in POLICIES:
        report = Violations()
        if isinstance(policy, ResourceValidationPolicy):
            for r in registered:
                args = ResourceValidationArgs(
                    r.typ, analyzer_view(r.inputs), r.urn, r.name, options(), None
                )
                policy.validate(args, report)
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(list(resources.values())), report)
        found += [(policy.name, message) for message in report.messages]
    return found


TAG = ExchangeOnlineIntegrationArgs(
    policy_identity="tag:OWA-RemoteAccess", policy_users=["sip:alice@contoso.com"]
)
GLOBAL_21VIANET = ExchangeOnlineIntegrationArgs(cloud="21vianet")


@pytest.fixture(autouse=True)
def _production_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_STACK", "prod")


def test_each_kind_registers_its_own_type_token_with_snake_case_inputs() -> None:
    by_type = {r.typ: r for r in declare(TAG)}
    assert {
        ACCESS_EDGE_CONFIG,
        HOSTING_PROVIDER,
        EXTERNAL_ACCESS_POLICY,
        EXTERNAL_ACCESS_POLICY_ASSIGNMENT,
        INTEGRATION,
    } <= set(by_type)
    hosting = by_type[HOSTING_PROVIDER]
    assert {"proxy_fqdn", "is_local", "verification_level"} <= set(hosting.inputs)
    assert f"::{INTEGRATION}${HOSTING_PROVIDER}::" in hosting.urn
    assignment = by_type[EXTERNAL_ACCESS_POLICY_ASSIGNMENT]
    assert assignment.property_dependencies["policy_name"] == [by_type[EXTERNAL_ACCESS_POLICY].urn]


@pytest.mark.parametrize("args", [TAG, GLOBAL_21VIANET], ids=["tag-worldwide", "global-21vianet"])
def test_the_reference_configuration_passes_every_policy(
    args: ExchangeOnlineIntegrationArgs,
) -> None:
    assert run_pack(declare(args)) == []


def test_the_components_provider_is_recognised_by_its_parent_whatever_its_name() -> None:
    """Neither the identity nor the FQDN gives it away; the URN does."""
    args = ExchangeOnlineIntegrationArgs(
        hosting_provider_identity="Contoso EXO", proxy_fqdn="sip.contoso.com"
    )
    [(policy, message)] = run_pack(declare(args))
    assert policy == "lync-exchange-online-proxy-fqdn"
    assert "'Contoso EXO'" in message
    assert "'sip.contoso.com'" in message
