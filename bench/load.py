"""The emulator alone: what it serves when clients in other processes drive it flat out.

The clients run in separate processes so that this process's CPU time is the emulator's
own; requests per CPU-second is then what one core of emulator can serve, which a reader
compares with the library's call rate to see that the emulator is not the bottleneck.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from typing import Any

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from bench.sizes import Sizes
from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator

CMDLET = "Get-CsAccessEdgeConfiguration"


def _client(port: int, username: str, password: str, calls: int, barrier: Barrier) -> None:
    """One client process: plain pypsrp, its own pool, opened before the clock starts.

    A failure breaks the barrier, so the parent stops waiting at once instead of hanging.
    """
    try:
        _drive(port, username, password, calls, barrier)
    except BaseException:
        barrier.abort()
        raise


def _drive(port: int, username: str, password: str, calls: int, barrier: Barrier) -> None:
    wsman = WSMan(
        "127.0.0.1",
        port=port,
        path="OcsPowershell",
        ssl=False,
        auth="basic",
        encryption="never",
        username=username,
        password=password,
    )
    with RunspacePool(wsman) as pool:
        barrier.wait()  # ready: the parent reads the counters while every client waits
        barrier.wait()  # go
        for _ in range(calls):
            PowerShell(pool).add_cmdlet(CMDLET).invoke()
        barrier.wait()


def run(sizes: Sizes) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")  # no fork of a process with server threads
    barrier = context.Barrier(sizes.load_clients + 1)
    with Emulator(edge=False) as emu:
        clients = [
            context.Process(
                target=_client,
                args=(emu.frontend_port, emu.username, emu.password, sizes.load_calls, barrier),
            )
            for _ in range(sizes.load_clients)
        ]
        for client in clients:
            client.start()
        timeout = 60 + sizes.load_calls  # generous: a call takes milliseconds
        barrier.wait(timeout)  # every client has its pool open and waits for "go"
        requests = emu.counters[Counter.HTTP_REQUESTS, "frontend"]
        pipelines = emu.counters[Counter.PIPELINES_RUN, "frontend"]
        cpu, start = time.process_time(), time.perf_counter()
        barrier.wait(timeout)  # go: no client can have called before the counters were read
        barrier.wait(timeout)  # every client is done
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        requests = emu.counters[Counter.HTTP_REQUESTS, "frontend"] - requests
        pipelines = emu.counters[Counter.PIPELINES_RUN, "frontend"] - pipelines
        for client in clients:
            client.join()
    return {
        "clients": sizes.load_clients,
        "invocations": pipelines,
        "requests": requests,
        "wall_s": round(wall, 3),
        "invocations_per_s": round(pipelines / wall, 1),
        "requests_per_s": round(requests / wall, 1),
        "server_cpu_ms_per_invocation": round(cpu / pipelines * 1000, 3),
        "invocations_per_server_cpu_s": round(pipelines / cpu, 1),
        "client_exit_codes": [client.exitcode for client in clients],
    }
