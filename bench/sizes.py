"""How big each benchmark runs: full size by default, ``--smoke`` for CI."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """Every knob of a run, recorded in the results so numbers are never read without them.

    ``open_cost_ms`` models the seconds a real Lync session spends loading its module when a
    runspace pool opens; it is what makes pooling matter.
    """

    open_cost_ms: float
    calls: int  # pooled calls per thread count, split evenly over the threads
    threads: tuple[int, ...]
    fresh_calls: int  # calls that each open (and close) their own session
    resources: int
    gate_rounds: int
    replication_delay_s: float
    gate_poll_min_s: float
    gate_poll_max_s: float
    load_clients: int  # client processes driving the emulator in the load benchmark
    load_calls: int  # invocations per client process
    # The deployment benchmark (bench/deployment.py): its own emulator latency and open cost.
    deploy_latency_ms: float  # added to every HTTP request
    deploy_open_cost_ms: float  # of every runspace pool opened
    deploy_parallel: int  # calls in flight at once, as `pulumi up --parallel`
    policy_counts: tuple[int, ...]  # N tag ExternalAccessPolicy resources per case
    assignment_users: tuple[int, ...]  # U users of one ExternalAccessPolicyAssignment per case
    naive_sample: int  # resources (or users) the naive baseline really runs; scaled beyond
    process_per_command: bool  # a fresh provider process per command, as the CLI starts one

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


FULL = Sizes(
    open_cost_ms=2000,
    calls=400,
    threads=(1, 4, 8),
    fresh_calls=5,
    resources=50,
    gate_rounds=3,
    replication_delay_s=3.0,
    gate_poll_min_s=0.5,
    gate_poll_max_s=2.0,
    load_clients=2,
    load_calls=300,
    deploy_latency_ms=20,
    deploy_open_cost_ms=1500,
    deploy_parallel=4,
    policy_counts=(10, 100, 500),
    assignment_users=(10, 100, 1000, 5000),
    naive_sample=5,
    process_per_command=True,
)

SMOKE = Sizes(
    open_cost_ms=20,
    calls=16,
    threads=(1, 4, 8),
    fresh_calls=2,
    resources=3,
    gate_rounds=1,
    replication_delay_s=0.3,
    gate_poll_min_s=0.05,
    gate_poll_max_s=0.2,
    load_clients=2,
    load_calls=10,
    deploy_latency_ms=2,
    deploy_open_cost_ms=20,
    deploy_parallel=4,
    policy_counts=(3,),
    assignment_users=(3,),
    naive_sample=1,
    process_per_command=False,
)
