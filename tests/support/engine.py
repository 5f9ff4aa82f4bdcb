"""A small stand-in for the Pulumi engine, driving the real Python dynamic-provider process.

There is no Pulumi CLI on the machines that run these tests, yet the bugs that matter in a
dynamic provider live at the seam with the engine: what gets pickled, what ``olds`` holds,
how config and secrets arrive, what ``read`` returning ``""`` does to state. So the tests run
``python -m pulumi.dynamic`` -- the very process the engine starts for Python dynamic
resources -- and send it the gRPC requests the engine would send.

Two layers:

* :class:`ProviderProcess` owns the subprocess and exposes one thin method per RPC, marshalling
  property maps the way the engine's plugin wrapper does (``provider_plugin.go``).
* :class:`Engine` replays the engine's step logic (``step_generator.go``, ``step.go``) for
  ``up``/``preview``/``refresh``/``destroy`` over declared resources and keeps a per-URN state
  of id, inputs and outputs, as the real snapshot does.

Deliberate simplifications (each is called out where it matters): steps run sequentially in
declaration order, there are no inter-resource dependencies, no ``ignore_changes``/``protect``/
``retain_on_delete``/targets, and one provider process may serve several commands (the real CLI
starts a fresh one per command, so a provider instance's ``configure`` runs once per command
there but once per distinct pickle per process here).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic import Resource, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.proto.provider_pb2_grpc import ResourceProviderStub

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The engine's "unknown" sentinel: what an input computed from another resource's not-yet-known
#: output looks like on the wire during preview. Provider code receives it deserialized as a
#: ``pulumi.output.Unknown`` instance, not as this string.
UNKNOWN: str = rpc.UNKNOWN

#: The property under which a dynamic resource carries its pickled provider.
PROVIDER_KEY = "__provider"

#: The package of the default provider that serves every Python dynamic resource.
_DYNAMIC_PACKAGE = "pulumi-python"

Props = dict[str, Any]
# How long the engine lets a plugin shut down after SIGINT before it sends SIGKILL (pulumi
# sdk/go/common/resource/plugin/plugin.go, ExecPlugin's kill: InterruptChildren, then 5 s).
SHUTDOWN_GRACE_S = 5

T = TypeVar("T")


@dataclass(frozen=True)
class Secret:
    """A stack config value set with ``pulumi config set --secret``.

    The engine sends it wrapped as a secret in ``ConfigureRequest.args`` (it always marshals
    Configure args with KeepSecrets) and in plain text in ``variables``; the Python servicer
    unwraps it, so the provider sees plain text either way.
    """

    value: str

    def __repr__(self) -> str:
        return "Secret([redacted])"


class ProviderError(Exception):
    """A provider RPC failed; ``str(error)`` is the text the CLI shows as the resource error.

    The Python servicer aborts with ``StatusCode.UNKNOWN`` and the full traceback as details,
    and the engine prints ``rpcerror.Message()``, i.e. exactly those details.
    """

    def __init__(self, method: str, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.method = method
        self.code = code
        self.message = message


class CheckFailedError(Exception):
    """``Check`` returned failures, so the engine refuses the resource as invalid."""

    def __init__(self, urn: str, failures: list[tuple[str, str]]) -> None:
        name = urn_name(urn)
        lines = [
            f"{urn_type(urn)} resource '{name}': property {prop} has a problem: {reason}"
            if prop
            else f"{urn_type(urn)} resource '{name}' has a problem: {reason}"
            for prop, reason in failures
        ]
        super().__init__("\n".join([*lines, f"resource {urn} is invalid"]))
        self.urn = urn
        self.failures = failures


class DiffChanges(Enum):
    """``DiffResponse.changes``: the servicer maps ``DiffResult.changes`` None/False/True here."""

    UNKNOWN = provider_pb2.DiffResponse.DIFF_UNKNOWN
    NONE = provider_pb2.DiffResponse.DIFF_NONE
    SOME = provider_pb2.DiffResponse.DIFF_SOME


@dataclass(frozen=True)
class ConfigureResult:
    """What the provider advertised; the engine keys its later marshalling off these bits."""

    accept_secrets: bool
    supports_preview: bool


@dataclass(frozen=True)
class CheckResult:
    inputs: Props
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    changes: DiffChanges
    replaces: list[str]
    delete_before_replace: bool


@dataclass(frozen=True)
class CreateResult:
    id: str
    outputs: Props


@dataclass(frozen=True)
class ReadResult:
    """``inputs`` is None when the provider returned none; the engine then keeps the old."""

    id: str
    outputs: Props
    inputs: Props | None


def urn_name(urn: str) -> str:
    """The resource name: the last ``::`` segment of the URN."""
    return urn.rsplit("::", 1)[1]


def urn_type(urn: str) -> str:
    """The resource's own type token (the last ``$`` part of the qualified type)."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def _marshal(props: Mapping[str, Any], *, keep_unknowns: bool) -> struct_pb2.Struct:
    """Marshal a property map with the SDK's serializer, as the engine's MarshalProperties would.

    Outside preview the engine runs with RejectUnknowns, so an unknown there is a harness misuse.
    """
    if not keep_unknowns and _contains_unknown(props):
        raise ValueError("unknown values only reach a provider during preview")
    return asyncio.run(rpc.serialize_properties(dict(props), {}))


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(v) for v in value)
    return bool(value == UNKNOWN)


