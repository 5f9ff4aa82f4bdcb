"""One pooled LyncSession: the first call (pool open) against later calls, throughput from
1, 4 and 8 threads, and what a fresh session per call would cost instead."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.connect import endpoint
from bench.sizes import Sizes
from bench.stats import latency_ms
from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.remoting import CmdletCall, LyncSession

CALL = CmdletCall("Get-CsAccessEdgeConfiguration")


def _timed_call(session: LyncSession) -> float:
    start = time.perf_counter()
    session.read(CALL)
    return time.perf_counter() - start


def _from_threads(session: LyncSession, threads: int, calls_each: int) -> tuple[float, list[float]]:
    """Wall time and per-call latencies of ``threads`` threads calling at once."""
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def work(mine: list[float]) -> None:
        barrier.wait()
        mine.extend(_timed_call(session) for _ in range(calls_each))

    workers = [threading.Thread(target=work, args=(mine,)) for mine in latencies]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start, [t for mine in latencies for t in mine]


def run(sizes: Sizes) -> dict[str, Any]:
    with Emulator(edge=False, open_cost_ms=sizes.open_cost_ms) as emu:
        settings = endpoint(emu)
        session = LyncSession(settings)
        try:
            first_s = _timed_call(session)
            rows = []
            for threads in sizes.threads:
                calls_each = sizes.calls // threads
                requests_before = emu.counters[Counter.HTTP_REQUESTS, "frontend"]
                wall, latencies = _from_threads(session, threads, calls_each)
                requests = emu.counters[Counter.HTTP_REQUESTS, "frontend"] - requests_before
                rows.append(
                    {
                        "threads": threads,
                        "calls": len(latencies),
                        "wall_s": round(wall, 3),
                        "invocations_per_s": round(len(latencies) / wall, 1),
                        "requests_per_call": round(requests / len(latencies), 2),
                        **latency_ms(latencies),
                    }
                )
            pools_opened = session.stats.pools_opened
        finally:
            session.close()

        fresh = []
        for _ in range(sizes.fresh_calls):
            one_off = LyncSession(settings)
            try:
                fresh.append(_timed_call(one_off))
            finally:
                one_off.close()

    pooled_p50 = rows[0]["p50_ms"]
    fresh_latency = latency_ms(fresh)
    return {
        "open_cost_ms": sizes.open_cost_ms,
        "first_call_ms": round(first_s * 1000, 3),
        "pools_opened": pools_opened,
        "threads": rows,
        "fresh_session": {"calls": len(fresh), **fresh_latency},
        "pooling_speedup": round(fresh_latency["p50_ms"] / pooled_p50, 1),
    }
