"""PSRP on psrpcore's server classes: the shell table behind one role's WSMan endpoint.

One :class:`Shell` per ShellId holds a psrpcore ``ServerRunspacePool`` and a condition
variable, because psrpcore is not thread-safe and Receive must wait for output that another
thread produces. Pipelines run the seam's :class:`CmdletService` on a worker thread, outside
the lock, so a slow cmdlet blocks neither its pool nor the HTTP thread that started it; a
Receive that waits too long answers TimedOut, as WinRM does, and pypsrp retries.

A fault switch may decide at a pipeline's start what becomes of its answer
(:mod:`lync_emulator.replies`): held, so Receives answer TimedOut until it is due, or lost,
so the Receive that would deliver its final state raises :class:`~lync_emulator.wsman.ReplyLost`
and gets no HTTP answer at all. Pipelines run on Command (once their input is complete), so
by the time that Receive comes the cmdlet has committed.

Speed matters here (the emulator must never be a benchmark's bottleneck) and most of an
invocation's server time is psrpcore (de)serializing, so the hot path avoids work a real
server does not do either: workers are pooled threads handed their job only after the
shell's lock is released (a fresh thread per pipeline, started under the lock, cost a
thread start plus a lock convoy on every call), and the Running state is not sent.
"""

from __future__ import annotations

import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from psrpcore import (
    CreatePipelineEvent,
    EndOfPipelineInputEvent,
    GetAvailableRunspacesEvent,
    PipelineInputEvent,
    PSRPCoreError,
    PSRPPayload,
    ResetRunspaceStateEvent,
    ServerPipeline,
    ServerRunspacePool,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
    StreamType,
)
from psrpcore.types import ErrorRecord, PSInvocationState, PSRPMessageType, RunspacePoolState
from psrpcore.types._base import add_note_property

from lync_emulator import wsman
from lync_emulator.counters import Counter, Counters
from lync_emulator.invocation import (
    Caller,
    CmdletService,
    ErrorInfo,
    InvocationResult,
    Role,
    Statement,
)
from lync_emulator.replies import ReplyFaults, ReplyPlan
from lync_emulator.values import error_record, statements_from, to_psobject

# Size of the PSRP payloads queued for Receive; several are packed per envelope.
_CHUNK = 32 * 1024
# Workers are only created when none is idle, so this caps concurrent slow cmdlets only.
_MAX_WORKERS = 64
_TERMINAL = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)

# The seam carries no pipeline input (the library never sends any), so refuse it openly.
NO_INPUT = ErrorInfo(
    message="This endpoint does not accept pipeline input; pass values as parameters.",
    fully_qualified_error_id="InputNotSupported",
    category="InvalidOperation",
    exception_type="System.Management.Automation.PSInvalidOperationException",
)


class _LyncRunspacePool(ServerRunspacePool):
    """psrpcore's pool with pypsrp's ``CI`` call id accepted (notes, pitfall 9).

    pypsrp names the call-id property ``CI``; MS-PSRP and psrpcore use ``ci`` and psrpcore
    matches case-sensitively, so the property is copied before psrpcore reads it.
    """

    @staticmethod
    def _fix_ci(event: Any) -> None:
        obj = event._ps_object  # private in psrpcore 0.3.1, which is pinned for this
        if getattr(obj, "ci", None) is None and getattr(obj, "CI", None) is not None:
            add_note_property(obj, "ci", obj.CI)

    def _process_SetMaxRunspaces(self, event: SetMaxRunspacesEvent) -> None:  # noqa: N802
        self._fix_ci(event)
        super()._process_SetMaxRunspaces(event)

    def _process_SetMinRunspaces(self, event: SetMinRunspacesEvent) -> None:  # noqa: N802
        self._fix_ci(event)
        super()._process_SetMinRunspaces(event)

    def _process_GetAvailableRunspaces(self, event: GetAvailableRunspacesEvent) -> None:  # noqa: N802
        self._fix_ci(event)
        super()._process_GetAvailableRunspaces(event)

    def _process_ResetRunspaceState(self, event: ResetRunspaceStateEvent) -> None:  # noqa: N802
        self._fix_ci(event)
        super()._process_ResetRunspaceState(event)


