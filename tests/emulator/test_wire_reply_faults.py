"""Answers that never come or come late: ``drop_reply_after`` and ``hold_replies``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import requests
from pypsrp.exceptions import WinRMTransportError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator

from .conftest import FABRIKAM, FakeService, client, run

Make = Callable[..., Emulator]


def requests_so_far(emu: Emulator) -> int:
    return emu.counters[Counter.HTTP_REQUESTS, "frontend"]


def test_a_write_whose_answer_is_lost_was_committed_and_the_pool_lives_on(
    lync_emulator: Emulator,
) -> None:
    emu = lync_emulator
    with RunspacePool(client(emu)) as pool:
        emu.faults.drop_reply_after("new-cshostingprovider")  # case-insensitive
        with pytest.raises(requests.exceptions.ConnectionError):
            run(pool, "New-CsHostingProvider", **FABRIKAM)
        (entry,) = emu.audit.entries("New-CsHostingProvider")
        assert entry.outcome == "ok" and entry.wrote
        # A later request, on a new connection, is answered; the shell survived.
        (found,) = run(pool, "Get-CsHostingProvider", Identity="Fabrikam").output
        assert found.adapted_properties["ProxyFqdn"] == "sip.fabrikam.com"
    with RunspacePool(client(emu)) as fresh:
        assert len(run(fresh, "Get-CsHostingProvider").output) == 1


def test_a_lost_answer_can_start_an_outage_as_a_crash_after_commit_would(
    lync_emulator: Emulator,
) -> None:
    emu = lync_emulator
    with RunspacePool(client(emu)) as pool:
        emu.faults.drop_reply_after("New-CsHostingProvider", outage_s=60)
        assert not emu.faults.in_outage()
        with pytest.raises(requests.exceptions.ConnectionError):
            run(pool, "New-CsHostingProvider", **FABRIKAM)
        assert emu.faults.in_outage()  # from the moment the answer was lost
        with pytest.raises(WinRMTransportError) as info:
            run(pool, "Get-CsHostingProvider")  # so the client cannot read back either
        assert info.value.code == 503
        emu.faults.end_outage()
        assert len(run(pool, "Get-CsHostingProvider").output) == 1  # yet it was applied


def test_only_the_nth_invocation_loses_its_answer(emu: Emulator, pool: RunspacePool) -> None:
    emu.faults.drop_reply_after("Get-Thing", 2)
    assert len(run(pool, "Get-Thing").output) == 1
    with pytest.raises(requests.exceptions.ConnectionError):
        run(pool, "Get-Thing")
    assert len(run(pool, "Get-Thing").output) == 1
    assert len(run(pool, "Echo-Thing", Value=1).output) == 1


def test_the_lost_exchange_is_the_receive_carrying_the_outcome(
    emu: Emulator, pool: RunspacePool, fake: FakeService
) -> None:
    emu.faults.drop_reply_after("Echo-Thing")
    ps = PowerShell(pool)
    ps.add_cmdlet("Echo-Thing").add_parameter("Value", "lost")
    ps.begin_invoke()  # the Command is answered: the pipeline was accepted
    with pytest.raises(requests.exceptions.ConnectionError):
        ps.end_invoke()  # the Receive with its output and final state is not
    assert fake.calls[-1][1][0].command == "Echo-Thing"  # and it ran
    assert ps.output == []


def test_a_held_answer_times_out_receives_until_released(
    emu: Emulator, pool: RunspacePool, fake: FakeService
) -> None:
    emu.faults.hold_replies(60, "Get-Thing")
    held = PowerShell(pool)
    held.add_cmdlet("Get-Thing")
    held.begin_invoke()
    before = requests_so_far(emu)
    held.poll_invoke()  # one Receive: answered TimedOut (0.2 s), which pypsrp swallows
    assert requests_so_far(emu) == before + 1
    assert held.state == PSInvocationState.RUNNING and held.output == []
    assert fake.calls[-1][1][0].command == "Get-Thing"  # it ran at once; only its answer waits
    assert len(run(pool, "Echo-Thing", Value=1).output) == 1  # other cmdlets are not held
    emu.faults.release_replies()
    assert len(held.end_invoke()) == 1
    assert len(run(pool, "Get-Thing").output) == 1  # released: no longer held


def test_releasing_wakes_a_waiting_receive_at_once(
    make_lync_emulator: Make, fake: FakeService
) -> None:
    emu = make_lync_emulator(service=fake, max_receive_wait_s=5)
    with RunspacePool(client(emu)) as pool:
        emu.faults.hold_replies(60)
        held = PowerShell(pool)
        held.add_cmdlet("Get-Thing")
        held.begin_invoke()
        receiving = requests_so_far(emu) + 1
        waiter = threading.Thread(target=held.end_invoke)
        waiter.start()
        deadline = time.monotonic() + 5
        while requests_so_far(emu) < receiving:  # the Receive reached the server
            assert time.monotonic() < deadline
            time.sleep(0.005)
        released = time.monotonic()
        emu.faults.release_replies()
        waiter.join(5)
        assert not waiter.is_alive() and len(held.output) == 1
        assert time.monotonic() - released < 2  # not at the Receive's 5 s cap


def test_a_hold_lasts_its_seconds_from_the_start_of_each_pipeline(
    emu: Emulator, pool: RunspacePool
) -> None:
    emu.faults.hold_replies(0.5)
    before = requests_so_far(emu)
    started = time.monotonic()
    assert len(run(pool, "Get-Thing").output) == 1
    assert time.monotonic() - started >= 0.5
    # Command, then Receives answered TimedOut every 0.2 s, then the one with the answer.
    assert requests_so_far(emu) - before >= 4


def test_clear_switches_every_fault_off(emu: Emulator, pool: RunspacePool) -> None:
    emu.faults.drop_reply_after("Get-Thing")
    emu.faults.hold_replies(60)
    emu.faults.outage_for(60)
    emu.faults.fail_invocation("Get-Thing")
    emu.faults.clear()
    started = time.monotonic()
    assert len(run(pool, "Get-Thing").output) == 1
    assert time.monotonic() - started < 0.5


def test_invalid_switches_are_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.drop_reply_after("Get-Thing", 0)
    with pytest.raises(ValueError):
        emu.faults.drop_reply_after("Get-Thing", outage_s=-1)
    with pytest.raises(ValueError):
        emu.faults.hold_replies(-1)
    with pytest.raises(ValueError):
        emu.faults.outage_for(-1)
