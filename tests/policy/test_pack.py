"""policy/ started the way the Pulumi CLI starts a Python policy pack, and spoken to over the
analyzer gRPC protocol the way the engine speaks to it.

The CLI's ``pulumi-analyzer-policy-python`` shim runs ``<virtualenv>/bin/python -u -m
pulumi.policy <engine> .`` in the pack's directory, with the virtualenv PulumiPolicy.yaml
names and PULUMI_PROJECT / PULUMI_STACK / PULUMI_DRY_RUN in the environment; the pack prints
its port. The engine then asks GetAnalyzerInfo, sends Configure with the pack config
(the policies' schema defaults overlaid with ``--policy-pack-config``), and Analyze /
AnalyzeStack with properties marshalled into a Struct.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tests.policy.support import POLICY_DIR, urn

# Every policy of the pack, as docs/_readme_guardrails_ci.md and policies.py document it:
# name -> (enforcement level, resource or stack policy, config properties).
DOCUMENTED = {
    "lync-hosting-provider-not-always-unverifiable": ("ADVISORY", "RESOURCE", set()),
    "lync-anonymous-users-only-when-allowed": ("MANDATORY", "RESOURCE", {"allowAnonymousUsers"}),
    "lync-exchange-online-proxy-fqdn": (
        "MANDATORY",
        "RESOURCE",
        {"exchangeOnlineIdentities", "additionalProxyFqdns"},
    ),
    "lync-granted-policy-allows-outside-access": ("ADVISORY", "STACK", set()),
    "lync-local-hosting-provider-only-in-lab": ("MANDATORY", "RESOURCE", {"labStacks"}),
}
HOSTING_PROVIDER = "pulumi-python:dynamic/lync:HostingProvider"
LOCAL_PROVIDER = {
    "identity": "Exchange Online",
    "proxy_fqdn": "exap.um.outlook.com",
    "enabled": True,
    "is_local": True,
    "verification_level": "UseSourceVerification",
}


def pack_python() -> Path:
    """The interpreter the CLI's shim would run: PulumiPolicy.yaml's virtualenv."""
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "python"
    venv = (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve()
    python = venv / "bin" / "python"
    assert python.is_file(), f"PulumiPolicy.yaml names {venv}, which has no bin/python"
    return python


@dataclass
class Pack:
    stub: analyzer_pb2_grpc.AnalyzerStub
    info: Any

    def configure(self, file_config: Mapping[str, Any] | None = None) -> None:
        self.stub.Configure(configure_request(self.info, file_config or {}))

    def analyze(self, typ: str, props: Mapping[str, Any], name: str = "r") -> list[Any]:
        request = analyzer_pb2.AnalyzeRequest(
            type=typ, urn=urn(typ, name), name=name, properties=struct(props)
        )
        return list(self.stub.Analyze(request).diagnostics)


def struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    value = struct_pb2.Struct()
    value.update(dict(props))
    return value


def configure_request(info: Any, file_config: Mapping[str, Any]) -> Any:
    """What the engine sends: each policy's schema defaults and level, then the file's
    values on top (``ReconcilePolicyPackConfig`` in pulumi's pkg/resource/analyzer)."""
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema.properties)
        properties = {k: v["default"] for k, v in schema.items() if "default" in v}
        level = policy.enforcementLevel
        given = file_config.get(policy.name)
        if isinstance(given, str):
            level = analyzer_pb2.EnforcementLevel.Value(given.upper())
        elif isinstance(given, dict):
            given = dict(given)
            if "enforcementLevel" in given:
                level = analyzer_pb2.EnforcementLevel.Value(given.pop("enforcementLevel").upper())
            properties.update(given)
        request.policyConfig[policy.name].CopyFrom(
            analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct(properties))
        )
    return request


def start(stack: str | None) -> Iterator[Pack]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update({"PULUMI_PROJECT": "lync", "PULUMI_DRY_RUN": "true"})
    if stack is not None:
        env["PULUMI_STACK"] = stack
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [str(pack_python()), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
            cwd=POLICY_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                ready = selector.select(timeout=60)
            line = process.stdout.readline() if ready else b""
            if not line.strip().isdigit():
                process.kill()
                process.wait(timeout=10)
                stderr.seek(0)
                output = stderr.read().decode(errors="replace")[-2000:]
                pytest.fail(f"the policy pack did not start: {line!r}\n{output}")
            channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            yield Pack(stub, stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30))
            channel.close()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            process.stdout.close()


@pytest.fixture(scope="module")
def prod_pack() -> Iterator[Pack]:
    yield from start("prod")


@pytest.fixture(scope="module")
def local_pack() -> Iterator[Pack]:
    yield from start("local")