@dataclass
class _Pipeline:
    pipe: ServerPipeline
    got_input: bool = False
    started: bool = False
    reply: ReplyPlan = field(default_factory=ReplyPlan)

    @property
    def finished(self) -> bool:
        return self.pipe.state in _TERMINAL


@dataclass
class _Job:
    """A started pipeline's work, handed to a worker once the shell's lock is released."""

    shell: Shell
    record: _Pipeline
    statements: list[Statement]
    caller: Caller
    refusal: ErrorInfo | None


@dataclass
class Shell:
    """One runspace pool; every field is guarded by ``cond``."""

    shell_id: str
    owner: str
    pool: _LyncRunspacePool = field(default_factory=_LyncRunspacePool)
    cond: threading.Condition = field(
        default_factory=lambda: threading.Condition(threading.RLock())
    )
    queues: dict[uuid.UUID | None, deque[bytes]] = field(default_factory=dict)
    pipelines: dict[uuid.UUID, _Pipeline] = field(default_factory=dict)
    # Commands not yet acknowledged with the Terminate signal: Windows counts them against
    # MaxConcurrentCommandsPerShell even after their output was delivered (and the state
    # above forgot them).
    unterminated: set[uuid.UUID] = field(default_factory=set)
    # When the runspace pool has opened (time.monotonic()): WinRM answers Create at once
    # and the pool's opening messages come by Receive once the session is up (the Lync
    # module loaded); a Receive that waits past its OperationTimeout gets TimedOut.
    opens_at: float = 0.0
    gone: bool = False


