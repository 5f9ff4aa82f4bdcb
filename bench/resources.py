"""N hosting providers through HostingProviderProvider: create, read, and a no-op diff,
each timed per resource and costed in emulator HTTP requests, pipelines (one round trip of
Command + Receive each) and cmdlets (the audit log's entries; one pipeline may hold several)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.connect import configured, open_session
from bench.sizes import Sizes
from bench.stats import latency_ms
from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.remoting import close_all_sessions
from lync_provider.resources import HostingProviderProvider


def inputs(index: int) -> dict[str, Any]:
    """A distinct provider per index: Lync requires unique identities and proxy FQDNs."""
    return {
        "identity": f"Bench Provider {index:04d}",
        "proxy_fqdn": f"proxy{index:04d}.bench.example.com",
        "enabled": True,
        "enabled_shared_address_space": True,
        "hosts_ocs_users": False,
        "is_local": False,
        "verification_level": "UseSourceVerification",
    }


def _phase(
    emu: Emulator, name: str, count: int, operation: Callable[[int], bool]
) -> dict[str, Any]:
    """Run ``operation(i)`` for each resource; it returns whether the outcome was as expected."""
    requests = emu.counters.total(Counter.HTTP_REQUESTS)
    pipelines = emu.counters.total(Counter.PIPELINES_RUN)
    cmdlets = len(emu.audit.entries())
    writes = len(emu.audit.writes())
    latencies, as_expected = [], 0
    start = time.perf_counter()
    for index in range(count):
        began = time.perf_counter()
        as_expected += operation(index)
        latencies.append(time.perf_counter() - began)
    wall = time.perf_counter() - start
    return {
        "phase": name,
        "count": count,
        "as_expected": as_expected,
        "wall_s": round(wall, 3),
        "per_s": round(count / wall, 1),
        "requests_per_resource": (emu.counters.total(Counter.HTTP_REQUESTS) - requests) / count,
        "pipelines_per_resource": (emu.counters.total(Counter.PIPELINES_RUN) - pipelines) / count,
        "cmdlets_per_resource": (len(emu.audit.entries()) - cmdlets) / count,
        "writes": len(emu.audit.writes()) - writes,
        **latency_ms(latencies),
    }


def run(sizes: Sizes) -> dict[str, Any]:
    count = sizes.resources
    with Emulator(open_cost_ms=sizes.open_cost_ms) as emu:
        provider = configured(HostingProviderProvider, emu)
        try:
            open_ms = open_session(provider)
            checked = [provider.check({}, inputs(i)).inputs for i in range(count)]
            created: list[Any] = [None] * count

            def create(i: int) -> bool:
                created[i] = provider.create(checked[i])
                return bool(created[i].id)

            def read(i: int) -> bool:
                return bool(provider.read(created[i].id, created[i].outs).id == created[i].id)

            def diff(i: int) -> bool:
                return provider.diff(created[i].id, created[i].outs, checked[i]).changes is False

            phases = [
                _phase(emu, "create", count, create),
                _phase(emu, "read", count, read),
                _phase(emu, "diff (no-op)", count, diff),
            ]
            stored = len(emu.run_cmdlet("Get-CsHostingProvider"))
        finally:
            close_all_sessions()
    return {
        "count": count,
        "open_cost_ms": sizes.open_cost_ms,
        "session_open_ms": round(open_ms, 3),
        "hosting_providers_stored": stored,
        "phases": phases,
    }
