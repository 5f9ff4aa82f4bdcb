"""The replication gate after a write: how long it waits beyond the replication delay and
how many status polls that costs."""

from __future__ import annotations

import time
from typing import Any

from bench.connect import configured, open_session
from bench.resources import inputs
from bench.sizes import Sizes
from lync_emulator.emulator import Emulator
from lync_emulator.replication import ReplicationSettings
from lync_provider.remoting import close_all_sessions
from lync_provider.replication import ReplicationGateProvider
from lync_provider.resources import HostingProviderProvider

STATUS_CMDLET = "Get-CsManagementStoreReplicationStatus"


def run(sizes: Sizes) -> dict[str, Any]:
    delay = sizes.replication_delay_s
    replication = ReplicationSettings(delay_seconds=delay)
    with Emulator(open_cost_ms=sizes.open_cost_ms, replication=replication) as emu:
        writer = configured(HostingProviderProvider, emu)
        gate = configured(ReplicationGateProvider, emu)
        rounds = []
        try:
            open_ms = open_session(writer)  # shared with the gate: same endpoint and identity
            for index in range(sizes.gate_rounds):
                # Timed from before the write: replication cannot finish before write + delay.
                start = time.perf_counter()
                written = writer.create(writer.check({}, inputs(index)).inputs).outs or {}
                settings = {
                    "changed_after": [written["changed_at"]],
                    "timeout_seconds": delay * 10 + 30,
                    "poll_min_seconds": sizes.gate_poll_min_s,
                    "poll_max_seconds": sizes.gate_poll_max_s,
                }
                status_calls = len(emu.audit.entries(STATUS_CMDLET))
                outs = gate.create(gate.check({}, settings).inputs).outs or {}
                total = time.perf_counter() - start
                rounds.append(
                    {
                        "round": index + 1,
                        "write_to_gate_done_s": round(total, 3),
                        "gate_waited_s": outs["waited_seconds"],
                        "overshoot_s": round(total - delay, 3),
                        "polls": outs["polls"],
                        "status_invocations": len(emu.audit.entries(STATUS_CMDLET)) - status_calls,
                        "replicas": len(outs["replica_status"]),
                    }
                )
        finally:
            close_all_sessions()
    return {
        "replication_delay_s": delay,
        "poll_min_s": sizes.gate_poll_min_s,
        "poll_max_s": sizes.gate_poll_max_s,
        "session_open_ms": round(open_ms, 3),
        "rounds": rounds,
    }