class ShellTable:
    """The :class:`~lync_emulator.wsman.ShellBackend` for one role.

    ``caller_for`` maps the authenticated account to its Lync RBAC role; ``open_cost_s`` is
    read on every Create so fault injection can change it at runtime; ``replies`` decides
    what becomes of each pipeline's answer; ``max_commands`` is the shell's
    MaxConcurrentCommandsPerShell quota (:func:`wsman.commands_per_shell_exceeded`);
    ``max_shells_per_user`` the shells one user may hold open
    (:func:`wsman.shells_per_user_exceeded`), counted until each is deleted: a shell a
    client drops without Delete holds its place (this table has no idle timeout).
    """

    def __init__(
        self,
        role: Role,
        service: CmdletService,
        *,
        caller_for: Callable[[str], Caller],
        counters: Counters,
        replies: ReplyFaults,
        open_cost_s: Callable[[], float] = lambda: 0.0,
        max_commands: int = 1000,
        max_shells_per_user: int = wsman.SHELLS_PER_USER_DEFAULT,
    ) -> None:
        self.max_commands = max_commands
        self.max_shells_per_user = max_shells_per_user
        self.role = role
        self.service = service
        self.caller_for = caller_for
        self.counters = counters
        self.replies = replies
        self.open_cost_s = open_cost_s
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self._workers = ThreadPoolExecutor(_MAX_WORKERS, thread_name_prefix=f"{role}-pipeline")
        replies.subscribe(self._wake_all)

    def close(self, *, wait: bool = False) -> None:
        """Forget every shell and let the pipeline workers exit once idle.

        ``wait`` also waits for cmdlets still running, so that whatever they commit lands
        before the caller goes on (a restart reloading the store from its file).
        """
        self.replies.unsubscribe(self._wake_all)
        self.forget_all()
        self._workers.shutdown(wait=wait, cancel_futures=True)

    # -- table --------------------------------------------------------------------------

    def owner(self, shell_id: str) -> str | None:
        with self._lock:
            shell = self._shells.get(shell_id)
        return shell.owner if shell else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._shells)

    def _shell(self, shell_id: str) -> Shell:
        with self._lock:
            shell = self._shells.get(shell_id)
        if shell is None:
            raise wsman.shell_not_found(shell_id)
        return shell

    def _drop(self, shell_id: str) -> Shell | None:
        with self._lock:
            shell = self._shells.pop(shell_id, None)
        if shell is not None:
            with shell.cond:
                shell.gone = True
                shell.pool.pipeline_table.clear()
                shell.cond.notify_all()
            self.counters.add(Counter.SHELLS_OPEN, self.role, -1)
        return shell

    def _wake_all(self) -> None:
        """Let every waiting Receive look again (held answers were released)."""
        with self._lock:
            shells = list(self._shells.values())
        for shell in shells:
            with shell.cond:
                shell.cond.notify_all()

    def forget_all(self) -> None:
        """Lose every shell, as a server restart would; clients see faults on next use."""
        with self._lock:
            ids = list(self._shells)
        for shell_id in ids:
            self._drop(shell_id)

    # -- WSMan actions ------------------------------------------------------------------

    def create(self, shell_id: str, creation_data: bytes, owner: str) -> None:
        with self._lock:
            self._check_quota(owner)  # before any work, as WinRM does
        shell = Shell(shell_id, owner)
        # The seconds a Lync session spends importing its module, before the pool is open.
        shell.opens_at = time.monotonic() + self.open_cost_s()
        with shell.cond:
            self._feed(shell, None, creation_data)
            if shell.pool.state != RunspacePoolState.Opened:
                raise wsman.invalid_request("creationXml did not open a runspace pool")
        with self._lock:
            if shell_id in self._shells:
                raise wsman.invalid_request(f"a shell with ShellId {shell_id} already exists")
            self._check_quota(owner)  # again: a Create racing this one
            self._shells[shell_id] = shell
        self.counters.add(Counter.POOLS_OPENED, self.role)
        self.counters.add(Counter.SHELLS_OPEN, self.role)

    def _check_quota(self, owner: str) -> None:
        """Refuse a new shell for a user who holds ``max_shells_per_user`` of them (called
        with the table's lock held)."""
        held = sum(other.owner == owner for other in self._shells.values())
        if held >= self.max_shells_per_user:
            raise wsman.shells_per_user_exceeded()

    def command(self, shell_id: str, command_id: str, arguments: bytes) -> None:
        shell = self._shell(shell_id)
        pid = _uuid(command_id)
        with shell.cond:
            if pid in shell.pipelines:
                raise wsman.invalid_request(f"CommandId {command_id} is already in use")
            if len(shell.unterminated) >= self.max_commands:
                raise wsman.commands_per_shell_exceeded()
            # psrpcore looks the pipeline up when CreatePipeline arrives (pitfall 3).
            shell.pipelines[pid] = _Pipeline(ServerPipeline(shell.pool, pid))
            shell.queues[pid] = deque()
            try:
                jobs = self._feed(shell, pid, arguments)
            except wsman.WSManFaultError:  # refused: no command was made
                shell.pipelines.pop(pid, None)
                shell.queues.pop(pid, None)
                raise
            shell.unterminated.add(pid)
        self._launch(jobs)

    def send(self, shell_id: str, command_id: str | None, data: bytes) -> None:
        shell = self._shell(shell_id)
        pid = _uuid(command_id) if command_id else None
        with shell.cond:
            if pid is not None and pid not in shell.pipelines:
                raise wsman.invalid_request(f"unknown CommandId {command_id}")
            jobs = self._feed(shell, pid, data)
        self._launch(jobs)

    def receive(
        self, shell_id: str, command_id: str | None, budget: int, timeout_s: float
    ) -> wsman.ReceiveResult:
        shell = self._shell(shell_id)
        pid = _uuid(command_id) if command_id else None
        deadline = time.monotonic() + timeout_s
        with shell.cond:
            while True:
                if shell.gone:
                    raise wsman.shell_not_found(shell_id)
                record = shell.pipelines.get(pid) if pid else None
                if pid is not None and record is None:
                    raise wsman.invalid_request(f"unknown CommandId {command_id}")
                queue = shell.queues.setdefault(pid, deque())
                remaining = deadline - time.monotonic()
                if queue or (record is not None and record.finished):
                    held = self.replies.held_for(record.reply.hold) if record else 0.0
                    if pid is None:  # the pool's own messages wait until it has opened
                        held = max(held, shell.opens_at - time.monotonic())
                    if held <= 0:
                        break
                    remaining = min(remaining, held)  # answer TimedOut, as for a slow cmdlet
                if remaining <= 0:
                    raise wsman.timed_out()
                shell.cond.wait(remaining)
            result = wsman.ReceiveResult(command_id=command_id)
            used = 0
            while queue:
                chunk = wsman.StreamChunk(queue[0], command_id)
                if result.chunks and used + wsman.stream_cost(chunk) > budget:
                    break
                used += wsman.stream_cost(chunk)
                result.chunks.append(chunk)
                queue.popleft()
            if record is not None and record.finished and not queue:
                result.done = True
                self._prune(shell, record)
                if record.reply.lost:
                    raise wsman.ReplyLost(record.reply.outage_s)
            return result

    def signal(self, shell_id: str, command_id: str, code: str) -> None:
        shell = self._shell(shell_id)
        with shell.cond:
            pid = _uuid(command_id)
            if code == wsman.SIGNAL_TERMINATE:
                shell.unterminated.discard(pid)
            record = shell.pipelines.get(pid)
            if record is None:
                return  # already pruned once Done was delivered: nothing left to stop
            if not record.finished:
                if record.pipe.state == PSInvocationState.NotStarted:
                    _mark_running(record.pipe)
                record.pipe.stop()
                self._drain(shell)
            if code == wsman.SIGNAL_TERMINATE:
                self._prune(shell, record)

    def delete(self, shell_id: str) -> None:
        self._shell(shell_id)
        if self._drop(shell_id) is not None:
            self.counters.add(Counter.POOLS_CLOSED, self.role)

    # -- PSRP -----------------------------------------------------------------------------

    def _feed(self, shell: Shell, pid: uuid.UUID | None, data: bytes) -> list[_Job]:
        """Feed fragments to psrpcore and act on the events they complete (lock held).

        Returns the pipelines this started, for :meth:`_launch` once the lock is released.
        """
        pool = shell.pool
        jobs: list[_Job] = []
        try:
            pool.receive_data(PSRPPayload(data, StreamType.default, pid))
            while (event := pool.next_event()) is not None:
                if isinstance(event, CreatePipelineEvent):
                    # psrpcore stored the parsed pipeline as metadata; event.pipeline
                    # would parse it all over again.
                    metadata = shell.pipelines[event.pipeline_id].pipe.metadata
                    if metadata is None or metadata.no_input:
                        jobs += self._start(shell, event.pipeline_id)
                elif isinstance(event, PipelineInputEvent):
                    shell.pipelines[event.pipeline_id].got_input = True
                elif isinstance(event, EndOfPipelineInputEvent):
                    jobs += self._start(shell, event.pipeline_id)
                elif isinstance(
                    event, SetMaxRunspacesEvent | SetMinRunspacesEvent | ResetRunspaceStateEvent
                ):
                    pool.runspace_availability_response(event.ci, True)
                elif isinstance(event, GetAvailableRunspacesEvent):
                    pool.runspace_availability_response(event.ci, pool.max_runspaces)
        except (PSRPCoreError, KeyError, ValueError, IndexError, struct.error, ParseError) as exc:
            # The client's bytes are untrusted; psrpcore fails on them in all these ways.
            raise wsman.invalid_request(f"bad PSRP data: {exc}") from None
        finally:
            self._drain(shell)
        return jobs

    def _drain(self, shell: Shell) -> None:
        """Move psrpcore's outgoing fragments into per-target queues and wake Receives."""
        while (payload := shell.pool.data_to_send(_CHUNK)) is not None:
            queue = shell.queues.get(payload.pipeline_id)
            if queue is None and payload.pipeline_id is None:
                queue = shell.queues[None] = deque()
            if queue is not None:  # else the pipeline was terminated: drop its output
                queue.append(payload.data)
        shell.cond.notify_all()

    def _prune(self, shell: Shell, record: _Pipeline) -> None:
        """Forget a finished pipeline; psrpcore refuses to close a pool that still has one."""
        record.pipe.close()
        shell.pipelines.pop(record.pipe.pipeline_id, None)
        shell.queues.pop(record.pipe.pipeline_id, None)

    def _start(self, shell: Shell, pid: uuid.UUID) -> list[_Job]:
        """Mark a pipeline Running and describe its work; empty if it already started."""
        record = shell.pipelines[pid]
        if record.started:
            return []
        record.started = True
        _mark_running(record.pipe)
        metadata = record.pipe.metadata
        statements = statements_from(metadata.commands if metadata is not None else [])
        record.reply = self.replies.plan([statement.command for statement in statements])
        refusal = NO_INPUT if record.got_input else None
        return [_Job(shell, record, statements, self.caller_for(shell.owner), refusal)]

    def _launch(self, jobs: list[_Job]) -> None:
        for job in jobs:
            self._workers.submit(self._run, job)

    def _run(self, job: _Job) -> None:
        """Run the statements off the lock, then write what they produced."""
        shell, record, statements = job.shell, job.record, job.statements
        if job.refusal is not None:
            result = InvocationResult(terminating=job.refusal)
        else:
            try:
                result = self.service.invoke(self.role, statements, job.caller)
            except Exception as exc:  # a bug in the model fails the pipeline
                result = InvocationResult(
                    terminating=ErrorInfo(
                        message=f"The emulator failed: {type(exc).__name__}: {exc}",
                        fully_qualified_error_id="EmulatorInternalError",
                        category="NotSpecified",
                    )
                )
        self.counters.add(Counter.PIPELINES_RUN, self.role)
        activity = statements[0].command if statements else ""
        with shell.cond:
            if shell.gone or record.pipe.state != PSInvocationState.Running:
                return  # stopped, terminated or forgotten meanwhile
            _write(record.pipe, result, activity)
            self._drain(shell)


