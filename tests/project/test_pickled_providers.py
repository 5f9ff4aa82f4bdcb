"""State written by an earlier release must still load: providers are pickled by module path.

``serialized_providers.json`` holds ``__provider`` strings exactly as the SDK's
``serialize_provider`` wrote them before the package was regrouped into folders. The engine
hands such a string from existing state to ``python -m pulumi.dynamic``, which unpickles it
with dill; if a provider class moved, every stack created before the move would fail to
refresh, update or destroy.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dill
import pytest

from lync_provider import (
    AccessEdgeConfig,
    EdgeVerification,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    HostingProvider,
    ReplicationGate,
)

RECORDED = json.loads(
    (Path(__file__).parent / "fixtures" / "serialized_providers.json").read_text(encoding="utf-8")
)
RESOURCES = (
    AccessEdgeConfig,
    HostingProvider,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    ReplicationGate,
    EdgeVerification,
)


@pytest.mark.parametrize("path", sorted(RECORDED))
def test_a_recorded_provider_unpickles_to_its_class(path: str) -> None:
    provider = dill.loads(base64.b64decode(RECORDED[path]))  # noqa: S301 - our own fixture
    cls = type(provider)
    assert f"{cls.__module__}.{cls.__qualname__}" == path


def test_every_provider_class_is_at_a_recorded_path() -> None:
    """A provider moved or renamed since the recording fails here, not in users' stacks."""
    paths = {f"{r.provider_type.__module__}.{r.provider_type.__qualname__}" for r in RESOURCES}
    assert paths == set(RECORDED)
