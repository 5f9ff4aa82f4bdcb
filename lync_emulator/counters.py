"""Thread-safe counters of what the emulator did, per role, for tests and benchmarks."""

from __future__ import annotations

import threading
from collections import Counter as _Tally
from enum import StrEnum


class Counter(StrEnum):
    """What is counted. ``SHELLS_OPEN`` is a gauge: it goes down on Delete and restart."""

    HTTP_REQUESTS = "http_requests"
    POOLS_OPENED = "pools_opened"
    POOLS_CLOSED = "pools_closed"
    SHELLS_OPEN = "shells_open"
    AUTH_FAILURES = "auth_failures"
    PIPELINES_RUN = "pipelines_run"


class Counters:
    """Counts keyed by ``(counter, role)``; read with ``counters[Counter.X, "frontend"]``.

    Every handler thread bumps these, so one lock guards the tally; reads are cheap snapshots.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally: _Tally[tuple[str, str]] = _Tally()

    def add(self, counter: Counter, role: str, delta: int = 1) -> None:
        """Add ``delta`` (negative for a gauge going down)."""
        with self._lock:
            self._tally[counter.value, str(role)] += delta

    def __getitem__(self, key: tuple[Counter, str]) -> int:
        counter, role = key
        with self._lock:
            return self._tally[counter.value, str(role)]

    def total(self, counter: Counter) -> int:
        """The sum over all roles."""
        with self._lock:
            return sum(n for (name, _), n in self._tally.items() if name == counter.value)

    def snapshot(self) -> dict[str, int]:
        """All counts as ``{"frontend.http_requests": 12, ...}``, e.g. for a benchmark report."""
        with self._lock:
            return {f"{role}.{name}": n for (name, role), n in sorted(self._tally.items())}