def _mark_running(pipe: ServerPipeline) -> None:
    """Move a pipeline to Running without sending a PipelineState message.

    A real server reports only a pipeline's final state (PowerShell's ServerPowerShellDriver
    sends Completed, Failed and Stopped); psrpcore's ``start()`` would also serialize and
    send Running, an eighth of the server's time per invocation for a message pypsrp
    ignores. ``_change_state`` is private in psrpcore 0.3.1, which is pinned for this.
    """
    pipe._change_state(PSInvocationState.Running, emit=False)


def _write(pipe: ServerPipeline, result: InvocationResult, activity: str) -> None:
    """Write a result as PSRP messages: output, warnings, errors, then the final state."""
    for obj in result.output:
        pipe.write_output(to_psobject(obj))
    for warning in result.warnings:
        pipe.write_warning(warning)
    for error in result.errors:
        # Not pipe.write_error: it rebuilds the record, losing its escaped ToString.
        pipe.prepare_message(_record(error, activity), PSRPMessageType.ErrorRecord)
    if result.terminating is None:
        pipe.complete()
    else:
        # psrpcore 0.3.1 has no public way to fail a pipeline (notes, pitfall 12).
        pipe._change_state(PSInvocationState.Failed, _record(result.terminating, activity))


def _record(error: ErrorInfo, activity: str) -> ErrorRecord:
    """The error's record; ``activity`` (the pipeline's first command) when it says none."""
    return error_record(error, activity if error.activity is None else error.activity)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise wsman.invalid_request(f"{text!r} is not a GUID") from None
