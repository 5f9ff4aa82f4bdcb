"""A server that is down for a while (``faults.outage_for``) or restarts (``emu.restart``)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import RunspacePool

from lync_emulator.emulator import Emulator
from lync_emulator.invocation import Role
from lync_emulator.replication import ReplicationSettings

from .conftest import FABRIKAM, client, run

Make = Callable[..., Emulator]
SHELL_NOT_FOUND = 0x8033805B


def test_an_outage_answers_503_on_both_roles_until_it_ends(emu: Emulator) -> None:
    with RunspacePool(client(emu)) as pool, RunspacePool(client(emu, role="edge")) as edge:
        emu.faults.outage_for(60)
        for opened in (pool, edge):
            with pytest.raises(WinRMTransportError) as info:
                run(opened, "Get-Thing")
            assert info.value.code == 503
            assert (
                b"HTTP Error 503. The service is unavailable." in info.value.response_text.encode()
            )
        with pytest.raises(WinRMTransportError):
            RunspacePool(client(emu)).open()
        emu.faults.end_outage()
        # The shells outlived the window: the pools opened before it still work.
        assert len(run(pool, "Get-Thing").output) == 1
        assert len(run(edge, "Get-Thing").output) == 1


def test_an_outage_ends_by_itself_when_its_time_is_up(emu: Emulator, pool: RunspacePool) -> None:
    now = [1000.0]
    emu.faults.clock = lambda: now[0]
    emu.faults.outage_for(0.3)
    with pytest.raises(WinRMTransportError):
        run(pool, "Get-Thing")
    now[0] += 0.29
    with pytest.raises(WinRMTransportError):
        run(pool, "Get-Thing")
    now[0] += 0.01  # the modelled length of the outage has passed
    assert len(run(pool, "Get-Thing").output) == 1


def test_a_restart_forgets_shells_keeps_ports_and_reloads_the_store_from_its_file(
    make_lync_emulator: Make, tmp_path: Path
) -> None:
    settings = ReplicationSettings(delay_seconds=0.0, stale_window_seconds=5.0)
    emu = make_lync_emulator(
        state_path=tmp_path / "state.json", version="2015", replication=settings
    )
    before = emu.service
    ports = (emu.frontend_port, emu.edge_port)
    pool = RunspacePool(client(emu))
    pool.open()
    edge = RunspacePool(client(emu, role="edge"))
    edge.open()
    assert not run(pool, "New-CsHostingProvider", **FABRIKAM).had_errors
    emu.faults.fail_invocation("Get-CsAccessEdgeConfiguration")  # set before, fires after

    emu.restart()

    assert (emu.frontend_port, emu.edge_port) == ports
    assert emu.shells_open("frontend") == emu.shells_open("edge") == 0
    for stale in (pool, edge):
        with pytest.raises(WSManFaultError) as info:
            run(stale, "Get-CsHostingProvider")
        assert info.value.code == SHELL_NOT_FOUND
    after: Any = emu.service
    assert after is not before and after.store is not before.store  # read from the file
    assert (after.version, after.replication.settings) == (before.version, settings)
    with RunspacePool(client(emu)) as fresh:
        (provider,) = run(fresh, "Get-CsHostingProvider").output
        assert provider.adapted_properties["ProxyFqdn"] == "sip.fabrikam.com"
        failed = run(fresh, "Get-CsAccessEdgeConfiguration")
        assert failed.streams.error[0].fq_error.startswith("InjectedFault,")
    assert [e.cmdlet for e in emu.audit.writes()] == ["New-CsHostingProvider"]


def test_without_a_state_file_a_restart_keeps_the_store_in_memory(make_lync_emulator: Make) -> None:
    # NTLM over HTTPS: the certificate and the accounts outlive the restart too.
    emu = make_lync_emulator(auth="ntlm", tls=True)
    before = emu.service
    with RunspacePool(client(emu, auth="ntlm")) as pool:
        assert not run(pool, "New-CsHostingProvider", **FABRIKAM).had_errors
    emu.restart()
    assert emu.service is before
    with RunspacePool(client(emu, auth="ntlm")) as fresh:
        assert len(run(fresh, "Get-CsHostingProvider").output) == 1


def test_only_a_running_emulator_restarts(emu: Emulator) -> None:
    emu.stop()
    with pytest.raises(RuntimeError, match="running"):
        emu.restart()


def test_a_connection_registered_after_stop_is_cut_at_once(make_lync_emulator: Make) -> None:
    """A connection accepted just before stop() whose thread registers it afterwards (the
    TLS handshake runs first) must not serve on against the stopped server."""
    emu = make_lync_emulator()
    server = emu._servers[Role.FRONTEND]
    server.stop()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        server.track(theirs, add=True)
        ours.settimeout(5)  # a connection left open would block here; fail instead
        assert ours.recv(1) == b""  # the other end was shut down: end of stream
