"""``python -m bench``: run every benchmark, print the tables, write the JSON results."""

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

from bench import gate, load, remoting, report, resources
from bench.sizes import FULL, SMOKE, Sizes

BENCHMARKS: dict[str, Callable[[Sizes], dict[str, Any]]] = {
    "remoting": remoting.run,
    "resources": resources.run,
    "gate": gate.run,
    "emulator": load.run,
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
        "--open-cost-ms", type=float, help="runspace pool open cost modelling Lync's load time"
    )
    parser.add_argument("--calls", type=int, help="pooled calls per thread count")
    parser.add_argument("--resources", type=int, help="hosting providers to create/read/diff")
    parser.add_argument("--replication-delay", type=float, help="seconds before replicas apply")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    """The preset, with any size given on the command line in its place."""
    overrides = {
        "open_cost_ms": args.open_cost_ms,
        "calls": args.calls,
        "resources": args.resources,
        "replication_delay_s": args.replication_delay,
    }
    base = SMOKE if args.smoke else FULL
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = sizes_from(args)
    console = Console()
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
    for name, benchmark in BENCHMARKS.items():
        start = time.perf_counter()
        with console.status(f"running {name}"):
            results["benchmarks"][name] = benchmark(sizes)
        console.log(f"{name}: {time.perf_counter() - start:.1f} s")
    report.show(results, console)
    console.print(f"results: {report.write(results, args.out)}")


if __name__ == "__main__":
    main()
