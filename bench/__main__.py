"""``python -m bench``: run the benchmarks, print the tables, write the JSON results."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import deployment, gate, load, plot, remoting, report, resources
from bench.sizes import FULL, SMOKE, Sizes

BENCHMARKS: dict[str, Callable[[Sizes], dict[str, Any]]] = {
    "remoting": remoting.run,
    "resources": resources.run,
    "gate": gate.run,
    "emulator": load.run,
    "deployment": deployment.run,
}
DEFAULT_OUT = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes (a few seconds), as CI runs it"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"results directory ({DEFAULT_OUT})"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        help="run only this benchmark (repeatable; default: all)",
    )
    parser.add_argument(
        "--open-cost-ms",
        type=float,
        help="runspace pool open cost modelling Lync's load time, for every benchmark "
        "(default 2000, the deployment benchmark 1500; --smoke 20)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        help="deployment: added to every HTTP request (default 20; --smoke 2)",
    )
    parser.add_argument("--calls", type=int, help="pooled calls per thread count")
    parser.add_argument("--resources", type=int, help="hosting providers to create/read/diff")
    parser.add_argument("--replication-delay", type=float, help="seconds before replicas apply")
    parser.add_argument(
        "--policies", type=_sizes, help="deployment: N tag policies per case, e.g. 10,100,500"
    )
    parser.add_argument(
        "--users", type=_sizes, help="deployment: U users per assignment case, e.g. 10,100"
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        help="deployment: resources or users the naive baseline really runs (it is scaled "
        "up to the case's size beyond that)",
    )
    parser.add_argument(
        "--plot", type=Path, help="deployment: draw the scaling curves into this PNG (matplotlib)"
    )
    return parser.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give sizes as 10,100,500") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1")
    return sizes


def sizes_from(args: argparse.Namespace) -> Sizes:
    """The preset, with any size given on the command line in its place."""
    overrides = {
        "open_cost_ms": args.open_cost_ms,
        "deploy_open_cost_ms": args.open_cost_ms,
        "deploy_latency_ms": args.latency_ms,
        "calls": args.calls,
        "resources": args.resources,
        "replication_delay_s": args.replication_delay,
        "policy_counts": args.policies,
        "assignment_users": args.users,
        "naive_sample": args.naive_sample,
    }
    base = SMOKE if args.smoke else FULL
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = sizes_from(args)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: room for the deployment tables
        console = Console(width=max(console.width, 120))
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(),
            "smoke": args.smoke,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "sizes": sizes.as_json(),
        },
        "benchmarks": {},
    }
    chosen = args.only or list(BENCHMARKS)
    with deployment.private_journal():  # the providers' create journal, not the project's
        for name, benchmark in BENCHMARKS.items():
            if name not in chosen:
                continue
            start = time.perf_counter()
            with console.status(f"running {name}"):
                results["benchmarks"][name] = benchmark(sizes)
            console.log(f"{name}: {time.perf_counter() - start:.1f} s")
    report.show(results, console)
    console.print(f"results: {report.write(results, args.out)}")
    if args.plot is not None:
        if "deployment" in results["benchmarks"]:
            console.print(plot.draw(results["benchmarks"]["deployment"], args.plot))
        else:
            console.print("no plot: --plot draws the deployment benchmark, which did not run")


if __name__ == "__main__":
    main()
