"""The results as rich tables on the terminal and as one JSON file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

Column = tuple[str, str]  # (header, key in the JSON row)


def _table(title: str, rows: list[dict[str, Any]], columns: list[Column]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, (header, _) in enumerate(columns):
        table.add_column(header, justify="left" if index == 0 else "right", no_wrap=index == 0)
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for _, key in columns))
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return "" if value is None else str(value)


LATENCY: list[Column] = [("p50 ms", "p50_ms"), ("p90 ms", "p90_ms"), ("p99 ms", "p99_ms")]


def show(results: dict[str, Any], console: Console) -> None:
    """One table per benchmark; README.md maps each header to its JSON key."""
    bench = results["benchmarks"]
    remoting = bench["remoting"]
    threads = [{"case": f"pooled, {r['threads']} thread(s)", **r} for r in remoting["threads"]]
    fresh = {"case": "fresh session per call", **remoting["fresh_session"]}
    console.print(
        _table(
            f"remoting: open cost {remoting['open_cost_ms']:g} ms, first call "
            f"{remoting['first_call_ms']:,.1f} ms, pooled calls {remoting['pooling_speedup']}x "
            "faster than a session per call",
            [*threads, fresh],
            [("case", "case"), ("calls", "calls"), ("calls/s", "invocations_per_s"), *LATENCY],
        )
    )
    resources = bench["resources"]
    console.print(
        _table(
            f"resources: {resources['count']} hosting providers via the provider objects; "
            "requests, pipelines and cmdlets per resource (session open "
            f"{resources['session_open_ms']:,.1f} ms, outside the phases)",
            resources["phases"],
            [
                ("phase", "phase"),
                ("count", "count"),
                ("per s", "per_s"),
                ("p50 ms", "p50_ms"),
                ("req", "requests_per_resource"),
                ("pipes", "pipelines_per_resource"),
                ("cmdlets", "cmdlets_per_resource"),
                ("writes", "writes"),
            ],
        )
    )
    gate = bench["gate"]
    console.print(
        _table(
            f"gate: replication delay {gate['replication_delay_s']:g} s, polls every "
            f"{gate['poll_min_s']:g} s doubling to {gate['poll_max_s']:g} s",
            gate["rounds"],
            [
                ("round", "round"),
                ("write→done s", "write_to_gate_done_s"),
                ("waited s", "gate_waited_s"),
                ("overshoot s", "overshoot_s"),
                ("polls", "polls"),
                ("status calls", "status_invocations"),
            ],
        )
    )
    load = bench["emulator"]
    console.print(
        _table(
            f"emulator alone: {load['clients']} pypsrp client processes, flat out",
            [load],
            [
                ("calls", "invocations"),
                ("requests/s", "requests_per_s"),
                ("calls/s", "invocations_per_s"),
                ("server CPU ms/call", "server_cpu_ms_per_invocation"),
                ("calls per CPU s", "invocations_per_server_cpu_s"),
            ],
        )
    )


def write(results: dict[str, Any], out_dir: Path) -> Path:
    """Write ``bench-<UTC time>.json`` into ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path
