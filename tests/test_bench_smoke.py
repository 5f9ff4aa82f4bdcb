"""``python -m bench --smoke`` runs end to end and writes sane results (no timing asserted:
benchmarks report numbers, they do not judge them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.sizes import SMOKE

REFERENCE_PHASES = ["up", "no-change up", "preview", "refresh", "destroy"]
POLICY_PHASES = ["create", "no-change up", "destroy"]
ASSIGNMENT_PHASES = ["create", "refresh", "no-change up", "destroy"]
TARGETS = {
    "pools per command ≤ endpoints x 4",
    "no-change up: 0 writes",
    "preview: 0 remote calls",
    "assignment pipelines ≤ ceil(U/100)+2 per phase",
    "naive ÷ ours ≥ 10 at N=100",
    "naive ÷ ours ≥ 50 at U=1000",
    "4 at once ≤ 0.4 x one at a time",
    "time per resource flat from N=100 to 500",
    "policies within 1.5x of the floor",
    "time per user flat from U=100 to 5000",
}


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
    png = tmp_path / "deployment.png"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path), "--plot", str(png)],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), done.stdout  # --plot drew it
    [path] = tmp_path.glob("bench-*.json")
    results = json.loads(path.read_text(encoding="utf-8"))
    bench = results["benchmarks"]
    assert set(bench) == {"remoting", "resources", "gate", "emulator", "deployment"}
    assert all(n >= 0 for n in _numbers(results))

    remoting = bench["remoting"]
    assert [row["threads"] for row in remoting["threads"]] == list(SMOKE.threads)
    assert all(row["calls"] == SMOKE.calls for row in remoting["threads"])
    # One pool, or one per thread at most if the session keeps several (max_pools).
    assert 1 <= remoting["pools_opened"] <= max(SMOKE.threads)
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

    _check_deployment(bench["deployment"])


def _check_deployment(deployment: dict[str, Any]) -> None:
    """Every scenario, phase and mode ran to its expected outcome, with floors and targets
    in place (what the numbers are is the benchmark's business, not the test's)."""
    assert deployment["latency_ms"] == SMOKE.deploy_latency_ms
    assert deployment["open_cost_ms"] == SMOKE.deploy_open_cost_ms
    calibration = deployment["calibration"]
    assert calibration["requests_per_pipeline"] >= 1 and calibration["requests_per_open"] >= 1

    rows = deployment["rows"]
    expected = [
        ("reference", "reference", p, m)
        for m in ("parallel", "sequential", "naive")
        for p in REFERENCE_PHASES
    ]
    for n in SMOKE.policy_counts:
        expected += [
            ("policies", f"N={n}", p, m)
            for m in ("parallel", "sequential", "naive")
            for p in POLICY_PHASES
        ]
    for u in SMOKE.assignment_users:
        expected += [
            ("assignment", f"U={u}", p, m)
            for m in ("sequential", "naive")
            for p in ASSIGNMENT_PHASES
        ]
    assert [(r["scenario"], r["case"], r["phase"], r["mode"]) for r in rows] == expected
    assert all(row["ok"] for row in rows), [r for r in rows if not r["ok"]]
    for row in rows:
        assert row["floor_pools"] == (1 if row["floor_pipelines"] else 0)
        assert (row["x_naive"] is None) == (row["mode"] == "naive")
        # The provider process's CPU is read from /proc (Linux, as CI); the naive providers
        # run in the benchmark's own process, counted in local_cpu_s.
        assert (row["provider_cpu_s"] is None) == (row["mode"] == "naive")
        local, provider = row["local_cpu_s"], row["provider_cpu_s"] or 0
        spread = (local + provider) / (os.cpu_count() or 1)
        assert row["cpu_floor_s"] == pytest.approx(max(local, provider, spread), abs=1e-3)
        if row["mode"] == "naive":  # the reference runs whole; the others on a sample
            sample = row["size"] if row["scenario"] == "reference" else SMOKE.naive_sample
            assert row["naive_items"] == min(row["size"], sample)
            assert row["pools"] == row["pipelines"]  # a session of its own for every call
        if row["scenario"] == "policies" and row["phase"] in ("create", "destroy"):
            assert row["floor_pipelines"] == row["size"]
            assert row["writes"] == row["size"]
        if row["phase"] in ("no-change up", "preview"):
            assert row["floor_pipelines"] == row["floor_s"] == 0

    targets = deployment["targets"]
    assert {t["target"] for t in targets} == TARGETS
    assert all(t["met"] in (True, False, None) for t in targets)
    not_run = {t["target"] for t in targets if t["met"] is None}
    assert not_run == {  # the sizes they are stated for are not smoke sizes
        "naive ÷ ours ≥ 10 at N=100",
        "naive ÷ ours ≥ 50 at U=1000",
        "4 at once ≤ 0.4 x one at a time",
        "time per resource flat from N=100 to 500",
        "policies within 1.5x of the floor",
        "time per user flat from U=100 to 5000",
    }