def _unmarshal(struct: struct_pb2.Struct) -> Props:
    """Plain dicts back, with unknowns as the :data:`UNKNOWN` sentinel rather than SDK objects."""
    props: Props = _sentinel_unknowns(rpc.deserialize_properties(struct, keep_unknowns=True))
    return props


def _sentinel_unknowns(value: Any) -> Any:
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _sentinel_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sentinel_unknowns(v) for v in value]
    return value


class ProviderProcess:
    """The ``pulumi-python`` dynamic provider plugin as a context manager, with one method per RPC.

    Started like the engine starts it: the project name in ``PULUMI_PROJECT``, the plugin
    printing its port on stdout (``-u`` as the plugin shim does: the servicer never flushes
    that line). The repo root goes on ``PYTHONPATH`` so by-reference pickles of project classes
    resolve, as an installed package would in a real deployment. Everything the process writes
    to stderr is kept for assertions in :attr:`stderr`.
    """

    def __init__(self, project: str, stack: str = "dev", env: Mapping[str, str] | None = None):
        self.project = project
        self.stack = stack
        self._extra_env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: ResourceProviderStub | None = None
        self._stderr_file: IO[bytes] | None = None
        self._stdout_chunks: list[bytes] = []
        self._stdout_thread: threading.Thread | None = None
        self._provider_id = str(uuid.uuid4())

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        env = {**os.environ, **self._extra_env, "PULUMI_PROJECT": self.project}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._stderr_file = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill up
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file,
            env=env,
            cwd=REPO_ROOT,
        )
        assert self._proc.stdout is not None
        port_line = self._proc.stdout.readline()
        if not port_line.strip().isdigit():
            self._proc.kill()
            self._proc.wait()
            raise RuntimeError(f"provider did not start: {port_line!r}\n{self.stderr}")
        # Keep draining stdout (provider print()s) so the child never blocks on a full pipe.
        self._stdout_thread = threading.Thread(
            target=self._drain_stdout, args=(self._proc.stdout,), daemon=True
        )
        self._stdout_thread.start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{int(port_line)}")
        self._stub = ResourceProviderStub(self._channel)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the channel and interrupt the process (its ``main`` stops the server on
        SIGINT), killing it after the engine's grace period, as the engine does."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._stdout_thread is not None:
            self._stdout_thread.join()
            self._stdout_thread = None

    def _drain_stdout(self, stream: IO[bytes]) -> None:
        for chunk in iter(stream.readline, b""):
            self._stdout_chunks.append(chunk)
        stream.close()

    @property
    def pid(self) -> int | None:
        """The process's id while it runs (the benchmark reads its CPU time by it)."""
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def stderr(self) -> str:
        """Everything the provider process has written to stderr so far (logs, warnings)."""
        if self._stderr_file is None:
            return ""
        # pread, not seek+read: the child writes through the same open file, whose offset
        # a seek would move under it (its next lines would overwrite the start).
        fd = self._stderr_file.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    @property
    def stdout(self) -> str:
        """What the provider printed on stdout after its port line."""
        return b"".join(self._stdout_chunks).decode(errors="replace")

    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise RuntimeError("ProviderProcess is not running; use it as a context manager")
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as err:
            raise ProviderError(method, err.code(), err.details() or "") from None

    # -- RPCs ------------------------------------------------------------------------------

    def configure(self, config: Mapping[str, str | Secret]) -> ConfigureResult:
        """Send the whole stack config, as the engine does for a dynamic provider.

        For the ``pulumi-python`` package the engine passes *all* config keys with their
        namespace kept (``lync:password``). ``variables`` carries the legacy spelling
        ``pulumi-python:config:<key>`` with secrets in plain text; ``args`` carries the same
        keys with secrets still wrapped. The default provider's URN and id ride along.
        """
        for key in config:
            if ":" not in key:
                raise ValueError(f"config keys are namespaced ('ns:key'), got {key!r}")
        args = {
            k: rpc.wrap_rpc_secret(v.value) if isinstance(v, Secret) else v
            for k, v in config.items()
        }
        variables = {
            f"{_DYNAMIC_PACKAGE}:config:{k}": v.value if isinstance(v, Secret) else v
            for k, v in config.items()
        }
        provider_type = f"pulumi:providers:{_DYNAMIC_PACKAGE}"
        response = self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                variables=variables,
                args=_marshal(args, keep_unknowns=False),
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                id=self._provider_id,
                urn=f"urn:pulumi:{self.stack}::{self.project}::{provider_type}::default",
                name="default",
                type=provider_type,
            ),
        )
        return ConfigureResult(response.acceptSecrets, response.supportsPreview)

    def check(self, urn: str, olds: Props, news: Props, *, preview: bool = False) -> CheckResult:
        """``olds`` are the old *inputs* (empty for a new resource); unknowns only in preview."""
        response = self._call(
            "Check",
            provider_pb2.CheckRequest(
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                olds=_marshal(olds, keep_unknowns=preview),
                news=_marshal(news, keep_unknowns=preview),
                randomSeed=os.urandom(32),
            ),
        )
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckResult(_unmarshal(response.inputs), failures)

    def diff(
        self,
        id_: str,
        urn: str,
        olds: Props,
        news: Props,
        *,
        old_inputs: Props | None = None,
        preview: bool = False,
    ) -> DiffResult:
        """``olds`` are the old *outputs*, ``news`` the checked inputs (the servicer drops
        ``old_inputs``, but the engine sends them)."""
        response = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                olds=_marshal(olds, keep_unknowns=preview),
                news=_marshal(news, keep_unknowns=preview),
                old_inputs=_marshal(old_inputs or {}, keep_unknowns=preview),
            ),
        )
        return DiffResult(
            DiffChanges(response.changes), list(response.replaces), response.deleteBeforeReplace
        )

    def create(self, urn: str, props: Props, preview: bool = False) -> CreateResult:
        """Raw Create. The engine never sends ``preview=True`` to this provider (it answered
        ``supportsPreview: False``), and the servicer would ignore the flag and really create."""
        response = self._call(
            "Create",
            provider_pb2.CreateRequest(
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                properties=_marshal(props, keep_unknowns=preview),
                preview=preview,
            ),
        )
        return CreateResult(response.id, _unmarshal(response.properties))

    def read(self, id_: str, urn: str, props: Props, inputs: Props) -> ReadResult:
        """Refresh-style Read: ``props`` are the old outputs (with ``__provider``), ``inputs``
        the old inputs."""
        response = self._call(
            "Read",
            provider_pb2.ReadRequest(
                id=id_,
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                properties=_marshal(props, keep_unknowns=False),
                inputs=_marshal(inputs, keep_unknowns=False),
            ),
        )
        new_inputs = _unmarshal(response.inputs) if response.HasField("inputs") else None
        return ReadResult(response.id, _unmarshal(response.properties), new_inputs)

    def update(
        self,
        id_: str,
        urn: str,
        olds: Props,
        news: Props,
        preview: bool = False,
        *,
        old_inputs: Props | None = None,
    ) -> Props:
        """``olds`` are the old *outputs*; returns the new outputs."""
        response = self._call(
            "Update",
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                olds=_marshal(olds, keep_unknowns=False),
                news=_marshal(news, keep_unknowns=preview),
                old_inputs=_marshal(old_inputs or {}, keep_unknowns=False),
                preview=preview,
            ),
        )
        return _unmarshal(response.properties)

    def delete(self, id_: str, urn: str, props: Props, *, old_inputs: Props | None = None) -> None:
        """``props`` are the old outputs: the pickled provider comes from state, not the program."""
        self._call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=id_,
                urn=urn,
                name=urn_name(urn),
                type=urn_type(urn),
                properties=_marshal(props, keep_unknowns=False),
                old_inputs=_marshal(old_inputs or {}, keep_unknowns=False),
            ),
        )


