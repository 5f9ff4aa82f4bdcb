"""``BlackHole``: a peer that accepts connections and never answers, bounded and cleaned up."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from lync_emulator.blackhole import BlackHole


def wait_for(condition: Callable[[], bool]) -> None:
    """Until the serving thread has caught up (it runs on its own)."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the black hole did not get there in time"
        time.sleep(0.005)


def test_a_client_only_meets_its_own_read_timeout() -> None:
    with BlackHole() as hole:
        url = urlsplit(hole.url)
        assert (url.hostname, url.path) == ("127.0.0.1", "/OcsPowershell")
        wsman = WSMan(
            "127.0.0.1",
            port=url.port,
            path="OcsPowershell",
            ssl=False,
            auth="basic",
            username="lab\\admin",
            password="x",
            encryption="never",
            connection_timeout=2,
            read_timeout=0.3,  # type: ignore[arg-type]  # requests takes a float
        )
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            RunspacePool(wsman).open()
        assert 0.3 <= time.monotonic() - started < 3
        assert hole.accepted == 1


def test_leaving_closes_every_connection_and_the_listener() -> None:
    with BlackHole() as hole:
        port = hole.port
        peer = socket.create_connection(("127.0.0.1", port), timeout=5)
        peer.sendall(b"POST /OcsPowershell HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
        wait_for(lambda: hole.accepted == 1)
    with peer:
        assert peer.recv(10) == b""  # closed, and nothing was ever written
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_it_holds_at_most_max_connections_and_frees_a_place_when_one_leaves() -> None:
    with BlackHole(max_connections=2) as hole:
        peers = [socket.create_connection(("127.0.0.1", hole.port), timeout=5) for _ in range(3)]
        # The flag drops just after the second accept: wait for both, then check the third
        # was not taken while two are held.
        wait_for(lambda: hole.accepted == 2 and not hole.accepting)
        assert hole.accepted == 2  # the third waits in the listen backlog
        peers[0].close()
        wait_for(lambda: hole.accepted == 3)
        for peer in peers[1:]:
            peer.close()
