"""The deployment benchmark judges issue 11's targets from its rows: each judgement is
checked here on rows whose numbers are chosen on either side of the target, since a full
run (where the real numbers come from) is too long for the suite."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bench.deployment import judge
from bench.sizes import FULL

SIZES = replace(FULL, policy_counts=(100, 500), assignment_users=(100, 1000, 5000))


def _row(scenario: str, size: int, phase: str, mode: str, **numbers: Any) -> dict[str, Any]:
    letter = "U" if scenario == "assignment" else "N"
    return {
        "scenario": scenario,
        "case": f"{letter}={size}",
        "size": size,
        "phase": phase,
        "mode": mode,
        "pools": 1,
        "pipelines": 1,
        "writes": 0,
        "requests": 0,
        "endpoints": ["frontend"],
        "wall_s": 1.0,
        "floor_s": 1.0,
        "cpu_floor_s": 0.5,
        **numbers,
    }


def _rows(
    policy_wall: dict[tuple[int, str, str], float],
    user_wall: dict[tuple[int, str], float] | None = None,
    floors: dict[tuple[int, str, str], float] | None = None,
) -> list[dict[str, Any]]:
    """Policies N = 100 and 500 (create and destroy in both modes, a no-change up) and an
    assignment to U = 100, 1000, 5000, with the given wall and floor times."""
    rows = []
    for (size, phase, mode), wall in policy_wall.items():
        floor = (floors or {}).get((size, phase, mode), 1.0)
        rows.append(_row("policies", size, phase, mode, wall_s=wall, floor_s=floor))
    rows += [_row("policies", n, "no-change up", "parallel") for n in (100, 500)]
    for (users, phase), wall in (user_wall or {}).items():
        rows.append(_row("assignment", users, phase, "sequential", wall_s=wall))
    rows += [_row("assignment", u, "no-change up", "sequential") for u in (100, 1000, 5000)]
    return rows


def _policy_walls(per_resource_ms: dict[int, float]) -> dict[tuple[int, str, str], float]:
    return {
        (n, phase, mode): n * ms / 1000
        for n, ms in per_resource_ms.items()
        for phase in ("create", "destroy")
        for mode in ("parallel", "sequential")
    }


def _user_walls(per_user_ms: dict[int, float]) -> dict[tuple[int, str], float]:
    return {
        (u, phase): u * ms / 1000
        for u, ms in per_user_ms.items()
        for phase in ("create", "refresh", "destroy")
    }


def _target(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [target] = [t for t in judge(rows, SIZES) if t["target"] == name]
    return target


@pytest.mark.parametrize(
    ("per_resource_ms", "met"),
    [({100: 46, 500: 27}, True), ({100: 40, 500: 47}, True), ({100: 40, 500: 50}, False)],
)
def test_time_per_resource_is_flat_within_the_tolerance(
    per_resource_ms: dict[int, float], met: bool
) -> None:
    target = _target(
        _rows(_policy_walls(per_resource_ms)), "time per resource flat from N=100 to 500"
    )
    assert target["met"] is met
    assert target["measured"] == pytest.approx(
        per_resource_ms[500] / per_resource_ms[100], abs=1e-3
    )


def test_time_per_user_may_fall_but_not_rise_at_any_step() -> None:
    falling = _rows(_policy_walls({100: 1, 500: 1}), _user_walls({100: 22, 1000: 8, 5000: 7}))
    assert _target(falling, "time per user flat from U=100 to 5000")["met"] is True
    # It falls overall, but rises 50 % from 1000 to 5000: not flat.
    rising = _rows(_policy_walls({100: 1, 500: 1}), _user_walls({100: 22, 1000: 8, 5000: 12}))
    target = _target(rising, "time per user flat from U=100 to 5000")
    assert target["met"] is False
    assert target["measured"] == pytest.approx(1.5)


def test_the_worst_phase_against_its_floor_is_judged() -> None:
    walls = _policy_walls({100: 30, 500: 20})  # 3 s and 10 s
    floors = {(500, "destroy", "parallel"): 8.0, (500, "create", "parallel"): 9.0}
    target = _target(_rows(walls, floors=floors), "policies within 1.5x of the floor")
    # N=100's floors are 1 s: 3x. That is the worst, whatever N=500 shows.
    assert target["measured"] == pytest.approx(3.0)
    assert target["met"] is False
    assert "N=100" in target["scope"]
    within = {**walls, (100, "create", "parallel"): 1.4, (100, "destroy", "parallel"): 1.2}
    good = _target(_rows(within, floors=floors), "policies within 1.5x of the floor")
    assert good["met"] is True
    assert good["measured"] == pytest.approx(1.4)


def test_the_parallel_ratio_is_shown_beside_the_floors_own() -> None:
    walls = {**_policy_walls({100: 40, 500: 20}), (100, "create", "parallel"): 1.8}
    floors = {(100, "create", "parallel"): 2.5, (100, "create", "sequential"): 5.5}
    target = _target(_rows(walls, floors=floors), "4 at once ≤ 0.4 x one at a time")
    assert target["measured"] == pytest.approx(1.8 / 4.0)
    assert target["met"] is False
    assert "floors' own ratio is 0.45: the target is below it" in target["scope"]
    reachable = {(100, "create", "parallel"): 1.0, (100, "create", "sequential"): 4.0}
    fast = {**walls, (100, "create", "parallel"): 1.5}
    target = _target(_rows(fast, floors=reachable), "4 at once ≤ 0.4 x one at a time")
    assert target["met"] is True
    assert "floors' own ratio is 0.25)" in target["scope"]
