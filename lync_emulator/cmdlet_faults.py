"""Injected cmdlet failures: the Nth invocation of a cmdlet, or the Nth write, fails.

These switches need Lync knowledge (which cmdlets exist, which write), so they live with the
state model; ``emu.faults`` delegates here. One object serves a deployment for its whole
life: a restarted service (:meth:`LyncService.restarted`) keeps it, so a fault set before a
restart still fires after it.

Every role counts, the server's own Management Shell (``run_cmdlet``) included, and a
counted invocation fails before RBAC, binding or the cmdlet body, so nothing is applied.
A writing cmdlet is one declared ``Cmdlet.writes``, whatever its parameters (``-WhatIf``
included) and wherever it runs (an Edge would refuse it anyway).
"""

from __future__ import annotations

import threading

from lync_emulator import cmdlets
from lync_emulator.cmdlets.base import Cmdlet
from lync_emulator.cmdlets.errors import CmdletError


def _injected(what: str, *, terminating: bool = True) -> CmdletError:
    return CmdletError(
        f"Injected fault: {what} fails, as the emulator's fault switch requested.",
        "InjectedFault",
        "OperationStopped",
        terminating=terminating,
    )


class CmdletFaults:
    """Which coming invocations fail (the state model's ``ServiceFaults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._failing_calls: dict[str, dict[int, bool]] = {}  # cmdlet -> call -> terminating
        self._writes = 0
        self._failing_writes: set[int] = set()

    def fail_invocation(self, cmdlet: str, nth: int = 1, *, terminating: bool = True) -> None:
        """Make the ``nth`` next invocation of ``cmdlet`` fail with an ``InjectedFault``:
        a terminating error (``ThrowTerminatingError``, which stops the pipeline) or, with
        ``terminating=False``, an error record (``WriteError``), after which the pipeline's
        next statements run; either way the invocation applies nothing."""
        found = cmdlets.find(cmdlet)
        if found is None or nth < 1:
            raise ValueError(f"cannot inject a fault into invocation {nth} of {cmdlet!r}")
        key = found.name.casefold()
        with self._lock:
            failing = self._failing_calls.setdefault(key, {})
            failing[self._calls.get(key, 0) + nth] = terminating

    def fail_write(self, nth: int = 1) -> None:
        """Make the ``nth`` next invocation of a writing cmdlet fail with an ``InjectedFault``."""
        if nth < 1:
            raise ValueError(f"cannot inject a fault into write {nth}")
        with self._lock:
            self._failing_writes.add(self._writes + nth)

    def clear(self) -> None:
        """No invocation fails any more."""
        with self._lock:
            self._failing_calls.clear()
            self._failing_writes.clear()

    def count(self, cmdlet: Cmdlet) -> None:
        """Count an invocation; raise the terminating error if it is one chosen to fail."""
        key = cmdlet.name.casefold()
        with self._lock:
            call = self._calls[key] = self._calls.get(key, 0) + 1
            failing_call = self._failing_calls.get(key, {}).pop(call, None)
            write = 0
            if cmdlet.writes:
                write = self._writes = self._writes + 1
            failing_write = write in self._failing_writes
            self._failing_writes.discard(write)
        if failing_call is not None:
            raise _injected(f"invocation {call} of {cmdlet.name}", terminating=failing_call)
        if failing_write:
            raise _injected(f"write {write} ({cmdlet.name})")
