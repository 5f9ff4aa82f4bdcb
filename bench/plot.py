"""``--plot PATH``: the deployment benchmark's scaling curves as a PNG.

matplotlib is an optional extra for users (``pip install .[plot]``; requirements.txt pins it
for the development environment, so the plot is tested); without it the run says so and
carries on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import MODES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCALING = (("policies", "N tag policies"), ("assignment", "U users of one assignment"))
STYLE = {"parallel": "o-", "sequential": "s--", "naive": "^:"}
FLOOR = "floor"
UNPLOTTED = "no-change up"  # 0 requests at every size: nothing to scale
Curves = dict[tuple[str, str], list[tuple[int, float]]]


def curves(rows: list[dict[str, Any]], scenario: str) -> Curves:
    """The points to draw for one scenario: (phase, mode) -> (size, wall s) sorted by size,
    and (phase, ``FLOOR``) -> (size, the lowest floor of that phase and size, which is the
    mode with the most parallelism). Phases and modes in the order the rows have them."""
    rows = [r for r in rows if r["scenario"] == scenario and r["phase"] != UNPLOTTED]
    drawn: Curves = {}
    for phase in dict.fromkeys(r["phase"] for r in rows):
        of_phase = [r for r in rows if r["phase"] == phase]
        for mode in dict.fromkeys(r["mode"] for r in of_phase):
            points = sorted(
                (r["size"], r["wall_s"]) for r in of_phase if r["mode"] == mode and r["wall_s"] > 0
            )
            if points:
                drawn[phase, mode] = points
        lowest: dict[int, float] = {}
        for r in of_phase:
            if r["floor_s"]:
                lowest[r["size"]] = min(r["floor_s"], lowest.get(r["size"], r["floor_s"]))
        if lowest:
            drawn[phase, FLOOR] = sorted(lowest.items())
    return drawn


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend; ImportError without matplotlib."""
    import matplotlib  # noqa: PLC0415 (optional: imported only when asked for)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def figure(deployment: dict[str, Any]) -> Figure:
    """Wall time against size, per phase and mode, with each phase's floor; log-log, one
    panel per scaling scenario. Each phase has one colour; its floor is the wide pale line."""
    fig: Figure
    fig, axes = _pyplot().subplots(1, len(SCALING), figsize=(7 * len(SCALING), 5.5))
    for ax, (scenario, label) in zip(axes, SCALING, strict=True):
        colours: dict[str, str] = {}
        for (phase, mode), points in curves(deployment["rows"], scenario).items():
            colour = colours.setdefault(phase, f"C{len(colours)}")
            xs, ys = zip(*points, strict=True)
            name = f"{phase}, {MODES.get(mode, mode)}"
            if mode == FLOOR:
                ax.plot(xs, ys, "-", color=colour, alpha=0.3, linewidth=4, label=name)
            else:
                ax.plot(xs, ys, STYLE.get(mode, "-"), color=colour, label=name)
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="wall s", title=scenario)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(
        f"deployment benchmark: {deployment['latency_ms']:g} ms per request, "
        f"pool open {deployment['open_cost_ms']:g} ms"
    )
    fig.tight_layout()
    return fig


def draw(deployment: dict[str, Any], path: Path) -> str:
    """Save :func:`figure` as a PNG at ``path``; returns a line saying what was done."""
    try:
        plt = _pyplot()
    except ImportError:
        return f"no plot: matplotlib is not installed (pip install .[plot]), {path} not drawn"
    fig = figure(deployment)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"plot: {path}"
