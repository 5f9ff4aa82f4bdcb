"""``python -m bench --smoke`` runs end to end and writes sane results (no timing asserted:
benchmarks report numbers, they do not judge them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.sizes import SMOKE


def _numbers(value: Any) -> list[float]:
    """Every number anywhere in the results (bools are flags, not measurements)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return []


def test_smoke_run_writes_every_benchmark(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = tmp_path.glob("bench-*.json")
    results = json.loads(path.read_text(encoding="utf-8"))
    bench = results["benchmarks"]
    assert set(bench) == {"remoting", "resources", "gate", "emulator"}
    assert all(n >= 0 for n in _numbers(results))

    remoting = bench["remoting"]
    assert [row["threads"] for row in remoting["threads"]] == list(SMOKE.threads)
    assert all(row["calls"] == SMOKE.calls for row in remoting["threads"])
    assert remoting["pools_opened"] == 1
    assert remoting["fresh_session"]["calls"] == SMOKE.fresh_calls

    resources = bench["resources"]
    phases = {phase["phase"]: phase for phase in resources["phases"]}
    assert set(phases) == {"create", "read", "diff (no-op)"}
    assert all(p["count"] == p["as_expected"] == SMOKE.resources for p in phases.values())
    assert phases["create"]["writes"] == SMOKE.resources
    assert phases["read"]["writes"] == phases["diff (no-op)"]["requests_per_resource"] == 0
    assert resources["hosting_providers_stored"] >= SMOKE.resources

    rounds = bench["gate"]["rounds"]
    assert len(rounds) == SMOKE.gate_rounds
    assert all(r["polls"] == r["status_invocations"] >= 1 for r in rounds)

    load = bench["emulator"]
    assert load["invocations"] == SMOKE.load_clients * SMOKE.load_calls
    assert load["client_exit_codes"] == [0] * SMOKE.load_clients
