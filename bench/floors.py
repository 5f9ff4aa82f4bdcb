"""The floor of each deployment phase, and the targets the benchmark reports against.

The floor is what a phase cannot cost less than whatever a provider does, given the wire:

* pools: the distinct endpoints the phase must reach (0 when it needs no remote call);
* pipelines: the fewest the operation needs (the table in bench/README.md), where one
  pipeline may carry many statements (a read-back with its write, up to :data:`BATCH`
  users' reads or grants);
* time: ``pools x pool open + pipelines x requests per pipeline x latency ÷ parallelism``,
  with the pool open and requests per pipeline measured on the same emulator
  (:func:`bench.deployment.calibrate`) and parallelism the calls the mode sends at once,
  capped by the independent resources the phase has. CPU on either side counts for nothing
  in it, so no real run reaches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

BATCH = 100  # users one pipeline can read or grant (statements of one pipeline)
ASSIGNMENT_SLACK = 2  # the c in "assignment pipelines ≤ ceil(U/100) + c per phase"
POOLS_PER_ENDPOINT = 4  # "pools per deployment ≤ endpoints x 4": one per call in flight
NAIVE_AT_N, NAIVE_N_RATIO = 100, 10.0  # naive ÷ ours ≥ 10 at N = 100
NAIVE_AT_U, NAIVE_U_RATIO = 1000, 50.0  # naive ÷ ours ≥ 50 at U = 1000
PARALLEL_AT_N, PARALLEL_RATIO = 100, 0.4  # 4 at once ≤ 0.4 x one at a time, 100 creates
FLAT_N = (100, 500)  # time per resource flat from N = 100 to 500 ...
FLOOR_RATIO = 1.5  # ... and within 1.5x of the floor
FLAT_U = (100, 1000, 5000)  # time per user falls or stays flat from U = 100 to 5000
# "Flat": a larger size's time per item at most 20 % above the smaller's, the run-to-run
# noise of a shared VM (bench/README.md); a rise beyond it is growth, not noise.
FLAT_TOLERANCE = 1.2


def user_pipelines(users: int) -> int:
    return math.ceil(users / BATCH)


@dataclass(frozen=True)
class Floor:
    """The fewest pipelines of a phase, and how many resources' calls may overlap."""

    pipelines: int
    independent: int = 1


def reference(phase: str, users: int) -> Floor:
    """The four resources (access edge, hosting provider, tag policy, assignment to
    ``users``) and the ReplicationGate created after them."""
    grant = user_pipelines(users)
    return {
        # 1 per configuration object (prior state, write and read-back in one pipeline),
        # ceil(U/100) + 1 for the users (see assignment()), 1 status poll for the gate; the
        # three objects are independent, the grant waits for the policy and the gate for all.
        "up": Floor(3 + grant + 1 + 1, 3),
        "no-change up": Floor(0),
        "preview": Floor(0),
        # 1 read per object, ceil(U/100) for the users, 1 status read for the gate.
        "refresh": Floor(3 + grant + 1, 5),
        # restore or remove each object, read and un-grant the users (before the policy
        # goes); the gate holds nothing.
        "destroy": Floor(3 + grant + 1, 3),
    }[phase]


def policies(phase: str, count: int) -> Floor:
    """``count`` tag ExternalAccessPolicy resources."""
    return {
        "create": Floor(count, count),  # New- with its read-back, one pipeline each
        "no-change up": Floor(0),
        "destroy": Floor(count, count),  # Remove- each
    }[phase]


def assignment(phase: str, users: int) -> Floor:
    """One ExternalAccessPolicyAssignment to ``users`` users (one resource: no overlap).

    Create and destroy read each batch of users before granting it (create records the
    prior policy; destroy leaves alone a user someone moved to another policy), and a
    pipeline's answer arrives only when it has run, so a batch's grants cannot share the
    pipeline of its own reads: at best they ride with the next batch's, and the last
    batch's grants take one pipeline more. Refresh only reads.
    """
    batches = user_pipelines(users)
    return Floor(
        {"no-change up": 0, "refresh": batches, "create": batches + 1, "destroy": batches + 1}[
            phase
        ]
    )


@dataclass(frozen=True)
class Wire:
    """What the emulator charges: per request, per pool open, and the requests each takes."""

    latency_s: float
    open_cost_s: float
    requests_per_open: int
    requests_per_pipeline: int

    @property
    def pool_open_s(self) -> float:
        return self.open_cost_s + self.requests_per_open * self.latency_s


def floor_fields(floor: Floor, wire: Wire, parallel: int) -> dict[str, Any]:
    """The floor of a phase run ``parallel`` calls at once."""
    pools = 1 if floor.pipelines else 0  # every scenario here reaches one endpoint
    overlap = max(1, min(parallel, floor.independent))
    seconds = (
        pools * wire.pool_open_s
        + floor.pipelines * wire.requests_per_pipeline * wire.latency_s / overlap
    )
    return {
        "floor_pools": pools,
        "floor_pipelines": floor.pipelines,
        "floor_s": round(seconds, 3),
    }


def ratio(measured: float, floor: float) -> float | None:
    """measured ÷ floor; None when the floor is 0 (compare the two numbers instead)."""
    return round(measured / floor, 2) if floor else None
