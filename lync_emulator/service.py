"""The emulated Lync Server behind the protocol front: runs statements against the store.

:class:`LyncService` implements :class:`~lync_emulator.invocation.CmdletService`. For each
statement it applies, in PowerShell's order, the checks a real server makes (NoLanguage
refuses scripts, unknown commands, injected faults, RBAC, parameter binding, the Edge's
read-only replica), runs the cmdlet body, commits its buffered writes as one store version,
persists the state, and records the invocation in the audit log. One lock serializes
invocations: the front calls from many threads, and a cmdlet is microseconds of work.

The service impersonates one server product (``version``), which decides which parameters
bind and which properties Get returns, and keeps one server clock: the real clock plus
``clock_skew_seconds``. Every time the server reports (replica status times, CMS heartbeat,
store version times, audit entries) is read from that clock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from lync_emulator import cmdlets
from lync_emulator.audit import AuditEntry, AuditLog, Outcome
from lync_emulator.cmdlet_faults import CmdletFaults
from lync_emulator.cmdlets.base import Cmdlet, Invocation
from lync_emulator.cmdlets.binding import Bound, bind
from lync_emulator.cmdlets.errors import CmdletError
from lync_emulator.invocation import (
    Caller,
    ErrorInfo,
    InvocationResult,
    Role,
    Statement,
)
from lync_emulator.replication import (
    DEFAULT_REPLICAS,
    Clock,
    ReplicaSpec,
    Replication,
    ReplicationSettings,
    utc,
)
from lync_emulator.store import (
    ManagementStore,
    StoreView,
    apply_changes,
    copy_data,
    dump_data,
    load_data,
    load_state,
    save_state,
)
from lync_emulator.versions import DEFAULT_VERSION, PRODUCT_VERSIONS, ServerVersion

VIEW_ONLY_ROLE = "CsViewOnlyAdministrator"
DEFAULT_CALLER = Caller("CONTOSO\\administrator")


def _script_refused() -> CmdletError:
    return CmdletError(
        "The syntax is not supported by this runspace. This can occur if the runspace is in "
        "no-language mode. Only cmdlet invocations are allowed in this runspace; scripts "
        "are not.",
        "ScriptsNotAllowed",
        "ParserError",
        exception_type="System.Management.Automation.ParseException",
        qualified=True,
    )


def _pipeline_refused(command: str) -> CmdletError:
    return CmdletError(
        f"Piping the output of '{command}' into other commands is not supported by this "
        "runspace: send one cmdlet per statement.",
        "PipelineNotSupported",
        "InvalidOperation",
        target=command,
        exception_type="System.Management.Automation.PSNotSupportedException",
        qualified=True,
    )


def _command_not_found(command: str) -> CmdletError:
    return CmdletError(
        f"The term '{command}' is not recognized as the name of a cmdlet, function, script "
        "file, or operable program. Check the spelling of the name, or if a path was "
        "included, verify that the path is correct and try again.",
        "CommandNotFoundException",
        "ObjectNotFound",
        target=command,
        exception_type="System.Management.Automation.CommandNotFoundException",
        qualified=True,
    )


def _edge_refusal(cmdlet: Cmdlet, bound: Bound) -> CmdletError | None:
    """Why an Edge cannot run this, if it cannot: writes, and reads of the CMS itself."""
    if cmdlet.writes:
        return CmdletError(
            f"{cmdlet.name} cannot run on an Edge Server: its configuration store is a "
            "read-only replica of the Central Management Store. Make changes on an internal "
            "server or through the front end pool's OcsPowershell endpoint.",
            "ReadOnlyStore",
            "InvalidOperation",
        )
    if cmdlet.needs_cms and not bound.has("LocalStore"):
        return CmdletError(
            "An Edge Server cannot reach the Central Management Store. Use the -LocalStore "
            "parameter to read this server's local replica.",
            "CentralManagementStoreUnreachable",
            "ResourceUnavailable",
        )
    return None


class LyncService:
    """The state model of one emulated deployment: store, directory, replicas, audit, faults.

    ``replicas`` defaults to one front end and one Edge; ``state_path`` makes the store
    survive restarts; ``audit_path`` mirrors the audit log to a JSON-lines file; ``clock``
    (seconds since the epoch) is the real clock, and ``clock_skew_seconds`` how far the
    server's own clock is off it (either way); ``version`` is the product impersonated
    (``"2013"``, ``"2015"``, ``"2019"``, ``"SE"``).
    """

    def __init__(
        self,
        *,
        replicas: Sequence[ReplicaSpec] | None = None,
        replication: ReplicationSettings | None = None,
        state_path: str | os.PathLike[str] | None = None,
        audit_path: str | os.PathLike[str] | None = None,
        clock: Clock = time.time,
        clock_skew_seconds: float = 0.0,
        version: ServerVersion | str = DEFAULT_VERSION,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._skew = float(clock_skew_seconds)
        self.version = ServerVersion.parse(version)
        self._state_path = Path(state_path) if state_path is not None else None
        state = load_state(self._state_path) if self._state_path else None
        if state is None:
            self.store = ManagementStore(cmdlets.seed_data(), self.now())
            self.directory = copy_data(cmdlets.seed_directory())
        else:
            self.store = ManagementStore.from_state(state["store"])
            self.directory = load_data(state["directory"])
        self.replication = Replication(
            self.store,
            replicas or DEFAULT_REPLICAS,
            replication,
            product_version=PRODUCT_VERSIONS[self.version],
            clock=self.now,
            lock=self._lock,
            state=state["replication"] if state else None,
        )
        self._audit_path = audit_path
        self.audit = AuditLog(audit_path)
        self.faults = CmdletFaults()
        self._persist()

    def restarted(self) -> LyncService:
        """This deployment's state model as a restarted server process loads it.

        With a ``state_path``, a fresh service reads the persisted file, with the same
        replicas, replication settings, version and clock (skew included), as a new process
        on the same machine would. The audit log and the fault switches carry over: they are
        the tests' instruments, not server state. Without a state file there is nothing to
        load, so the store is kept in memory: the same service goes on.
        """
        if self._state_path is None:
            return self
        with self._lock:
            service = LyncService(
                replicas=self.replication.replicas,
                replication=self.replication.settings,
                state_path=self._state_path,
                audit_path=self._audit_path,
                clock=self._clock,
                clock_skew_seconds=self._skew,
                version=self.version,
            )
        service.audit = self.audit
        service.faults = self.faults
        return service

    def now(self) -> float:
        """The server's clock: the real clock plus the skew."""
        return self._clock() + self._skew

    @property
    def clock_skew_seconds(self) -> float:
        """How far the server's clock is ahead of the real one (negative: behind)."""
        return self._skew

    @clock_skew_seconds.setter
    def clock_skew_seconds(self, seconds: float) -> None:
        # Steps the server clock, as an NTP correction would: times already reported stay,
        # later ones (and replication timing, which runs on this clock) use the new skew.
        with self._lock:
            self._skew = float(seconds)

    @property
    def edge_replica_fqdn(self) -> str:
        """The replica that ``-LocalStore`` reads on the edge role."""
        return self.replication.fqdn_for(Role.EDGE)

    @property
    def frontend_replica_fqdn(self) -> str:
        """The replica that ``-LocalStore`` reads on the frontend and local roles."""
        return self.replication.fqdn_for(Role.FRONTEND)

    def run(
        self,
        role: Role | str,
        command: str,
        *positional: Any,
        caller: Caller = DEFAULT_CALLER,
        **named: Any,
    ) -> InvocationResult:
        """Invoke one cmdlet: ``run("frontend", "Get-CsUser", "alice", ResultSize=1)``.

        A named value of None is sent without a value, so it binds as a switch.
        """
        parameters: list[tuple[str | None, Any]] = [(None, value) for value in positional]
        parameters += list(named.items())
        return self.invoke(Role(role), [Statement(command, parameters)], caller)

    def invoke(self, role: Role, statements: list[Statement], caller: Caller) -> InvocationResult:
        """Run the statements in order; a terminating error stops the rest."""
        result = InvocationResult()
        for statement in statements:
            with self._lock:
                self._run(role, statement, caller, result)
            if result.terminating is not None:
                break
        return result

    def _resolve(self, role: Role, statement: Statement) -> Cmdlet:
        if statement.is_script:
            raise _script_refused()
        cmdlet = cmdlets.find(statement.command)
        if cmdlet is None or role not in cmdlet.roles:
            raise _command_not_found(statement.command)
        if statement.piped_commands:
            raise _pipeline_refused(cmdlet.name)
        return cmdlet

    @staticmethod
    def _check_rbac(role: Role, caller: Caller, cmdlet: Cmdlet) -> None:
        # Lync RBAC governs remote administration only; the Edge and a local shell are not
        # subject to it (lync-cmdlets.md §6).
        view_only = caller.rbac_role.casefold() == VIEW_ONLY_ROLE.casefold()
        if role is Role.FRONTEND and view_only and not cmdlet.name.startswith("Get-"):
            raise CmdletError(
                f'Access denied: the role "{caller.rbac_role}" of "{caller.username}" does '
                f"not allow running {cmdlet.name}; view-only administrators may run only "
                "Get- cmdlets.",
                "AccessDenied",
                "PermissionDenied",
                target=cmdlet.name,
                exception_type="System.UnauthorizedAccessException",
            )

    def _run(
        self, role: Role, statement: Statement, caller: Caller, result: InvocationResult
    ) -> None:
        now = self.now()
        cmdlet: Cmdlet | None = None
        bound: Bound | None = None
        errors: list[ErrorInfo] = []
        warnings: list[str] = []
        terminating: ErrorInfo | None = None
        wrote = False
        try:
            cmdlet = self._resolve(role, statement)
            self.faults.count(cmdlet)
            self._check_rbac(role, caller, cmdlet)
            bound = bind(cmdlet.params, cmdlet.sets, statement.parameters, version=self.version)
            refusal = _edge_refusal(cmdlet, bound) if role is Role.EDGE else None
            if refusal is not None:
                raise refusal
            inv = Invocation(
                cmdlet,
                bound,
                role,
                caller,
                now,
                self.version,
                self.store.view(),
                StoreView(self.directory),
                self.replication,
            )
            try:
                cmdlet.run(inv)
            finally:
                result.output.extend(inv.output)
                errors, warnings = inv.errors, inv.warnings
            wrote = self._commit(inv, now)
        except CmdletError as err:
            info = err.to_info(cmdlet.class_name if cmdlet else None)
            if err.terminating:
                terminating = info
            else:
                errors.append(info)
        if bound is not None:
            terminating, errors, warnings = _apply_preferences(bound, terminating, errors, warnings)
        activity = cmdlet.name if cmdlet else ""  # no cmdlet ran: PowerShell leaves it empty
        errors = [e if e.activity is not None else replace(e, activity=activity) for e in errors]
        if terminating is not None and terminating.activity is None:
            terminating = replace(terminating, activity=activity)
        result.errors.extend(errors)
        result.warnings.extend(warnings)
        result.terminating = terminating
        self._audit(
            statement,
            role=role,
            caller=caller,
            now=now,
            cmdlet=cmdlet,
            bound=bound,
            terminating=terminating,
            errors=errors,
            wrote=wrote,
        )

    def _commit(self, inv: Invocation, now: float) -> bool:
        """Commit the buffered writes (none under -WhatIf) and persist.

        CMS changes become one store version, which replicates; directory changes are
        applied in place and replicate nowhere.
        """
        committing = inv.cmdlet.writes and not inv.bound.has("WhatIf")
        if committing and inv.changes:
            self.replication.before_write(now)
            self.store.commit(inv.changes, now)
        if committing and inv.directory_changes:
            apply_changes(self.directory, inv.directory_changes)
        wrote = committing and bool(inv.changes or inv.directory_changes)
        if wrote or inv.replication_changed:
            self._persist()
        return wrote

    def _persist(self) -> None:
        if self._state_path is not None:
            # Settle replication first: replicas that caught up need not save their copies.
            self.replication.advance(self.now())
            state = {
                "store": self.store.to_state(),
                "directory": dump_data(self.directory),
                "replication": self.replication.to_state(),
            }
            save_state(self._state_path, state)

    def _audit(
        self,
        statement: Statement,
        *,
        role: Role,
        caller: Caller,
        now: float,
        cmdlet: Cmdlet | None,
        bound: Bound | None,
        terminating: ErrorInfo | None,
        errors: list[ErrorInfo],
        wrote: bool,
    ) -> None:
        if bound is not None:
            parameters = dict(bound.values)
        else:
            parameters = {
                name if name is not None else f"$args[{index}]": value
                for index, (name, value) in enumerate(statement.parameters)
            }
        first = terminating or (errors[0] if errors else None)
        outcome: Outcome = "failed" if terminating else "error" if errors else "ok"
        self.audit.record(
            AuditEntry(
                time=utc(now),
                role=role.value,
                username=caller.username,
                cmdlet=cmdlet.name if cmdlet else statement.command,
                parameters=parameters,
                outcome=outcome,
                error_id=first.fully_qualified_error_id if first else None,
                wrote=wrote,
            )
        )


def _apply_preferences(
    bound: Bound,
    terminating: ErrorInfo | None,
    errors: list[ErrorInfo],
    warnings: list[str],
) -> tuple[ErrorInfo | None, list[ErrorInfo], list[str]]:
    """Honour -ErrorAction and -WarningAction as PowerShell does for one command."""
    error_action = bound.get("ErrorAction")
    if error_action == "Stop" and errors and terminating is None:
        terminating, errors = errors[0], []
    elif error_action in ("SilentlyContinue", "Ignore"):
        errors = []
    if bound.get("WarningAction") in ("SilentlyContinue", "Ignore"):
        warnings = []
    return terminating, errors, warnings
