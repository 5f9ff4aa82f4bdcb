"""Fault injection: the ways a real Lync deployment misbehaves, switchable at runtime.

Tests and benchmarks flip these from Python (``emu.faults``) and the command line sets them
at start. Each one-shot fault is a countdown consumed by the request path, so "the next 3
requests fail" means exactly three, whichever threads serve them. What happens to a
pipeline's answer (lost, held) is :mod:`lync_emulator.replies`'s; failing the Nth invocation
or write needs to know the cmdlets, so the state model owns it (``ServiceFaults``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lync_emulator.invocation import ServiceFaults
from lync_emulator.replies import ReplyFaults

# How long a hung IIS worker holds a request at most: the Windows Process Activation Service
# recycles a worker that fails its health pings for processModel pingResponseTime (90 s by
# default; learn.microsoft.com, IIS configuration reference, applicationPools processModel).
HUNG_WORKER_S = 90.0


class Faults:
    """Thread-safe fault switches shared by every role of one emulator.

    ``forget_shells`` is wired by the emulator to drop every shell table; ``service_faults``
    returns the current state model's switches (a restart replaces the model, not them).
    ``clock`` times outages; a test may replace it to end one without waiting.
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0,
        open_cost_ms: float = 0,
        forget_shells: Callable[[], None] = lambda: None,
        service_faults: Callable[[], ServiceFaults],
    ) -> None:
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.open_cost_ms = open_cost_ms
        self.replies = ReplyFaults()
        self._forget_shells = forget_shells
        self._service_faults = service_faults
        self._http_errors = 0
        self._drops = 0
        self._auth_rejections = 0
        self._reject_all_auth = False
        self._outage_until = 0.0
        self._deaf = 0
        self._hearing = threading.Event()
        self._hearing.set()
        self.clock: Callable[[], float] = time.monotonic

    def fail_next_requests(self, count: int = 1) -> None:
        """Answer the next ``count`` HTTP requests with a bare 500 (no WSMan fault body)."""
        with self._lock:
            self._http_errors += count

    def drop_next_connections(self, count: int = 1) -> None:
        """Close the socket without answering the next ``count`` requests."""
        with self._lock:
            self._drops += count

    def ignore_next_requests(self, count: int = 1) -> None:
        """Read the next ``count`` requests and never answer them, as a hung IIS worker
        does: the connection stays open and silent until the client's read timeout, and is
        closed unanswered once :meth:`hear_again` (or :meth:`clear`, or the emulator's
        stop) frees them, or after :data:`HUNG_WORKER_S`. An ignored request never reaches
        WSMan: whether a hung worker runs a command late is not modelled."""
        with self._lock:
            self._deaf += count
            if self._hearing.is_set():  # a new spell: those freed before stay free
                self._hearing = threading.Event()

    def hear_again(self) -> None:
        """Free every request held by :meth:`ignore_next_requests` and ignore no more."""
        with self._lock:
            self._deaf = 0
            self._hearing.set()

    def reject_next_authentications(self, count: int = 1) -> None:
        """Fail the next ``count`` authentication attempts as if the password were wrong."""
        with self._lock:
            self._auth_rejections += count

    def reject_all_authentications(self, enabled: bool = True) -> None:
        """Fail every authentication until switched off."""
        with self._lock:
            self._reject_all_auth = enabled

    def outage_for(self, seconds: float) -> None:
        """Answer every HTTP request of every role with 503 for the next ``seconds``.

        HTTP.sys answers 503 "The service is unavailable" itself while IIS's application pool
        is stopped (IIS substatus 503.0, "application pool unavailable"); the request never
        reaches WinRM or PowerShell. Shells survive: the switch models the window, not a
        crash (add :meth:`Emulator.restart` for that).
        """
        if seconds < 0:
            raise ValueError(f"an outage cannot last {seconds} seconds")
        with self._lock:
            self._outage_until = self.clock() + seconds

    def end_outage(self) -> None:
        """End the outage now."""
        with self._lock:
            self._outage_until = 0.0

    def forget_shells(self) -> None:
        """Lose every open shell (the listeners and the store stay as they are)."""
        self._forget_shells()

    def fail_invocation(self, cmdlet: str, nth: int = 1, *, terminating: bool = True) -> None:
        """Make the ``nth`` next invocation of ``cmdlet`` fail, terminating the pipeline or
        (``terminating=False``) not (delegated to the state model)."""
        self._service_faults().fail_invocation(cmdlet, nth, terminating=terminating)

    def fail_write(self, nth: int = 1) -> None:
        """Make the ``nth`` next invocation of a writing cmdlet fail, unapplied (delegated to
        the state model, which knows which cmdlets write)."""
        self._service_faults().fail_write(nth)

    def drop_reply_after(self, cmdlet: str, nth: int = 1, *, outage_s: float = 0.0) -> None:
        """The ``nth`` next invocation of ``cmdlet`` runs and commits, but the HTTP exchange
        carrying its outcome gets no answer; with ``outage_s``, an :meth:`outage_for` that
        long starts at that moment (see :mod:`lync_emulator.replies`)."""
        self.replies.drop_reply_after(cmdlet, nth, outage_s=outage_s)

    def hold_replies(self, seconds: float, cmdlet: str | None = None) -> None:
        """Hold answers of pipelines (of ``cmdlet``, or all) ``seconds`` after they start;
        Receives meanwhile answer TimedOut (see :mod:`lync_emulator.replies`)."""
        self.replies.hold_replies(seconds, cmdlet)

    def release_replies(self) -> None:
        """Deliver every held answer now and hold no more."""
        self.replies.release_replies()

    def clear(self) -> None:
        """Switch every fault off: latency, open cost, outage, countdowns, ignored requests,
        lost and held answers, and the state model's failing invocations and writes."""
        with self._lock:
            self.latency_ms = self.open_cost_ms = 0
            self._http_errors = self._drops = self._auth_rejections = 0
            self._reject_all_auth = False
            self._outage_until = 0.0
        self.hear_again()
        self.replies.clear()
        self._service_faults().clear()

    # -- consumed by the request path ---------------------------------------------------

    def _take(self, name: str) -> bool:
        with self._lock:
            left: int = getattr(self, name)
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def take_http_error(self) -> bool:
        """Whether this request gets an injected 500."""
        return self._take("_http_errors")

    def take_drop(self) -> bool:
        """Whether this request's connection is dropped."""
        return self._take("_drops")

    def take_ignored(self) -> threading.Event | None:
        """For a request to be ignored (:meth:`ignore_next_requests`), what frees it."""
        with self._lock:
            if self._deaf <= 0:
                return None
            self._deaf -= 1
            return self._hearing

    def take_auth_rejection(self) -> bool:
        """Whether this authentication attempt is rejected."""
        with self._lock:
            if self._reject_all_auth:
                return True
        return self._take("_auth_rejections")

    def in_outage(self) -> bool:
        """Whether the server is in an outage window now."""
        with self._lock:
            return self.clock() < self._outage_until

    def latency_s(self) -> float:
        return self.latency_ms / 1000

    def open_cost_s(self) -> float:
        return self.open_cost_ms / 1000