def test_the_pack_holds_exactly_the_documented_policies(prod_pack: Pack) -> None:
    info = prod_pack.info
    assert info.name == "lync-guardrails"
    served = {
        p.name: (
            analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel),
            analyzer_pb2.PolicyType.Name(p.policy_type).removeprefix("POLICY_TYPE_"),
            set(json_format.MessageToDict(p.configSchema.properties)),
        )
        for p in info.policies
    }
    assert served == DOCUMENTED
    assert all(p.description for p in info.policies)


def test_is_local_is_mandatory_outside_the_lab_stack(prod_pack: Pack, local_pack: Pack) -> None:
    """The stack name reaches the pack only through PULUMI_STACK in its environment."""
    prod_pack.configure()
    [diagnostic] = prod_pack.analyze(HOSTING_PROVIDER, LOCAL_PROVIDER)
    assert diagnostic.policyName == "lync-local-hosting-provider-only-in-lab"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert "stack 'prod'" in diagnostic.message
    local_pack.configure()
    assert local_pack.analyze(HOSTING_PROVIDER, LOCAL_PROVIDER) == []


def test_pack_config_changes_levels_and_values(prod_pack: Pack) -> None:
    unverifiable = {**LOCAL_PROVIDER, "is_local": False, "verification_level": "AlwaysUnverifiable"}
    prod_pack.configure()
    [advisory] = prod_pack.analyze(HOSTING_PROVIDER, unverifiable)
    assert advisory.enforcementLevel == analyzer_pb2.ADVISORY
    prod_pack.configure(json.loads((POLICY_DIR / "config" / "prod.json").read_text()))
    [mandatory] = prod_pack.analyze(HOSTING_PROVIDER, unverifiable)
    assert mandatory.policyName == "lync-hosting-provider-not-always-unverifiable"
    assert mandatory.enforcementLevel == analyzer_pb2.MANDATORY

    anonymous = {"allow_federated_users": True, "allow_anonymous_users": True}
    edge = "pulumi-python:dynamic/lync:AccessEdgeConfig"
    assert [d.policyName for d in prod_pack.analyze(edge, anonymous)] == [
        "lync-anonymous-users-only-when-allowed"
    ]
    prod_pack.configure({"lync-anonymous-users-only-when-allowed": {"allowAnonymousUsers": True}})
    assert prod_pack.analyze(edge, anonymous) == []


def test_the_stack_policy_answers_analyze_stack(prod_pack: Pack) -> None:
    prod_pack.configure()
    policy_type = "pulumi-python:dynamic/lync:ExternalAccessPolicy"
    assignment_type = "pulumi-python:dynamic/lync:ExternalAccessPolicyAssignment"
    policy_urn = urn(policy_type, "p")
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=policy_type,
                urn=policy_urn,
                name="p",
                properties=struct({"identity": "Tag:OWA", "enable_outside_access": False}),
            ),
            analyzer_pb2.AnalyzerResource(
                type=assignment_type,
                urn=urn(assignment_type, "a"),
                name="a",
                properties=struct({"policy_name": "OWA", "users": ["sip:alice@contoso.com"]}),
                dependencies=[policy_urn],
            ),
        ]
    )
    [diagnostic] = prod_pack.stub.AnalyzeStack(request).diagnostics
    assert diagnostic.policyName == "lync-granted-policy-allows-outside-access"
    assert diagnostic.urn == policy_urn


@pytest.mark.parametrize(
    "path", sorted((POLICY_DIR / "config").glob("*.json")), ids=lambda p: p.name
)
def test_pack_config_files_name_only_what_the_pack_declares(prod_pack: Pack, path: Path) -> None:
    """``--policy-pack-config`` files: known policies, known properties, right JSON types."""
    config = json.loads(path.read_text(encoding="utf-8"))
    schemas = {
        p.name: json_format.MessageToDict(p.configSchema.properties)
        for p in prod_pack.info.policies
    }
    json_types: dict[str, Any] = {"boolean": bool, "array": list, "string": str}
    for name, value in config.items():
        assert name in schemas, f"{path.name}: no policy {name!r}"
        if isinstance(value, str):
            assert value in {"advisory", "mandatory", "disabled"}, f"{path.name}: {name}: {value}"
            continue
        for key, given in value.items():
            if key == "enforcementLevel":
                assert given in {"advisory", "mandatory", "disabled"}
                continue
            assert key in schemas[name], f"{path.name}: {name} has no property {key!r}"
            schema = schemas[name][key]
            assert isinstance(given, json_types[schema["type"]]), f"{path.name}: {name}.{key}"
            if schema["type"] == "array":
                assert all(isinstance(i, json_types[schema["items"]["type"]]) for i in given)
