"""ReplicationGate and EdgeVerification through the real provider process, against the
emulator's replication model (real delays of a few seconds; every wait is the gate's own)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from lync_emulator.emulator import Emulator
from lync_emulator.replication import ReplicationSettings
from lync_provider.replication import (
    EdgeVerification,
    EdgeVerificationProvider,
    ReplicationGate,
    ReplicationGateProvider,
)
from lync_provider.resources import HostingProvider, HostingProviderProvider
from lync_provider.resources.base import lync_name
from tests.resources.conftest import PROJECT, Stack, stack_config
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import Declaration, Engine, ProviderError, ProviderProcess, declare

EDGE = "edge01.contoso.local"
POLL = {"poll_min_seconds": 0.1, "poll_max_seconds": 0.3}

pytestmark = pytest.mark.slow


@pytest.fixture
def make_stack(
    make_lync_emulator: Callable[..., Emulator],
) -> Iterator[Callable[..., Stack]]:
    processes: list[ProviderProcess] = []

    def make(clock_skew_seconds: float = 0.0, **settings: Any) -> Stack:
        emu = make_lync_emulator(
            replication=ReplicationSettings(**settings), clock_skew_seconds=clock_skew_seconds
        )
        process = ProviderProcess(project=PROJECT).__enter__()
        processes.append(process)
        return Stack(emu, Engine(process, stack_config(emu)), process)

    yield make
    for process in processes:
        process.stop()


def hosting_provider(**changes: Any) -> Declaration:
    return declare(HostingProvider, "exo", HostingProviderProvider(), EXCHANGE_ONLINE | changes)


def gate(stack: Stack, **inputs: Any) -> Declaration:
    """The gate as a program declares it: triggered by, and after, the hosting provider."""
    exo = stack.engine.outputs("exo")
    props = {
        "triggers": [exo["proxy_fqdn"], exo["enabled"]],
        "changed_after": [exo.get("changed_at")],
        "timeout_seconds": 20,
        **POLL,
        **inputs,
    }
    return declare(ReplicationGate, "gate", ReplicationGateProvider(), props)


def verification(**inputs: Any) -> Declaration:
    props = {
        "hosting_providers": [
            {k: EXCHANGE_ONLINE[k] for k in ("identity", "proxy_fqdn", "enabled")} | inputs
        ],
        "access_edge": {"allow_federated_users": False},
        "timeout_seconds": 2,
        **POLL,
    }
    return declare(EdgeVerification, "edge-check", EdgeVerificationProvider(), props)


def edge_status(outputs: dict[str, Any]) -> dict[str, Any]:
    [edge] = [r for r in outputs["replica_status"] if r["fqdn"] == EDGE]
    return edge


def test_gate_returns_once_the_edge_applied_then_edge_verification_passes(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(delay_seconds=3)
    stack.engine.up([hosting_provider()])
    written = write_time(stack)
    stack.engine.up([hosting_provider(), gate(stack)])
    returned = datetime.now(written.tzinfo)
    assert edge_holds_the_latest_version(stack)
    outs = stack.engine.outputs("gate")
    assert returned - written >= timedelta(seconds=3)
    applied = datetime.fromisoformat(edge_status(outs)["last_status_report"])
    assert applied - written >= timedelta(seconds=3)
    # No later than one poll interval after (plus processing slack on a busy machine).
    assert returned - applied <= timedelta(seconds=POLL["poll_max_seconds"] + 1.0)
    assert outs["polls"] > 1 and edge_status(outs)["up_to_date"] is True
    plan = stack.engine.up([hosting_provider(), gate(stack), verification()])
    assert plan.ops["edge-check"] == "create"
    assert stack.engine.outputs("edge-check")["polls"] == 1


def test_stale_up_to_date_does_not_open_the_gate(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(delay_seconds=2, stale_window_seconds=1.5)
    stack.engine.up([hosting_provider()])
    written = write_time(stack)
    [status] = stack.emu.run_cmdlet("Get-CsManagementStoreReplicationStatus", EDGE)
    assert status.properties["UpToDate"] is True  # the stale report, about the old version
    stack.engine.up([hosting_provider(), gate(stack)])
    assert datetime.now(written.tzinfo) - written >= timedelta(seconds=2)
    assert edge_holds_the_latest_version(stack)


@pytest.mark.parametrize("skew", [180.0, -180.0], ids=["server-ahead", "server-behind"])
def test_a_skewed_server_clock_neither_opens_the_gate_early_nor_holds_it_shut(
    make_stack: Callable[..., Stack], skew: float
) -> None:
    """Three minutes either way: ahead, a stale report's time would look newer than a
    client-side change time; behind, every real report would look older than it."""
    stack = make_stack(clock_skew_seconds=skew, delay_seconds=1.5, stale_window_seconds=1.0)
    stack.engine.up([hosting_provider()])
    [status] = stack.emu.run_cmdlet("Get-CsManagementStoreReplicationStatus", EDGE)
    assert status.properties["UpToDate"] is True  # the stale report, about the old version
    started = time.monotonic()
    assert stack.engine.up([hosting_provider(), gate(stack)]).ops["gate"] == "create"
    assert edge_holds_the_latest_version(stack)
    assert time.monotonic() - started < 10  # well inside the gate's 20 s deadline


def write_time(stack: Stack) -> datetime:
    """When the server applied the last write (its clock; unskewed here)."""
    return stack.emu.audit.writes()[-1].time


def edge_holds_the_latest_version(stack: Stack) -> bool:
    service = stack.emu.service
    return service.replication.applied_version(EDGE, service.now()) == service.store.version


def test_broken_replica_fails_at_the_deadline_with_the_per_replica_message(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(broken=frozenset({EDGE}))
    stack.engine.up([hosting_provider()])
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        stack.engine.up([hosting_provider(), gate(stack, timeout_seconds=1.5)])
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 1.5 + POLL["poll_max_seconds"] + 1.0
    text = str(caught.value)
    assert "did not finish within 1.5 s" in text
    assert stack.emu.frontend_url.split("/")[2] in text
    assert EDGE in text and "fe01.contoso.local" not in text.split("Replicas that")[1][:300]
    assert "(blank)" in text and "False" in text
    assert "4443" in text and "1017" in text and "1015" in text and "1034" in text


def test_a_trigger_change_reruns_the_gate_and_no_change_does_not_wait(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(delay_seconds=0.5)
    stack.engine.up([hosting_provider()])
    stack.engine.up([hosting_provider(), gate(stack)])
    stack.emu.audit.clear()
    assert stack.engine.up([hosting_provider(), gate(stack)]).ops == {
        "exo": "same",
        "gate": "same",
    }
    # Not waiting shows in the audit log: the gate did not even read the status.
    assert stack.emu.audit.entries("Get-CsManagementStoreReplicationStatus") == []
    # The harness has no data flow inside one `up`: first the provider changes (the gate still
    # sees its old triggers), then the gate is registered with the new outputs.
    stack.engine.up([hosting_provider(enabled=False), gate(stack)])
    plan = stack.engine.up([hosting_provider(enabled=False), gate(stack)])
    assert plan.ops == {"exo": "same", "gate": "update"}
    assert stack.emu.audit.entries("Get-CsManagementStoreReplicationStatus")
    assert edge_status(stack.engine.outputs("gate"))["up_to_date"] is True


def test_edge_verification_shows_expected_versus_found(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(delay_seconds=60)
    stack.engine.up([hosting_provider()])
    with pytest.raises(ProviderError) as caught:
        stack.engine.up([hosting_provider(), verification()])
    text = str(caught.value)
    assert "expected" in text and "found on the Edge" in text
    assert "CsHostingProvider Exchange Online" in text and "(not on the Edge)" in text
    edge_reads = [e for e in stack.emu.audit.entries() if e.role == "edge"]
    assert len(edge_reads) >= 2  # it retried within its deadline
    assert all(e.parameters.get("LocalStore") is True for e in edge_reads)


def test_edge_verification_reports_a_stale_value(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack()
    stack.engine.up([hosting_provider()])
    stack.engine.up([hosting_provider(), verification()])
    stack.emu.service.replication.settings = ReplicationSettings(broken=frozenset({EDGE}))
    stack.engine.up([hosting_provider(enabled=False)])
    with pytest.raises(ProviderError) as caught:
        stack.engine.up([hosting_provider(enabled=False), verification(enabled=False)])
    row = next(line for line in str(caught.value).splitlines() if "enabled" in line)
    assert "False" in row and "True" in row


def test_force_replication_unsticks_a_stalled_replica(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(stalled=frozenset({EDGE}), forced_push_delay_seconds=0.5)
    stack.engine.up([hosting_provider()])
    plan = stack.engine.up([hosting_provider(), gate(stack, force_replication_after_seconds=0.5)])
    assert plan.ops["gate"] == "create"
    [invoke] = stack.emu.audit.entries("Invoke-CsManagementStoreReplication")
    assert invoke.parameters["ReplicaFqdn"] == EDGE
    assert stack.engine.outputs("gate")["forced_replication"] == [EDGE]


def test_refresh_reports_replication_status_without_failing(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    stack.engine.up([hosting_provider()])
    stack.engine.up([hosting_provider(), gate(stack), verification()])
    stack.emu.service.replication.settings = ReplicationSettings(broken=frozenset({EDGE}))
    stack.emu.run_cmdlet("Set-CsHostingProvider", "Exchange Online", Enabled=False)
    stack.emu.audit.clear()
    plan = stack.engine.refresh()
    assert plan.ops["gate"] == "same" and plan.ops["edge-check"] == "same"
    edge = edge_status(stack.engine.outputs("gate"))
    assert edge["up_to_date"] is False and edge.get("last_status_report") is None
    # The Edge still holds the replicated provider, so nothing differs there yet.
    assert stack.engine.outputs("edge-check")["differences"] == []
    assert stack.emu.audit.writes() == []


def test_edge_verification_runs_again_in_the_up_that_fixes_drift_a_refresh_found(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    stack.engine.up([hosting_provider(), verification()])
    stack.emu.run_cmdlet("Set-CsHostingProvider", "Exchange Online", Enabled=False)
    stack.engine.refresh()
    [difference] = stack.engine.outputs("edge-check")["differences"]
    assert difference["property"] == "enabled" and difference["found"] is False

    plan = stack.engine.up([hosting_provider(), verification()])

    assert plan.ops == {"exo": "update", "edge-check": "update"}
    assert not stack.engine.outputs("edge-check").get("differences")
    assert stack.engine.up([hosting_provider(), verification()]).ops == {
        "exo": "same",
        "edge-check": "same",
    }


def test_a_takeover_that_writes_nothing_does_not_hold_the_gate(
    make_stack: Callable[..., Stack],
) -> None:
    """Adopting what already holds the declared values writes no snapshot; the gate must then
    count replicas that hold the newest one, not wait for a change that never comes."""
    stack = make_stack()
    stack.emu.run_cmdlet(
        "New-CsHostingProvider", **{lync_name(k): v for k, v in EXCHANGE_ONLINE.items()}
    )
    writes = len(stack.emu.audit.writes())

    stack.engine.up([hosting_provider(adopt=True)])
    stack.engine.up([hosting_provider(adopt=True), gate(stack, timeout_seconds=5)])

    assert stack.emu.audit.writes()[writes:] == []
    outs = stack.engine.outputs("gate")
    assert outs["polls"] == 1 and edge_status(outs)["up_to_date"] is True


def test_a_write_whose_marker_is_unknown_is_waited_for_despite_older_markers(
    make_stack: Callable[..., Stack],
) -> None:
    """An update whose replication status read failed has no ``changed_at``; another
    resource's older one must not open the gate on a snapshot from before that write."""
    stack = make_stack(delay_seconds=2, stale_window_seconds=1.5)
    other = EXCHANGE_ONLINE | {"identity": "Other", "proxy_fqdn": "other.example.com"}
    program = [
        hosting_provider(),
        declare(HostingProvider, "other", HostingProviderProvider(), other),
    ]
    stack.engine.up(program)
    markers = [stack.engine.outputs(name)["changed_at"] for name in ("exo", "other")]
    stack.engine.up([*program, gate(stack, changed_after=markers)])  # both replicated
    stack.emu.faults.fail_invocation("Get-CsManagementStoreReplicationStatus")
    moved = [hosting_provider(enabled=False), program[1]]
    assert stack.engine.up(moved).ops == {"exo": "update", "other": "same", "gate": "delete"}
    assert "changed_at" not in stack.engine.outputs("exo")
    [status] = stack.emu.run_cmdlet("Get-CsManagementStoreReplicationStatus", EDGE)
    assert status.properties["UpToDate"] is True  # the stale report, about the old version
    markers = [stack.engine.outputs(name).get("changed_at") for name in ("exo", "other")]
    stack.engine.up([*moved, gate(stack, changed_after=markers)])
    assert edge_holds_the_latest_version(stack)
