"""How the deployment benchmark drives the providers, and what it counts while they run.

Three ways of doing the same work:

* :class:`Ours` with ``parallel=1``: the real provider process (``python -m pulumi.dynamic``)
  driven by the engine stand-in of ``tests/support/engine.py``, whose :class:`Engine` sends
  one call at a time.
* :class:`Ours` with ``parallel=4``: the same process and the same request sequence, but the
  creates, reads (refresh) and deletes of independent resources go out four at a time, the
  next starting as soon as one finishes (:func:`in_window`), as the engine's step executor
  sends them with ``--parallel 4``: a fixed number of workers taking the next ready step.
* :class:`Naive`: the same provider classes called directly in this process, one call at a
  time, with every cmdlet call on a session of its own (opened, used, closed): what a
  provider without pooling would do. Nothing in ``lync_provider`` changes for it; the
  providers' ``frontend()``/``edge()`` are replaced on the instances.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import dill

from bench.connect import configured
from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.remoting import CmdletCall, LyncSession, Records, Reply
from lync_provider.resources.base import LyncProvider
from lync_provider.settings.endpoint import EndpointSettings
from tests.resources.conftest import PROJECT, stack_config
from tests.support.engine import (
    PROVIDER_KEY,
    CheckFailedError,
    CreateResult,
    Declaration,
    DiffChanges,
    Engine,
    ProviderProcess,
    ResourceState,
    urn_name,
)

T = TypeVar("T")
Props = dict[str, Any]


# -- counting ------------------------------------------------------------------------------


def _tally(emu: Emulator) -> dict[str, int]:
    """The emulator's running totals: every role's HTTP requests, pools and pipelines, and
    the audit log's invocations and writes."""
    return {
        "requests": emu.counters.total(Counter.HTTP_REQUESTS),
        "pools": emu.counters.total(Counter.POOLS_OPENED),
        "pipelines": emu.counters.total(Counter.PIPELINES_RUN),
        "cmdlets": len(emu.audit.entries()),
        "writes": len(emu.audit.writes()),
    }


def _requests_by_role(emu: Emulator) -> dict[str, int]:
    suffix = f".{Counter.HTTP_REQUESTS.value}"
    return {
        key.removesuffix(suffix): n
        for key, n in emu.counters.snapshot().items()
        if key.endswith(suffix)
    }


