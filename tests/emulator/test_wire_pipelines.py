"""pypsrp against the emulator over Basic/HTTP: objects, errors, parameters, pool messages."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_emulator.invocation import Role

from .conftest import THING, FakeService, client, run


def test_objects_arrive_with_type_names_properties_and_clixml_types(
    pool: RunspacePool, fake: FakeService
) -> None:
    ps = run(pool, "Get-Thing", Count=2)
    assert not ps.had_errors and not ps.streams.error
    first = ps.output[0]
    assert first.types == [THING, "System.Object"]
    assert str(first) == "Identity=thing0"
    props = first.adapted_properties
    assert props["Identity"] == "thing0"
    assert props["Port"] == 443 and props["Percent"] == 20
    assert props["Enabled"] is True and ps.output[1].adapted_properties["Enabled"] is False
    assert props["Level"] == "UseSourceVerification"
    assert props["Nothing"] is None
    assert props["Tags"] == ["a", "b"]
    assert props["When"].startswith("2024-01-02T03:04:05")  # pypsrp keeps <DT> as text
    assert props["Role"] == "frontend" and props["Caller"] == "lab\\admin"


def test_parameters_reach_the_service_as_plain_python(
    pool: RunspacePool, fake: FakeService
) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Echo-Thing").add_argument("pos")
    ps.add_parameter("Value", "v").add_parameter("Flag", True).add_parameter("N", 7)
    ps.add_parameter("List", ["x", 1]).add_parameter("Map", {"Add": "y"}).add_parameter("Force")
    ps.invoke()
    statement = fake.calls[-1][1][0]
    assert statement.command == "Echo-Thing"
    assert statement.parameters == [
        (None, "pos"),
        ("Value", "v"),
        ("Flag", True),
        ("N", 7),
        ("List", ["x", 1]),
        ("Map", {"Add": "y"}),
        ("Force", None),
    ]
    types = [type(v) for _, v in statement.parameters]
    assert types == [str, str, bool, int, list, dict, type(None)]


def test_two_statements_reach_the_service_in_order(pool: RunspacePool, fake: FakeService) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Thing").add_statement().add_cmdlet("Echo-Thing").add_parameter("Value", 1)
    ps.invoke()
    assert [s.command for s in fake.calls[-1][1]] == ["Get-Thing", "Echo-Thing"]


def test_errors_warnings_and_terminating_failure(pool: RunspacePool) -> None:
    ps = run(pool, "Fail-Thing")
    assert ps.had_errors and ps.state == PSInvocationState.FAILED
    assert [o.adapted_properties["Value"] for o in ps.output] == ["before"]
    assert [w.message for w in ps.streams.warning] == ["careful"]
    non_terminating, terminating = ps.streams.error
    assert str(non_terminating) == "not there"
    assert non_terminating.fq_error == "NotFound,Fail-Thing"
    assert non_terminating.category == 13  # ObjectNotFound
    assert non_terminating.target_name == "x"
    assert terminating.fq_error == "Broken,Fail-Thing"
    assert terminating.category == 5  # InvalidArgument
    assert terminating.activity == "Fail-Thing"


def test_unknown_cmdlet_fails_like_powershell(pool: RunspacePool) -> None:
    ps = run(pool, "Get-Nothing")
    assert ps.had_errors
    assert "is not recognized as the name of a cmdlet" in str(ps.streams.error[0])
    assert ps.streams.error[0].reason == "CommandNotFoundException"


def test_pipeline_input_is_refused(pool: RunspacePool, fake: FakeService) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-Thing")
    ps.invoke(input=["a", "b"])
    assert ps.had_errors and ps.streams.error[0].fq_error == "InputNotSupported"
    assert fake.calls == []


def test_a_thousand_objects_in_one_get(pool: RunspacePool) -> None:
    ps = run(pool, "Get-Thing", Count=1000)
    assert len(ps.output) == 1000
    assert ps.output[0].adapted_properties["Identity"] == "thing0"
    assert ps.output[999].adapted_properties["Index"] == 999
    assert ps.output[500].adapted_properties["Port"] == 443


HOSTILE = [
    'it\'s "quoted"',
    "$env:PATH `n `$x",
    "a; Remove-Item C:\\ -Recurse",
    "line1\nline2\r\nline3\ttab",
    "café - 日本語 - emoji 🎉 - \u2013 dash",
    "<xml attr='x'>&amp;</xml>",
    "_x0041_ escaped-looking",
    "nul-ish \x01\x1f control",
    " leading and trailing ",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_round_trip_byte_for_byte(
    pool: RunspacePool, fake: FakeService, value: str
) -> None:
    ps = run(pool, "Echo-Thing", Value=value)
    assert fake.calls[-1][1][0].parameters == [("Value", value)]
    assert ps.output[0].adapted_properties["Value"] == value


def test_pipelines_are_pruned_once_done_is_delivered(emu: Emulator, pool: RunspacePool) -> None:
    for _ in range(3):
        run(pool, "Get-Thing")
    table = emu._tables[Role.FRONTEND]
    shell = next(iter(table._shells.values()))
    assert shell.pipelines == {} and shell.pool.pipeline_table == {}


def test_close_sends_terminate_and_pool_keeps_working(pool: RunspacePool) -> None:
    ps = run(pool, "Get-Thing")
    ps.close()
    assert len(run(pool, "Get-Thing", Count=2).output) == 2


def test_slow_cmdlet_gets_timed_out_receives_then_its_output(
    pool: RunspacePool, fake: FakeService, emu: Emulator
) -> None:
    before = emu.counters[Counter.HTTP_REQUESTS, "frontend"]
    ps = PowerShell(pool)
    ps.add_cmdlet("Slow-Thing")
    ps.begin_invoke()
    for _ in range(2):  # one Receive each, answered TimedOut at the 0.2 s cap
        ps.poll_invoke(timeout=5)
        assert ps.state == PSInvocationState.RUNNING and not ps.output
    assert emu.counters[Counter.HTTP_REQUESTS, "frontend"] - before == 3  # Command, 2 Receives
    fake.gate.set()
    ps.end_invoke()
    assert [o.adapted_properties["Value"] for o in ps.output] == ["slow"]


def test_stop_stops_a_running_pipeline(pool: RunspacePool, fake: FakeService) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Slow-Thing")
    ps.begin_invoke()
    ps.stop()
    fake.gate.set()
    assert ps.state == PSInvocationState.STOPPED
    assert len(run(pool, "Get-Thing").output) == 1


def test_two_pipelines_in_one_pool_interleave(pool: RunspacePool, fake: FakeService) -> None:
    slow = PowerShell(pool)
    slow.add_cmdlet("Slow-Thing")
    slow.begin_invoke()
    assert len(run(pool, "Get-Thing", Count=3).output) == 3  # not blocked by the slow one
    fake.gate.set()
    slow.end_invoke()
    assert slow.output[0].adapted_properties["Value"] == "slow"


def test_pool_level_messages(emu: Emulator) -> None:
    with RunspacePool(client(emu), max_runspaces=4) as pool:
        assert pool.get_available_runspaces() == 4
        pool.max_runspaces = 6
        pool.min_runspaces = 2
        assert pool.get_available_runspaces() == 6
        pool.exchange_keys()
        assert pool.is_alive()


def test_both_roles_share_the_service_and_know_their_role(emu: Emulator, fake: FakeService) -> None:
    with RunspacePool(client(emu, role="edge")) as pool:
        assert run(pool, "Get-Thing").output[0].adapted_properties["Role"] == "edge"
    assert emu.edge_url is not None and emu.edge_url.endswith("/wsman")
    assert emu.frontend_url.endswith("/OcsPowershell")


def test_run_cmdlet_is_a_local_out_of_band_change(emu: Emulator, fake: FakeService) -> None:
    emu.run_cmdlet("Set-Thing", Name="from-shell")
    assert fake.names == ["from-shell"]
    assert fake.calls[-1][0] == Role.LOCAL


def test_counters_follow_pools_and_pipelines(emu: Emulator) -> None:
    with RunspacePool(client(emu)) as pool:
        assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 1
        run(pool, "Get-Thing")
    assert emu.counters[Counter.POOLS_OPENED, "frontend"] == 1
    assert emu.counters[Counter.POOLS_CLOSED, "frontend"] == 1
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0
    assert emu.counters[Counter.PIPELINES_RUN, "frontend"] == 1


def _invoke_times(pool: RunspacePool, count: int) -> list[float]:
    """Wall time of each of ``count`` consecutive Get-Thing invocations, in seconds."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        run(pool, "Get-Thing")
        times.append(time.perf_counter() - start)
    return times


