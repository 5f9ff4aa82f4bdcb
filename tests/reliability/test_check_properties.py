"""Scenario 7: every resource's `check` over random and adversarial inputs.

Each input either passes validation or yields CheckFailures: none makes the provider process
raise, and none makes a remote call (the emulator, configured as the stack's server, sees no
request at all). Derandomized, so a run is repeatable.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lync_emulator.counters import Counter
from lync_provider.replication import (
    EdgeVerification,
    EdgeVerificationProvider,
    ReplicationGate,
    ReplicationGateProvider,
)
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
from tests.reliability.conftest import Rig
from tests.support.engine import declare

RESOURCES = [
    (AccessEdgeConfig, AccessEdgeConfigProvider),
    (HostingProvider, HostingProviderProvider),
    (ExternalAccessPolicy, ExternalAccessPolicyProvider),
    (ExternalAccessPolicyAssignment, ExternalAccessPolicyAssignmentProvider),
    (ReplicationGate, ReplicationGateProvider),
    (EdgeVerification, EdgeVerificationProvider),
]

ADVERSARIAL = st.sampled_from(
    [
        "",
        " ",
        "*",
        "Global",
        "tag:",
        "site:",
        "'; Remove-CsHostingProvider x; '",
        "$(Get-Process)",
        "`n`r",
        "a\nb",
        "\x00",
        "\x07\x1b",
        "\u202eevil",
        "ünïcødé",
        "x" * 4096,
        "exap.um.outlook.com",
        "https://example.com/",
        "UseDnsSrvRouting",
        "UseSourceVerification",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    ADVERSARIAL,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _inputs(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from([*fields, "bogus", "Identity", "__secret"])
    return st.dictionaries(names, VALUES, max_size=len(fields) + 2)


@pytest.mark.parametrize(
    ("resource", "provider"), RESOURCES, ids=[r[0].__name__ for r in RESOURCES]
)
def test_check_never_raises_and_never_calls_the_server(
    rig: Rig, resource: type, provider: type
) -> None:
    stack = rig.stack()
    engine, process = stack.engine, stack.process
    process.configure(engine.config)
    fields = list(provider.spec.model_fields)
    urn = engine.urn(declare(resource, "r", provider(), {}))
    blob = declare(resource, "r", provider(), {}).inputs["__provider"]
    outcomes: set[str] = set()

    @settings(
        max_examples=60,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(_inputs(fields))
    def check(inputs: dict[str, Any]) -> None:
        result = process.check(urn, {}, {**inputs, "__provider": blob}, preview=True)
        for prop, reason in result.failures:
            assert isinstance(prop, str) and reason.strip()
        outcomes.add("failed" if result.failures else "passed")

    check()

    assert "failed" in outcomes  # the strategy does reach validation errors
    assert stack.emu.counters.total(Counter.HTTP_REQUESTS) == 0
    assert stack.emu.audit.entries() == []
