"""The benchmark's step executor (``bench.drive.in_window``) runs calls as the engine's does:
at most ``parallel`` at once, and taking them lazily, so the Check of the next registration
overlaps the creates already running."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from bench.drive import in_window

WAIT_S = 10  # a bound on a hang, never reached when the behaviour holds


def test_the_next_call_is_produced_while_the_first_runs() -> None:
    first_started, second_produced = threading.Event(), threading.Event()

    def first() -> bool:
        first_started.set()
        # True only if the generator went on to the second call while this one ran.
        return second_produced.wait(WAIT_S)

    def calls() -> Iterator[Callable[[], bool]]:
        yield first
        # Taken eagerly (all calls produced before any runs), this would wait in vain.
        assert first_started.wait(WAIT_S), "the first call did not start before the next Check"
        second_produced.set()  # the engine's Check of the next resource
        yield lambda: True

    assert in_window(calls(), parallel=2) == [True, True]


def test_no_more_than_parallel_calls_run_at_once() -> None:
    lock, running, most = threading.Lock(), [0], [0]
    barrier = threading.Barrier(3, timeout=WAIT_S)

    def call(index: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if index < 3:
            barrier.wait()  # the first three meet, so three really were in flight
        with lock:
            running[0] -= 1
        return index

    assert in_window([lambda i=i: call(i) for i in range(9)], parallel=3) == list(range(9))
    assert most[0] == 3
