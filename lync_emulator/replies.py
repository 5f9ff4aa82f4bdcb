"""What becomes of a pipeline's answer: delivered, lost in transit, or held back.

Two fault switches act on a pipeline's answer rather than on a request, so the shell table
(:mod:`lync_emulator.psrp`) consults them when a pipeline starts:

* a **lost** answer: the pipeline runs and commits as usual, but the HTTP exchange that
  would carry its outcome (the Receive answering with its final state) gets no response; the
  connection is closed. The client cannot tell whether the cmdlet ran, which is what a
  dropped connection or a crashed proxy does to a real write. With ``outage_s`` the server
  is also down from that moment (every request 503), like an application pool that crashed
  right after committing, so a client cannot read back what happened either.
* a **held** answer: the pipeline runs at once, but its answer is not delivered before
  ``seconds`` have passed since it started, as for a cmdlet that takes that long. Meanwhile
  each Receive waits and answers the WSMan TimedOut fault, exactly what WinRM answers while a
  command is still running (notes §1; pypsrp swallows it and asks again), so a client's own
  operation timeout is what ends the wait. Holding the answer rather than the HTTP response
  is that choice: a real slow server never leaves an HTTP request unanswered beyond the
  client's OperationTimeout.

Invocations are counted per cmdlet (case-insensitively) in the pipelines of every role; a
pipeline of several statements counts each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Hold:
    """A held answer: not before ``until`` (monotonic), unless released first."""

    until: float
    generation: int


@dataclass(frozen=True)
class ReplyPlan:
    """What happens to one pipeline's answer: ``lost`` (then ``outage_s`` of outage), held."""

    lost: bool = False
    outage_s: float = 0.0
    hold: Hold | None = None


class ReplyFaults:
    """Thread-safe switches for lost and held answers.

    ``subscribe`` registers a callable that wakes waiting Receives, so that
    :meth:`release_replies` takes effect at once rather than at the next timeout.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._lost: dict[str, dict[int, float]] = {}  # cmdlet -> invocation -> outage
        self._hold: tuple[float, str | None] | None = None
        self._generation = 0
        self._wakers: list[Callable[[], None]] = []

    def drop_reply_after(self, cmdlet: str, nth: int = 1, *, outage_s: float = 0.0) -> None:
        """The ``nth`` next invocation of ``cmdlet`` runs, but its answer is lost; then
        ``outage_s`` seconds of outage begin."""
        if nth < 1 or not cmdlet.strip() or outage_s < 0:
            raise ValueError(f"cannot lose the answer of invocation {nth} of {cmdlet!r}")
        key = cmdlet.strip().casefold()
        with self._lock:
            self._lost.setdefault(key, {})[self._calls.get(key, 0) + nth] = outage_s

    def hold_replies(self, seconds: float, cmdlet: str | None = None) -> None:
        """From now on, hold each answer (of ``cmdlet``, or of every pipeline) ``seconds``
        after its pipeline started, until :meth:`release_replies`."""
        if seconds < 0:
            raise ValueError(f"cannot hold answers for {seconds} seconds")
        with self._lock:
            self._hold = (seconds, cmdlet.strip().casefold() if cmdlet else None)

    def release_replies(self) -> None:
        """Stop holding: answers held now are delivered at once, later ones are not held."""
        with self._lock:
            self._hold = None
            self._generation += 1
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    def clear(self) -> None:
        """No answer lost or held any more."""
        with self._lock:
            self._lost.clear()
        self.release_replies()

    # -- consumed by the shell table ------------------------------------------------------

    def subscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._wakers.append(wake)

    def unsubscribe(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._wakers:  # a table closed twice (stop called again) is fine
                self._wakers.remove(wake)

    def plan(self, commands: Sequence[str]) -> ReplyPlan:
        """Count a starting pipeline's invocations and decide what becomes of its answer."""
        keys = [command.casefold() for command in commands]
        with self._lock:
            outages = []
            for key in keys:
                count = self._calls[key] = self._calls.get(key, 0) + 1
                if count in self._lost.get(key, {}):
                    outages.append(self._lost[key].pop(count))
            hold = None
            if self._hold is not None and (self._hold[1] is None or self._hold[1] in keys):
                hold = Hold(time.monotonic() + self._hold[0], self._generation)
        return ReplyPlan(bool(outages), max(outages, default=0.0), hold)

    def held_for(self, hold: Hold | None) -> float:
        """How many more seconds an answer is held (0: deliver it)."""
        if hold is None:
            return 0.0
        with self._lock:
            if hold.generation != self._generation:
                return 0.0
        return max(0.0, hold.until - time.monotonic())