def test_one_invocation_takes_milliseconds(pool: RunspacePool) -> None:
    run(pool, "Get-Thing")  # warm up
    median_ms = statistics.median(_invoke_times(pool, 20)) * 1000
    print(f"median invoke: {median_ms:.1f} ms")
    # A smoke bound for a broken transport (Nagle's 40 ms stall per request would exceed
    # it); the real numbers are bench's job, and pypsrp alone costs ~8 ms on a slow VM.
    assert median_ms < 50


def test_invocation_time_does_not_grow_with_the_calls_on_one_pool(
    emu: Emulator, pool: RunspacePool
) -> None:
    # Any per-pipeline state left behind (psrpcore's pipeline table, queues, worker
    # threads) makes every later call slower; relative, so a slow machine cannot fail it.
    times = _invoke_times(pool, 330)
    early, late = statistics.median(times[:30]), statistics.median(times[300:330])
    print(f"median invoke: calls 1-30 {early * 1000:.1f} ms, 301-330 {late * 1000:.1f} ms")
    assert late < early * 1.5
    shell = next(iter(emu._tables[Role.FRONTEND]._shells.values()))
    assert shell.pipelines == {} and shell.pool.pipeline_table == {}
    assert set(shell.queues) <= {None}


def test_a_shell_keeps_each_command_until_it_is_terminated(
    make_lync_emulator: Callable[..., Emulator], fake: FakeService
) -> None:
    """Windows counts a command against MaxConcurrentCommandsPerShell until the client sends
    the Terminate signal (MS-WSMV 3.1.4.12), even after its output was delivered."""
    emu = make_lync_emulator(service=fake, max_commands_per_shell=2)
    with RunspacePool(client(emu)) as pool:
        first = run(pool, "Get-Thing")
        run(pool, "Get-Thing")
        with pytest.raises(WSManFaultError) as refused:
            run(pool, "Get-Thing")
        # As Windows sends it (pypsrp#148): no WSManFault detail, so pypsrp's code is the
        # SOAP subcode.
        assert refused.value.code == "w:InternalError"
        assert "maximum number of concurrent commands per shell" in str(refused.value)
        first.close()  # the Terminate signal
        assert len(run(pool, "Get-Thing").output) == 1


def test_a_user_may_hold_only_max_shells_per_user_shells(
    make_lync_emulator: Callable[..., Emulator], fake: FakeService
) -> None:
    """MaxShellsPerUser (MS-WSMV 3.1.4.5.2.1): a Create beyond the user's quota is refused
    with QuotaLimit; another user is not affected, and a deleted shell frees its place."""
    emu = make_lync_emulator(
        service=fake,
        users={"lab\\admin": "Secret123!", "lab\\other": "Other123!"},
        max_shells_per_user=2,
    )
    first, second = RunspacePool(client(emu)), RunspacePool(client(emu))
    first.open()
    second.open()
    with pytest.raises(WSManFaultError) as refused:
        RunspacePool(client(emu)).open()
    assert refused.value.code == 2150859236  # ERROR_WSMAN_QUOTA_MAX_SHELLS_PPQ
    assert "maximum number of concurrent shells for this user" in str(refused.value)
    with RunspacePool(client(emu, username="lab\\other", password="Other123!")) as theirs:
        assert len(run(theirs, "Get-Thing").output) == 1
    first.close()
    with RunspacePool(client(emu)) as again:
        assert len(run(again, "Get-Thing").output) == 1
    second.close()
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0
