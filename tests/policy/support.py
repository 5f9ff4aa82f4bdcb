"""Build pulumi_policy's own argument objects the way its analyzer servicer builds them.

``_PolicyAnalyzerServicer.Analyze`` turns the engine's protobuf Struct into
``deserialize_properties(json_format.MessageToDict(struct))`` wrapped in
``unknown_checking_proxy``; :func:`engine_props` does the same, so numbers become floats and
unknown values raise ``UnknownValueError`` on access, as in a real preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
# What the engine sends for a value not known during preview.
UNKNOWN = UNKNOWN_STRING_VALUE
PROJECT = "lync"


def engine_props(props: Mapping[str, Any]) -> Any:
    """``props`` after the trip through the engine's Struct into a policy."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def urn(typ: str, name: str, parent_types: Sequence[str] = (), stack: str = "dev") -> str:
    """A URN as the engine builds it: parent types joined with ``$`` before the type."""
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join([*parent_types, typ])}::{name}"


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=parent,
    )


def resource_args(
    typ: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    parent_types: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
) -> ResourceValidationArgs:
    """The args a resource policy gets for one resource registration."""
    return ResourceValidationArgs(
        typ,
        engine_props(props),
        urn(typ, name, parent_types),
        name,
        options(),
        None,
        dict(config) if config else None,
    )


def stack_resource(
    typ: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    parent_types: Sequence[str] = (),
    property_dependencies: Mapping[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    """One resource of the stack, as a stack policy gets it (props are outputs)."""
    return PolicyResource(
        typ,
        engine_props(props),
        urn(typ, name, parent_types),
        name,
        options(),
        None,
        None,
        [],
        dict(property_dependencies or {}),
    )


def stack_args(
    resources: list[PolicyResource], config: Mapping[str, Any] | None = None
) -> StackValidationArgs:
    return StackValidationArgs(resources, dict(config) if config else None)


class Violations:
    """A ``report_violation`` callback that keeps what it was given."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str | None]] = []

    def __call__(self, message: str, urn: str | None = None) -> None:
        self.reports.append((message, urn))

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self.reports]

    @property
    def urns(self) -> list[str | None]:
        return [u for _, u in self.reports]