def run_concurrently(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``calls`` on separate threads, released together by a barrier; results in order.

    This is how a test puts several RPCs in flight at once against one provider process (the
    servicer serves at most four at a time and queues the rest, like ``--parallel`` steps would).
    Every call runs to completion; the first exception, if any, is then re-raised.
    """
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
    return [f.result() for f in futures]


# -- the engine's step logic -------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """One ``SomeResource(name, props, opts)`` in a program, as the resource monitor sees it.

    Inputs are plain values: secret-ness of resource inputs is not modelled, which loses
    nothing on the wire because the engine strips it for a provider that does not accept
    secrets (only the state's encryption would differ).
    """

    name: str
    type_token: str
    inputs: Mapping[str, Any]
    delete_before_replace: bool | None = None


def declare(
    resource_type: type[Resource],
    name: str,
    provider: ResourceProvider,
    inputs: Mapping[str, Any],
    *,
    delete_before_replace: bool | None = None,
) -> Declaration:
    """Build a declaration the way ``pulumi.dynamic.Resource.__init__`` builds its registration.

    The provider is pickled by the SDK's own ``serialize_provider`` (dill, sorted dicts), and
    the type token comes from the Resource subclass (``class X(Resource, module=, name=)``).
    ``None`` inputs are dropped, as the SDK's serializer drops them.
    """
    if PROVIDER_KEY in inputs:
        raise ValueError("A dynamic resource must not define the __provider key")
    props = {k: v for k, v in inputs.items() if v is not None}
    props[PROVIDER_KEY] = serialize_provider(provider)
    type_token = f"pulumi-python:{resource_type._resource_type_name}"
    return Declaration(name, type_token, props, delete_before_replace)


@dataclass
class ResourceState:
    """One resource in the snapshot: what later diffs, refreshes and deletes are fed from."""

    urn: str
    id: str
    inputs: Props
    outputs: Props


@dataclass(frozen=True)
class Step:
    """One engine step, named as ``display.StepOp`` names them (``create-replacement``...)."""

    urn: str
    op: str


@dataclass
class Plan:
    """The steps a command took (or, for preview, would take), in execution order."""

    steps: list[Step] = field(default_factory=list)

    def add(self, urn: str, op: str) -> None:
        self.steps.append(Step(urn, op))

    @property
    def ops(self) -> dict[str, str]:
        """Summary op per resource name: ``replace`` for a replacement chain, else its one op."""
        summary: dict[str, str] = {}
        for step in self.steps:
            name = urn_name(step.urn)
            summary[name] = "replace" if step.op == "replace" else summary.get(name, step.op)
        return summary

    @property
    def changes(self) -> bool:
        return any(op != "same" for op in self.ops.values())


@dataclass
class _Run:
    """One command's working state: the plan so far and the snapshot it is editing."""

    plan: Plan
    state: dict[str, ResourceState]
    pending: list[ResourceState]
    preview: bool


class Engine:
    """Replays ``pulumi preview/up/refresh/destroy`` against one :class:`ProviderProcess`.

    ``config`` is the stack config sent with Configure at the start of every command, as the
    engine configures the default provider on every run. ``state`` maps URN to
    :class:`ResourceState` in snapshot order.
    """

    def __init__(self, provider: ProviderProcess, config: Mapping[str, str | Secret]) -> None:
        self.provider = provider
        self.config = dict(config)
        self.state: dict[str, ResourceState] = {}
        #: Old halves of create-before-delete replacements not yet deleted (``Delete: true``).
        self.pending_deletes: list[ResourceState] = []
        #: Called with (urn, op) just before each Create, Update or Delete is sent, so a test
        #: can make something happen at an exact point of a deployment (a server restart).
        self.before_step: Callable[[str, str], None] = lambda urn, op: None

    def urn(self, decl: Declaration) -> str:
        """``urn:pulumi:<stack>::<project>::<type>::<name>`` (no parent, so no ``$`` chain)."""
        p = self.provider
        return f"urn:pulumi:{p.stack}::{p.project}::{decl.type_token}::{decl.name}"

    def outputs(self, name: str) -> Props:
        """Outputs of the single resource with this name, without ``__provider``."""
        (res,) = [r for urn, r in self.state.items() if urn_name(urn) == name]
        return {k: v for k, v in res.outputs.items() if k != PROVIDER_KEY}

    # -- commands --------------------------------------------------------------------------

    def preview(self, decls: Sequence[Declaration]) -> Plan:
        """Check and Diff only; the plan says what ``up`` would do. State is not touched.

        Create/Update are not sent: the servicer answered ``supportsPreview: False``, so the
        engine's plugin wrapper returns the inputs as state without calling the plugin.
        """
        return self._deploy(decls, preview=True)

    def up(self, decls: Sequence[Declaration]) -> Plan:
        """Check each declaration, then Create/Update/replace it, then delete the resources
        that vanished from the program (and the old halves of create-before-delete replaces)."""
        return self._deploy(decls, preview=False)

    def refresh(self) -> Plan:
        """Read each resource with its old outputs and inputs, then Diff as current engines do.

        The post-read Diff swaps roles (olds = refreshed outputs, news = old inputs) and its
        inverted result decides ``same`` vs ``update``. An empty id from Read drops the
        resource (``delete``). Returned inputs replace the stored inputs; None keeps them.
        """
        self.provider.configure(self.config)
        plan = Plan()
        for urn, res in list(self.state.items()):
            read = self.provider.read(res.id, urn, res.outputs, res.inputs)
            if read.id == "":
                del self.state[urn]
                plan.add(urn, "delete")
                continue
            inputs = read.inputs if read.inputs is not None else res.inputs
            refreshed = ResourceState(urn, read.id, inputs, read.outputs)
            changed = self._diff(refreshed, news=res.inputs, preview=False).changes
            self.state[urn] = refreshed
            plan.add(urn, "update" if changed is DiffChanges.SOME else "same")
        return plan

    def destroy(self) -> Plan:
        """Delete every resource in reverse snapshot order, each with its stored outputs."""
        self.provider.configure(self.config)
        plan = Plan()
        for res in reversed(list(self.pending_deletes)):
            self.provider.delete(res.id, res.urn, res.outputs, old_inputs=res.inputs)
            self.pending_deletes.remove(res)
            plan.add(res.urn, "delete-replaced")
        for urn in reversed(list(self.state)):
            res = self.state[urn]
            self.provider.delete(res.id, urn, res.outputs, old_inputs=res.inputs)
            del self.state[urn]
            plan.add(urn, "delete")
        return plan

    # -- step generation -------------------------------------------------------------------

    def _deploy(self, decls: Sequence[Declaration], *, preview: bool) -> Plan:
        """Generate and (unless previewing) execute steps, persisting each as it completes.

        As in the real snapshot, a failure part-way leaves earlier steps applied, and the old
        half of a create-before-delete replacement stays pending deletion until a later
        command manages to delete it.
        """
        self.provider.configure(self.config)
        run = _Run(
            plan=Plan(),
            state=self.state if not preview else dict(self.state),
            pending=self.pending_deletes if not preview else list(self.pending_deletes),
            preview=preview,
        )
        declared: list[str] = []
        for decl in decls:
            urn = self.urn(decl)
            if urn in declared:
                raise ValueError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            declared.append(urn)
            self._register(decl, urn, run)
        # Deletes come after every create and update. Without dependencies between resources
        # the engine runs them as one parallel batch; here they go in reverse snapshot order.
        for res in reversed(list(run.pending)):
            run.plan.add(res.urn, "delete-replaced")
            self._delete(res, run)
            run.pending.remove(res)
        for urn in [u for u in reversed(run.state) if u not in declared]:
            run.plan.add(urn, "delete")
            self._delete(run.state[urn], run)
            del run.state[urn]
        if not preview:
            self.state = {urn: run.state[urn] for urn in declared}
        return run.plan

    def _register(self, decl: Declaration, urn: str, run: _Run) -> None:
        """The step generator for one registration: Check, then create, same, update or replace."""
        old = run.state.get(urn)
        goal = dict(decl.inputs)
        inputs = self._check(urn, old.inputs if old else {}, goal, run.preview)
        if old is None:
            run.plan.add(urn, "create")
            run.state[urn] = self._create(urn, inputs, run.preview)
            return
        diff = self._diff(old, news=inputs, preview=run.preview)
        if diff.changes is DiffChanges.NONE:
            run.plan.add(urn, "same")
            run.state[urn] = ResourceState(urn, old.id, inputs, old.outputs)
        elif not diff.replaces:
            run.plan.add(urn, "update")
            outputs = inputs
            if not run.preview:
                self.before_step(urn, "update")
                outputs = self.provider.update(
                    old.id, urn, old.outputs, inputs, old_inputs=old.inputs
                )
            run.state[urn] = ResourceState(urn, old.id, inputs, outputs)
        else:
            # A replacement recomputes defaults: Check again without the old inputs.
            inputs = self._check(urn, {}, goal, run.preview)
            dbr = diff.delete_before_replace
            if decl.delete_before_replace is not None:
                dbr = decl.delete_before_replace
            if dbr:
                run.plan.add(urn, "delete-replaced")
                self._delete(old, run)
                del run.state[urn]
                run.plan.add(urn, "replace")
                run.plan.add(urn, "create-replacement")
                run.state[urn] = self._create(urn, inputs, run.preview)
            else:
                run.plan.add(urn, "create-replacement")
                run.state[urn] = self._create(urn, inputs, run.preview)
                # Only a successful replacement condemns the old resource.
                run.plan.add(urn, "replace")
                run.pending.append(old)

    def _delete(self, res: ResourceState, run: _Run) -> None:
        if not run.preview:
            self.before_step(res.urn, "delete")
            self.provider.delete(res.id, res.urn, res.outputs, old_inputs=res.inputs)

    def _check(self, urn: str, olds: Props, news: Props, preview: bool) -> Props:
        result = self.provider.check(urn, olds, news, preview=preview)
        if result.failures:
            raise CheckFailedError(urn, result.failures)
        return result.inputs

    def _create(self, urn: str, inputs: Props, preview: bool) -> ResourceState:
        if preview:
            return ResourceState(urn, "", inputs, inputs)
        self.before_step(urn, "create")
        created = self.provider.create(urn, inputs)
        if not created.id:
            raise RuntimeError(
                f"plugin for package '{_DYNAMIC_PACKAGE}' returned empty resource.ID "
                f"from create '{urn}'"
            )
        return ResourceState(urn, created.id, inputs, created.outputs)

    def _diff(self, old: ResourceState, *, news: Props, preview: bool) -> DiffResult:
        """Provider Diff, with the engine's fallback for DIFF_UNKNOWN: old inputs vs new inputs."""
        diff = self.provider.diff(
            old.id, old.urn, old.outputs, news, old_inputs=old.inputs, preview=preview
        )
        if diff.changes is not DiffChanges.UNKNOWN:
            return diff
        changes = DiffChanges.NONE if old.inputs == news else DiffChanges.SOME
        return DiffResult(changes, diff.replaces, diff.delete_before_replace)
