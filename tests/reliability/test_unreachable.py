"""Scenario 4: slow and unreachable servers give a clear error within the configured bound.

A server slower than ``lync:operationTimeout``, a port with nothing listening, a name that
does not resolve, and a server that accepts the TCP connection and never answers: each ends
the operation with a typed, actionable error in bounded time, never a hang.
"""

from __future__ import annotations

import socket
import time

from lync_emulator.blackhole import BlackHole
from lync_provider.resources import HostingProvider, HostingProviderProvider
from tests.reliability.conftest import Rig
from tests.resources.scenarios import EXCHANGE_ONLINE
from tests.support.engine import declare

FAST = {"lync:operationTimeout": "2", "lync:connectTimeout": "1"}
EXO = declare(HostingProvider, "exo", HostingProviderProvider(), EXCHANGE_ONLINE)


def timed_failure(rig: Rig, config: dict[str, str]) -> tuple[str, float]:
    stack = rig.stack(config={**FAST, **config})
    started = time.monotonic()
    text = rig.failure(lambda: stack.engine.up([EXO]))
    return text, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_reply_slower_than_the_operation_timeout_is_a_timeout_error(rig: Rig) -> None:
    stack = rig.stack(config=FAST)
    stack.engine.up([])  # configure; the first call opens the session
    stack.emu.faults.hold_replies(10.0)
    started = time.monotonic()
    text = rig.failure(lambda: stack.engine.up([EXO]))
    elapsed = time.monotonic() - started
    stack.emu.faults.release_replies()
    assert "No answer within 2 s" in text and "HostingProvider 'Exchange Online'" in text
    assert "Get-CsHostingProvider" in text and "hint:" in text
    assert elapsed < 2 * 3 + 3  # each of the bounded read attempts ends at the timeout


def test_a_port_with_nothing_listening_is_a_connection_error(rig: Rig) -> None:
    url = f"http://127.0.0.1:{free_port()}/OcsPowershell"
    text, elapsed = timed_failure(rig, {"lync:frontEndUrl": url})
    assert "refused the connection on port" in text and url in text
    assert "nothing listens on that port" in text
    assert elapsed < 5


def test_a_name_that_does_not_resolve_is_a_connection_error(rig: Rig) -> None:
    url = "http://pool01.lync-provider-test.invalid/OcsPowershell"
    text, elapsed = timed_failure(rig, {"lync:frontEndUrl": url})
    assert "Could not connect: the name pool01.lync-provider-test.invalid does not resolve" in text
    assert "a name DNS knows" in text
    assert elapsed < 10


def test_a_server_that_accepts_and_never_answers_is_bounded(rig: Rig) -> None:
    with BlackHole() as hole:
        text, elapsed = timed_failure(rig, {"lync:frontEndUrl": f"{hole.url}/OcsPowershell"})
    # The wait is a Receive's (operationTimeout 2 s) plus the connect time (1 s).
    assert "Connected, but no answer within 3 s" in text and "HostingProvider" in text
    assert "did not answer as WinRM does" in text and "port and path" in text
    assert elapsed < 1 + 2 + 5
