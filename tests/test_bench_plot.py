"""``--plot``: the deployment benchmark's scaling curves, drawn from the rows it reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench import plot


def _row(
    scenario: str, phase: str, mode: str, size: int, wall: float, *, floor: float
) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "phase": phase,
        "mode": mode,
        "size": size,
        "wall_s": wall,
        "floor_s": floor,
    }


# Out of size order on purpose, as a run that adds a size later would append it.
ROWS = [
    _row("reference", "up", "parallel", 4, 1.9, floor=1.6),
    _row("policies", "create", "parallel", 500, 13.0, floor=6.5),
    _row("policies", "create", "sequential", 500, 30.0, floor=21.5),
    _row("policies", "create", "naive", 500, 900.0, floor=0.0),
    _row("policies", "create", "parallel", 100, 3.5, floor=2.5),
    _row("policies", "create", "sequential", 100, 6.8, floor=5.5),
    _row("policies", "no-change up", "parallel", 100, 0.1, floor=0.0),
    _row("policies", "destroy", "parallel", 100, 2.9, floor=2.5),
    _row("policies", "destroy", "parallel", 500, 0.0, floor=6.5),  # a phase that failed: no time
    _row("assignment", "create", "sequential", 1000, 3.0, floor=1.9),
    _row("assignment", "create", "sequential", 100, 2.0, floor=1.6),
]
DEPLOYMENT = {"rows": ROWS, "latency_ms": 20, "open_cost_ms": 1500}


def test_curves_are_the_rows_per_phase_and_mode_sorted_by_size() -> None:
    assert plot.curves(ROWS, "policies") == {
        ("create", "parallel"): [(100, 3.5), (500, 13.0)],
        ("create", "sequential"): [(100, 6.8), (500, 30.0)],
        ("create", "naive"): [(500, 900.0)],
        # The floor of a size is its lowest: the mode with the most parallelism.
        ("create", plot.FLOOR): [(100, 2.5), (500, 6.5)],
        ("destroy", "parallel"): [(100, 2.9)],  # the failed row (0 s) is not a point
        ("destroy", plot.FLOOR): [(100, 2.5), (500, 6.5)],
    }
    assert plot.curves(ROWS, "assignment") == {
        ("create", "sequential"): [(100, 2.0), (1000, 3.0)],
        ("create", plot.FLOOR): [(100, 1.6), (1000, 1.9)],
    }


def test_the_figure_draws_each_curve_on_log_axes_one_panel_per_scenario() -> None:
    fig = plot.figure(DEPLOYMENT)
    try:
        panels = fig.get_axes()
        assert [ax.get_title() for ax in panels] == ["policies", "assignment"]
        for ax, (scenario, _) in zip(panels, plot.SCALING, strict=True):
            assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
            drawn = {
                line.get_label(): list(zip(line.get_xdata(), line.get_ydata(), strict=True))
                for line in ax.get_lines()
            }
            expected = {
                f"{phase}, {plot.MODES.get(mode, mode)}": points
                for (phase, mode), points in plot.curves(ROWS, scenario).items()
            }
            assert drawn == expected
            legend = ax.get_legend()
            assert [t.get_text() for t in legend.get_texts()] == list(expected)
        [policies, _] = panels
        colours = {line.get_label(): line.get_color() for line in policies.get_lines()}
        # A phase's curves and its floor share a colour; phases differ.
        assert colours["create, 4 at once"] == colours["create, floor"]
        assert colours["create, 4 at once"] != colours["destroy, 4 at once"]
        assert "20 ms per request, pool open 1500 ms" in fig.texts[0].get_text()
    finally:
        plot._pyplot().close(fig)


def test_draw_writes_a_png(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deployment.png"
    assert plot.draw(DEPLOYMENT, path) == f"plot: {path}"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (7 * 2 * 120, int(5.5 * 120))  # figsize x dpi


def test_without_matplotlib_draw_says_so_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now raises ImportError
    path = tmp_path / "deployment.png"
    message = plot.draw(DEPLOYMENT, path)
    assert message.startswith("no plot: matplotlib is not installed")
    assert not path.exists()
