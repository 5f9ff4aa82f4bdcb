"""Run the real ``__main__.py`` under ``pulumi.runtime.set_mocks`` and record what it registers.

A ``MockMonitor`` subclass keeps every registration with its type, name, parent, inputs and
the URNs it depends on, which the SDK sends in ``RegisterResourceRequest.dependencies``; that is
how the tests see that the gate waits for every configuration resource.
"""

from __future__ import annotations

import asyncio
import base64
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dill
import pulumi
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import ROOT

REPO = Path(__file__).resolve().parents[2]
SECRET_SIG = rpc._special_sig_key


@dataclass
class Registration:
    """One resource as the program registered it."""

    typ: str
    name: str
    urn: str
    inputs: dict[str, Any]
    dependencies: list[str]
    delete_before_replace: bool


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping each registration request."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    typ=request.type,
                    name=request.name,
                    urn=response.urn,
                    inputs=rpc.deserialize_properties(request.object, keep_internal=True),
                    dependencies=list(request.dependencies),
                    delete_before_replace=request.deleteBeforeReplace,
                )
            )
        return response

    def by_type(self, suffix: str) -> list[Registration]:
        """Registrations whose type token ends with ``suffix`` (e.g. ``:HostingProvider``)."""
        return [r for r in self.registrations if r.typ.endswith(suffix)]

    def one(self, suffix: str) -> Registration:
        """The single registration of that type."""
        [found] = self.by_type(suffix)
        return found


class EchoMocks(pulumi.runtime.Mocks):
    """Every resource gets its inputs back as outputs, plus what the providers would add."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        outputs.setdefault("changed_at", "2026-11-25T12:00:00+00:00")
        outputs.setdefault("replica_status", [])
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def run_program(
    config: Mapping[str, str],
    mocks: pulumi.runtime.Mocks | None = None,
    *,
    program: Callable[[], Any] | None = None,
) -> RecordingMonitor:
    """Run ``__main__.py`` (or another ``program``) with this stack config until every
    registration has finished."""
    mocks = mocks or EchoMocks()
    # The SDK awaits on the thread's current loop; an earlier asyncio.run() leaves none.
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = RecordingMonitor(mocks)
    ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="lync", stack="test", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config))

    @pulumi.runtime.test
    def run() -> Any:
        if program is not None:
            return program()
        return runpy.run_path(str(REPO / "__main__.py"), run_name="__main__") and None

    run()
    return monitor


def unwrap(value: Any) -> Any:
    """An input value without the SDK's secret wrapper."""
    if isinstance(value, dict) and SECRET_SIG in value:
        return value.get("value")
    return value


class ProviderMocks(EchoMocks):
    """Serve each dynamic resource registration with its real provider, as the engine would
    on a first ``pulumi up``: unpickle ``__provider``, ``configure`` it with the stack config
    (secrets decrypted), ``check``, then ``create``. Check failures and provider errors fail
    the registration, and so the program."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.created: list[str] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.typ.startswith("pulumi-python:dynamic/"):
            return super().new_resource(args)
        inputs = {k: unwrap(v) for k, v in args.inputs.items()}
        # The pickle is the one the program under test just made, as the engine trusts it.
        provider = dill.loads(base64.b64decode(inputs.pop("__provider")))  # noqa: S301
        provider.configure(ConfigureRequest(Config(self.config, "lync")))
        checked = provider.check({}, inputs)
        if checked.failures:
            reasons = "; ".join(f"{f.property}: {f.reason}" for f in checked.failures)
            raise ValueError(f"{args.name}: check failed: {reasons}")
        result = provider.create(checked.inputs)
        self.created.append(args.name)
        self.outputs[args.name] = dict(result.outs or {})
        return str(result.id), self.outputs[args.name]
