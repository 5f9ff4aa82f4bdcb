"""Scenario 10: protocol abuse against the server while a deployment runs.

Malformed SOAP, an envelope that asks for nothing, a 20 MB body, random bytes, and a
slowloris-style request held open: the emulator answers each with a fault, a 4xx or a closed
socket, the deployment through the provider process is served throughout, and the abuse
changes nothing in the store.
(tests/emulator/test_wire_malformed.py covers each abuse in detail, a wrong ShellId on a live
pool included, with plain pypsrp.)
"""

from __future__ import annotations

import base64
import http.client
import random
import socket

from tests.reliability.conftest import Rig, converged, deployment
from tests.resources.conftest import Stack, store_state

NOISE = random.Random(20261202).randbytes(4096)
SOAP = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x>'


def post(stack: Stack, body: bytes, headers: dict[str, str] | None = None) -> int:
    """One abusive POST with valid credentials; the status, or 0 for a closed socket."""
    credentials = base64.b64encode(f"{stack.emu.username}:{stack.emu.password}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", stack.emu.frontend_port, timeout=10)
    try:
        conn.request(
            "POST",
            "/OcsPowershell",
            body,
            {
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/soap+xml;charset=UTF-8",
                **(headers or {}),
            },
        )
        return conn.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def test_abuse_is_refused_while_a_deployment_is_served(rig: Rig) -> None:
    stack = rig.stack()
    pristine = store_state(stack.emu)
    with socket.create_connection(("127.0.0.1", stack.emu.frontend_port), timeout=10) as slow:
        slow.sendall(b"POST /OcsPowershell HTTP/1.1\r\nHost: x\r\nContent-Length: 999\r\n")
        statuses = [
            post(stack, SOAP),  # malformed: never closed
            post(stack, NOISE),
            post(stack, b"x" * (20 * 1024 * 1024)),
            post(
                stack,
                SOAP.replace(b"<x>", b"") + b"</s:Body></s:Envelope>",
                {"Content-Type": "application/soap+xml;charset=UTF-8"},
            ),
        ]
        assert all(status == 0 or 400 <= status < 600 for status in statuses), statuses
        assert statuses[2] in (0, 413)
        assert store_state(stack.emu) == pristine
        # The slow client is still holding its connection open: the deployment goes on.
        stack.engine.up(deployment())
    assert converged(stack.emu)
