"""Latency summaries: percentiles by nearest rank, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of already sorted values (no interpolation, so
    p99 of 20 calls is honestly the slowest call)."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """``p50/p90/p99/max/mean`` of call durations given in seconds."""
    ordered = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(percentile(ordered, 50), 3),
        "p90_ms": round(percentile(ordered, 90), 3),
        "p99_ms": round(percentile(ordered, 99), 3),
        "max_ms": round(ordered[-1], 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
    }
