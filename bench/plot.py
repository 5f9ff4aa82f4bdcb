"""``--plot PATH``: the deployment benchmark's scaling curves as a PNG, when matplotlib is
importable. It is not a dependency of the project (requirements.txt does not list it);
without it the run says so and carries on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import MODES

SCALING = (("policies", "N tag policies"), ("assignment", "U users of one assignment"))
STYLE = {"parallel": "o-", "sequential": "s--", "naive": "^:"}


def draw(deployment: dict[str, Any], path: Path) -> str:
    """Wall time against size, per phase and mode, with each phase's floor; log-log.
    Returns a line saying what was done."""
    try:
        import matplotlib  # noqa: PLC0415 (optional: imported only when asked for)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return f"no plot: matplotlib is not installed (pip install matplotlib), {path} not drawn"
    figure, axes = plt.subplots(1, len(SCALING), figsize=(7 * len(SCALING), 5.5))
    for ax, (scenario, label) in zip(axes, SCALING, strict=True):
        rows = [r for r in deployment["rows"] if r["scenario"] == scenario]
        phases = list(dict.fromkeys(r["phase"] for r in rows if r["phase"] != "no-change up"))
        for index, phase in enumerate(phases):
            colour = f"C{index}"
            for mode in dict.fromkeys(r["mode"] for r in rows):
                points = sorted(
                    (r["size"], r["wall_s"])
                    for r in rows
                    if r["phase"] == phase and r["mode"] == mode and r["wall_s"] > 0
                )
                if points:
                    xs, ys = zip(*points, strict=True)
                    style, name = STYLE.get(mode, "-"), f"{phase}, {MODES[mode]}"
                    ax.plot(xs, ys, style, color=colour, label=name)
            lowest: dict[int, float] = {}  # the floor with the most parallelism, per size
            for r in rows:
                if r["phase"] == phase and r["floor_s"]:
                    lowest[r["size"]] = min(r["floor_s"], lowest.get(r["size"], r["floor_s"]))
            floor = sorted(lowest.items())
            if floor:
                xs, ys = zip(*floor, strict=True)
                ax.plot(xs, ys, "-", color=colour, alpha=0.3, linewidth=4, label=f"{phase}, floor")
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="wall s", title=scenario)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(
        f"deployment benchmark: {deployment['latency_ms']:g} ms per request, "
        f"pool open {deployment['open_cost_ms']:g} ms"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return f"plot: {path}"
