"""The results as rich tables on the terminal and as one JSON file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

Column = tuple[str, str]  # (header, key in the JSON row)


def _table(title: str, rows: list[dict[str, Any]], columns: list[Column], left: int = 1) -> Table:
    """Text in the first ``left`` columns (left-justified), numbers in the others."""
    table = Table(title=title, title_justify="left")
    for index, (header, _) in enumerate(columns):
        table.add_column(header, justify="left" if index < left else "right", no_wrap=index == 0)
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for _, key in columns))
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return "" if value is None else str(value)


LATENCY: list[Column] = [("p50 ms", "p50_ms"), ("p90 ms", "p90_ms"), ("p99 ms", "p99_ms")]


def show(results: dict[str, Any], console: Console) -> None:
    """One table per benchmark that ran; README.md maps each header to its JSON key."""
    bench = results["benchmarks"]
    shows = {
        "remoting": _show_remoting,
        "resources": _show_resources,
        "gate": _show_gate,
        "emulator": _show_emulator,
        "deployment": _show_deployment,
    }
    for name, result in bench.items():
        shows[name](result, console)


def _show_remoting(remoting: dict[str, Any], console: Console) -> None:
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


def _show_resources(resources: dict[str, Any], console: Console) -> None:
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


def _show_gate(gate: dict[str, Any], console: Console) -> None:
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


def _show_emulator(load: dict[str, Any], console: Console) -> None:
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


MODES = {"parallel": "4 at once", "sequential": "1 at a time", "naive": "naive"}
DEPLOYMENT_COST: list[Column] = [
    ("wall s", "wall_s"),
    ("req", "requests"),
    ("pools", "pools"),
    ("pipes", "pipelines"),
    ("writes", "writes"),
    ("CPU s", "local_cpu_s"),
    ("provider CPU s", "provider_cpu_s"),
]
DEPLOYMENT_FLOOR: list[Column] = [
    ("floor s", "floor_s"),
    ("x floor s", "x_floor_s"),
    ("CPU floor s", "cpu_floor_s"),
    ("floor pipes", "floor_pipelines"),
    ("x floor pipes", "x_floor_pipelines"),
    ("floor pools", "floor_pools"),
    ("naive / ours", "x_naive"),
]


def _mode(row: dict[str, Any]) -> str:
    label: str = MODES.get(row["mode"], row["mode"])
    items = row.get("naive_items")
    if items is not None and items != row["size"]:
        return f"{label} ({items} of {row['size']})"  # measured on fewer, scaled up
    return label


def _deployment_table(title: str, rows: list[dict[str, Any]], columns: list[Column]) -> Table:
    """Rows grouped by case; a phase that did not end as expected is marked FAILED."""
    table = Table(title=title, title_justify="left")
    for index, header in enumerate(["case", "phase", "mode", *(h for h, _ in columns)]):
        table.add_column(header, justify="left" if index < 3 else "right", no_wrap=index < 3)
    case = None
    for row in rows:
        if case is not None and row["case"] != case:
            table.add_section()
        case = row["case"]
        phase = row["phase"] if row["ok"] else f"{row['phase']} FAILED"
        table.add_row(row["case"], phase, _mode(row), *(_cell(row.get(k)) for _, k in columns))
    return table


def _met(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "not run"}[value]


def _show_deployment(deployment: dict[str, Any], console: Console) -> None:
    rows = deployment["rows"]
    calibration = deployment["calibration"]
    console.print(
        _deployment_table(
            f"deployment: latency {deployment['latency_ms']:g} ms per request, pool open "
            f"{deployment['open_cost_ms']:g} ms; what each phase cost",
            rows,
            DEPLOYMENT_COST,
        )
    )
    console.print(
        _deployment_table(
            "deployment: against the floor (pool open "
            f"{calibration['pool_open_s']:g} s, {calibration['requests_per_pipeline']} "
            "requests per pipeline) and the naive baseline",
            rows,
            DEPLOYMENT_FLOOR,
        )
    )
    targets = [{**t, "met?": _met(t["met"])} for t in deployment["targets"]]
    console.print(
        _table(
            "deployment: targets (reported, not asserted)",
            targets,
            [
                ("target", "target"),
                ("scope", "scope"),
                ("measured", "measured"),
                ("wanted", "wanted"),
                ("target met?", "met?"),
            ],
            left=2,
        )
    )


def write(results: dict[str, Any], out_dir: Path) -> Path:
    """Write ``bench-<UTC time>.json`` into ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return path
