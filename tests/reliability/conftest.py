"""The reliability rig: emulator + the real provider process + the engine stand-in, and a
witness that, after every scenario, searches everything the project produced for the password.

Each scenario builds its stacks with :func:`rig`; the provider processes run at DEBUG log level
(``LYNC_LOG_LEVEL``), so the secret scan also covers pypsrp's message dumps.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lync_emulator.emulator import Emulator
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
from lync_provider.resources.base import lync_name
from lync_provider.settings.logs import LOG_LEVEL_ENV
from tests.resources.conftest import PROJECT, Stack, stack_config
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import Declaration, Engine, ProviderError, ProviderProcess, declare

USERS = ["sip:alice@contoso.com", "sip:bob@contoso.com"]


def deployment(**overrides: dict[str, Any]) -> list[Declaration]:
    """The Exchange Online configuration as four resources, in the component's order."""
    inputs: dict[str, dict[str, Any]] = {
        "edge": {"allow_federated_users": True},
        "exo": dict(EXCHANGE_ONLINE),
        "policy": {"identity": "tag:OWA", "enable_outside_access": True},
        "grant": {"policy_name": "tag:OWA", "users": USERS},
    }
    for name, changes in overrides.items():
        inputs[name] = {**inputs[name], **changes}
    return [
        declare(AccessEdgeConfig, "edge", AccessEdgeConfigProvider(), inputs["edge"]),
        declare(HostingProvider, "exo", HostingProviderProvider(), inputs["exo"]),
        declare(ExternalAccessPolicy, "policy", ExternalAccessPolicyProvider(), inputs["policy"]),
        declare(
            ExternalAccessPolicyAssignment,
            "grant",
            ExternalAccessPolicyAssignmentProvider(),
            inputs["grant"],
        ),
    ]


def converged(emu: Emulator) -> bool:
    """Whether the server holds exactly what :func:`deployment` declares."""
    [edge] = emu.run_cmdlet("Get-CsAccessEdgeConfiguration")
    providers = emu.run_cmdlet("Get-CsHostingProvider")
    policies = {
        p.properties["Identity"]: p.properties for p in emu.run_cmdlet("Get-CsExternalAccessPolicy")
    }
    users = {u.properties["SipAddress"]: u.properties for u in emu.run_cmdlet("Get-CsUser")}
    exo = [p.properties for p in providers if p.properties["Identity"] == "Exchange Online"]
    return (
        edge.properties["AllowFederatedUsers"] is True
        and len(exo) == 1
        and all(exo[0][lync_name(k)] == v for k, v in EXCHANGE_ONLINE.items() if k != "identity")
        and policies.get("Tag:OWA", {}).get("EnableOutsideAccess") is True
        and all(users[u]["ExternalAccessPolicy"] == "OWA" for u in USERS)
    )


@dataclass
class Rig:
    """Every stack a scenario made, and every error text it saw, for the secret scan."""

    make_emulator: Callable[..., Emulator]
    stacks: list[Stack] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def stack(self, config: dict[str, Any] | None = None, **emulator: Any) -> Stack:
        """A fresh emulator (with these options) and a provider process pointed at it."""
        emu = self.make_emulator(**emulator)
        process = ProviderProcess(project=PROJECT, env={LOG_LEVEL_ENV: "DEBUG"}).__enter__()
        stack = Stack(emu, Engine(process, {**stack_config(emu), **(config or {})}), process)
        self.stacks.append(stack)
        return stack

    def failure(self, call: Callable[[], object]) -> str:
        """Run ``call``, which must fail; its error text (kept for the scan)."""
        with pytest.raises(ProviderError) as caught:
            call()
        text = str(caught.value)
        self.errors.append(text)
        return text


def secret_forms(password: str) -> list[bytes]:
    """The password as it could leak: plain, base64 (alone or in a Basic header), UTF-16LE."""
    forms = [password.encode(), password.encode("utf-16-le")]
    for raw in (password.encode(), f"lab\\admin:{password}".encode()):
        forms.append(base64.b64encode(raw))
    return forms


def _everything(stack: Stack) -> bytes:
    chunks = [stack.process.stderr, stack.process.stdout]
    for res in [*stack.engine.state.values(), *stack.engine.pending_deletes]:
        chunks.append(json.dumps([res.inputs, res.outputs], default=str))
        blob = res.inputs.get("__provider")
        if isinstance(blob, str):
            chunks.append(base64.b64decode(blob).decode("latin-1"))
    chunks += [repr(entry) for entry in stack.emu.audit.entries()]
    return "\n".join(chunks).encode("utf-8", errors="surrogateescape")


@pytest.fixture
def rig(make_lync_emulator: Callable[..., Emulator]) -> Iterator[Rig]:
    """Scenario stacks; afterwards the password must be nowhere they produced."""
    rig = Rig(make_lync_emulator)
    yield rig
    for stack in rig.stacks:
        stack.process.stop()
    for stack in rig.stacks:
        haystack = _everything(stack) + "\n".join(rig.errors).encode()
        for form in secret_forms(stack.emu.password):
            assert form not in haystack, f"the password leaked as {form!r}"