def process_cpu_s(pid: int | None) -> float | None:
    """CPU seconds (user + system) another process has used so far, from Linux's
    ``/proc/<pid>/stat``; None without a process or where there is no ``/proc``."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are the 14th and 15th
    # of the line (proc(5)), in clock ticks.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(emu: Emulator, action: Callable[[], bool], provider_pid: int | None) -> dict[str, Any]:
    """Run one phase and return what it cost: wall time, this process's CPU time (the
    emulator's, plus the engine stand-in's or the naive provider's), the provider process's
    CPU time (``provider_pid``; None when the providers run in this process), the
    emulator's counts, the endpoints (roles) it reached, and whether the outcome was the
    expected one."""
    before, roles_before = _tally(emu), _requests_by_role(emu)
    provider_cpu = process_cpu_s(provider_pid)
    cpu, start = time.process_time(), time.perf_counter()
    ok = action()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    provider_after = process_cpu_s(provider_pid)
    after, roles_after = _tally(emu), _requests_by_role(emu)
    reached = sorted(r for r, n in roles_after.items() if n > roles_before.get(r, 0))
    provider = (
        None
        if provider_cpu is None or provider_after is None
        else round(provider_after - provider_cpu, 3)
    )
    return {
        "wall_s": round(wall, 3),
        "local_cpu_s": round(cpu, 3),
        "provider_cpu_s": provider,
        **{key: after[key] - before[key] for key in after},
        "endpoints": reached,
        "ok": bool(ok),
    }


def in_window(calls: Iterable[Callable[[], T]], parallel: int) -> list[T]:
    """Run ``calls`` with at most ``parallel`` in flight, each free worker taking the next
    one, as the engine's step executor does with ``--parallel``; results in order. A call
    never waits for a slower one that started with it (which fixed waves would impose).
    ``calls`` is taken lazily: a generator that does work of its own before yielding each
    call (the engine's Check of the next registration) overlaps it with the calls running."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


# -- through the provider process ------------------------------------------------------------


class Ours:
    """The provider process driven as the engine drives it, one command at a time.

    ``process_per_command`` starts a fresh provider process before every command, as the
    Pulumi CLI does, so every command opens its own pools; otherwise ``shared`` (one process
    for the whole run, to keep the smoke run short) serves every command and keeps its pools.
    Either way the process is started, and has imported the providers (one Check), before the
    command's clock starts.
    """

    def __init__(
        self,
        emu: Emulator,
        *,
        parallel: int,
        process_per_command: bool,
        env: Mapping[str, str],
        shared: ProviderProcess | None = None,
    ) -> None:
        if not process_per_command and shared is None:
            raise ValueError("without a process per command, pass the shared process")
        self.emu = emu
        self.parallel = parallel
        self.process_per_command = process_per_command
        self.env = dict(env)
        self._shared = shared
        self._process: ProviderProcess | None = None
        self._engine: Engine | None = None

    def __enter__(self) -> Ours:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process is not self._shared:
            self._process.stop()
        self._process = None

    @property
    def provider_pid(self) -> int | None:
        """The provider process serving the next command (after :meth:`command`)."""
        return None if self._process is None else self._process.pid

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("call command() before the first command")
        return self._engine

    def command(self, warm_with: Declaration) -> None:
        """Get a provider process ready for the next command (outside the timed phase)."""
        if self._process is not None and not self.process_per_command:
            return
        if self._process is not None:
            self._process.stop()
        if self.process_per_command or self._shared is None:
            self._process = ProviderProcess(project=PROJECT, env=self.env).__enter__()
        else:
            self._process = self._shared
        if self._engine is None:
            self._engine = Engine(self._process, stack_config(self.emu))
        self._engine.provider = self._process
        self._process.configure(self._engine.config)
        warm = replace(warm_with, name=f"{warm_with.name}-warmup")  # never created
        self._process.check(self._engine.urn(warm), {}, dict(warm.inputs))

    def outputs(self, name: str) -> Props:
        return self.engine.outputs(name)

    # -- commands -------------------------------------------------------------------------

    def up(self, decls: Sequence[Declaration]) -> bool:
        """``pulumi up`` of resources that are all new or unchanged."""
        if self.parallel == 1:
            plan = self.engine.up(decls)
            return all(op in ("create", "same") for op in plan.ops.values())
        return self._up_in_parallel(decls)

    def no_change_up(self, decls: Sequence[Declaration]) -> bool:
        """``pulumi up`` with nothing to do: Check and Diff only, by the engine."""
        return not self.engine.up(decls).changes

    def preview(self, decls: Sequence[Declaration]) -> bool:
        return not self.engine.preview(decls).changes

    def refresh(self) -> bool:
        """``pulumi refresh``; True when nothing drifted."""
        if self.parallel == 1:
            return not self.engine.refresh().changes
        return self._refresh_in_parallel()

    def destroy(self, first: Sequence[Sequence[str]] = ()) -> bool:
        """``pulumi destroy``. In parallel, the resources named in ``first`` go group by group
        before the rest (dependents before what they depend on); one at a time, the engine's
        reverse snapshot order already does that."""
        if self.parallel == 1:
            self.engine.destroy()
        else:
            self._destroy_in_parallel(first)
        return not self.engine.state

    # -- the step executor with --parallel ------------------------------------------------

    def _up_in_parallel(self, decls: Sequence[Declaration]) -> bool:
        """Check every declaration (as registrations arrive), Diff the existing ones, and
        Create the new ones in parallel. As in the engine, Check and Diff run one at a time
        in the step generator while the step executor's workers run the creates already
        checked. Only creates and no-ops: that is all the benchmark's commands need."""
        engine, process = self.engine, self.engine.provider
        process.configure(engine.config)
        new: list[tuple[str, Props]] = []

        def creates() -> Iterator[Callable[[], CreateResult]]:
            for decl in decls:
                urn = engine.urn(decl)
                old = engine.state.get(urn)
                checked = process.check(urn, old.inputs if old else {}, dict(decl.inputs))
                if checked.failures:
                    raise CheckFailedError(urn, checked.failures)
                if old is None:
                    new.append((urn, checked.inputs))
                    yield partial(process.create, urn, checked.inputs)
                    continue
                diff = process.diff(old.id, urn, old.outputs, checked.inputs, old_inputs=old.inputs)
                if diff.changes is DiffChanges.SOME:
                    raise RuntimeError(f"{urn} changed: the benchmark only creates in parallel")
                engine.state[urn] = ResourceState(urn, old.id, checked.inputs, old.outputs)

        created = in_window(creates(), self.parallel)
        for (urn, props), result in zip(new, created, strict=True):
            if not result.id:
                return False
            engine.state[urn] = ResourceState(urn, result.id, props, result.outputs)
        return True

    def _refresh_in_parallel(self) -> bool:
        engine, process = self.engine, self.engine.provider
        process.configure(engine.config)
        held = list(engine.state.values())
        reads = in_window(
            [partial(process.read, r.id, r.urn, r.outputs, r.inputs) for r in held], self.parallel
        )
        same = True
        for res, read in zip(held, reads, strict=True):
            if read.id == "":
                del engine.state[res.urn]
                same = False
                continue
            inputs = read.inputs if read.inputs is not None else res.inputs
            # As the engine does after a Read: olds = refreshed outputs, news = old inputs.
            diff = process.diff(read.id, res.urn, read.outputs, res.inputs, old_inputs=inputs)
            same = same and diff.changes is not DiffChanges.SOME
            engine.state[res.urn] = ResourceState(res.urn, read.id, inputs, read.outputs)
        return same

    def _destroy_in_parallel(self, first: Sequence[Sequence[str]]) -> None:
        engine, process = self.engine, self.engine.provider
        process.configure(engine.config)
        held = list(reversed(engine.state.values()))
        groups = [[r for r in held if urn_name(r.urn) in names] for names in first]
        named = {r.urn for group in groups for r in group}
        for group in [*groups, [r for r in held if r.urn not in named]]:
            in_window(
                [
                    partial(process.delete, r.id, r.urn, r.outputs, old_inputs=r.inputs)
                    for r in group
                ],
                self.parallel,
            )
            for res in group:
                del engine.state[res.urn]


# -- naive: a session per cmdlet call ----------------------------------------------------


class FreshSessions:
    """Stands in for a provider's shared session: every read and every write opens a pool of
    its own, runs, and closes it (a read-back confirming a write gets its own too). A batch
    is what a provider without batching sends: one cmdlet per pipeline, each on its own."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings

    def read(self, *calls: CmdletCall) -> Records:
        return self._once(lambda session: session.read(*calls))

    def read_all(self, calls: Sequence[CmdletCall]) -> Reply:
        return _joined([self._once(partial(_read_all, call=call)) for call in calls])

    def write_all(self, calls: Sequence[CmdletCall], *, confirm: Callable[[], bool]) -> Reply:
        def run(session: LyncSession, call: CmdletCall) -> Reply:
            if call.is_read:
                return _read_all(session, call)
            return session.write_all([call], confirm=confirm)

        return _joined([self._once(partial(run, call=call)) for call in calls])

    def write(self, *calls: CmdletCall, confirm: Callable[[], bool] | None = None) -> Records:
        if len(calls) > 1:
            return [record for call in calls for record in self.write(call, confirm=confirm)]
        return self._once(lambda session: session.write(*calls, confirm=confirm))

    def _once(self, call: Callable[[LyncSession], T]) -> T:
        session = LyncSession(self.settings)
        try:
            return call(session)
        finally:
            session.close()


def _read_all(session: LyncSession, call: CmdletCall) -> Reply:
    return session.read_all([call])


def _joined(replies: Sequence[Reply]) -> Reply:
    """Replies of one statement each, as the one reply of their pipeline."""
    return Reply(
        [record for reply in replies for record in reply.records],
        tuple(error for reply in replies for error in reply.errors),
        settled=any(reply.settled for reply in replies),
    )


def naive_provider(cls: type[LyncProvider], emu: Emulator) -> LyncProvider:
    """A provider object configured as the provider process would configure it, whose
    sessions are all new (:class:`FreshSessions`)."""
    provider = configured(cls, emu)
    connections = provider.connections()
    frontend = FreshSessions(connections.require_frontend())
    provider.frontend = lambda: frontend  # type: ignore[method-assign,assignment,return-value]
    if connections.edge is not None:
        edge = FreshSessions(connections.require_edge())
        provider.edge = lambda: edge  # type: ignore[method-assign,assignment,return-value]
    return provider


def provider_class(decl: Declaration) -> type[LyncProvider]:
    """The provider class a declaration pickled (by reference), as the provider process
    unpickles it."""
    provider = dill.loads(base64.b64decode(decl.inputs[PROVIDER_KEY]))  # noqa: S301 (our own)
    return type(provider)


class Naive:
    """The engine's calls for the same declarations, made on provider objects in this
    process, one at a time, every cmdlet call on a fresh session."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.provider_pid: int | None = None  # the providers run in this process
        self._providers: dict[type[LyncProvider], LyncProvider] = {}
        # name -> (provider, id, inputs, outputs), in creation order
        self.state: dict[str, tuple[LyncProvider, str, Props, Props]] = {}

    def _provider(self, decl: Declaration) -> LyncProvider:
        cls = provider_class(decl)
        if cls not in self._providers:
            self._providers[cls] = naive_provider(cls, self.emu)
        return self._providers[cls]

    def outputs(self, name: str) -> Props:
        return dict(self.state[name][3])

    def up(self, decls: Sequence[Declaration]) -> bool:
        """Check each; create the new ones, Diff the others (True when none changed)."""
        same = True
        for decl in decls:
            provider = self._provider(decl)
            inputs = {k: v for k, v in decl.inputs.items() if k != PROVIDER_KEY}
            held = self.state.get(decl.name)
            checked = provider.check(held[2] if held else {}, inputs)
            if checked.failures:
                raise RuntimeError(f"{decl.name}: {checked.failures}")
            props = dict(checked.inputs or {})
            if held is None:
                created = provider.create(props)
                self.state[decl.name] = (provider, str(created.id), props, dict(created.outs or {}))
            else:
                same = same and not provider.diff(held[1], held[3], props).changes
        return same

    def no_change_up(self, decls: Sequence[Declaration]) -> bool:
        return self.up(decls)

    preview = no_change_up  # Check and Diff: what preview sends too

    def refresh(self) -> bool:
        same = True
        for name, (provider, id_, inputs, outs) in list(self.state.items()):
            read = provider.read(id_, outs)
            refreshed = dict(read.outs or {})
            same = same and not provider.diff(id_, refreshed, inputs).changes
            self.state[name] = (provider, id_, dict(read.inputs or inputs), refreshed)
        return same

    def destroy(self, first: Sequence[Sequence[str]] = ()) -> bool:
        """Reverse creation order, one at a time (``first`` is already honoured by it)."""
        for name, (provider, id_, _inputs, outs) in reversed(list(self.state.items())):
            provider.delete(id_, outs)
            del self.state[name]
        return True
