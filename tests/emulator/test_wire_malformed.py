"""Hostile and broken requests over raw sockets: a fault or a 4xx, and the server lives on."""

from __future__ import annotations

import base64
import http.client
import socket
import uuid

import pytest
from pypsrp.powershell import RunspacePool

from lync_emulator.emulator import Emulator
from lync_emulator.http import DEFAULT_MAX_BODY

from .conftest import client, run

AUTH = "Basic " + base64.b64encode(b"lab\\admin:Secret123!").decode()


def envelope(action: str, body: str = "", shell_id: str | None = None) -> bytes:
    selector = (
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        if shell_id
        else ""
    )
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:1234</a:MessageID>"
        "<w:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.PowerShell</w:ResourceURI>"
        f"{selector}<w:OperationTimeout>PT1S</w:OperationTimeout></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def post(emu: Emulator, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.frontend_port, timeout=5)
    try:
        conn.request(
            "POST",
            "/OcsPowershell",
            body,
            {"Authorization": AUTH, "Content-Type": "application/soap+xml", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def assert_still_serving(emu: Emulator) -> None:
    with RunspacePool(client(emu)) as pool:
        assert len(run(pool, "Get-Thing").output) == 1


SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<not xml", b"2150858817"),
        (b"<s:Envelope xmlns:s='urn:wrong'/>", b"2150858817"),
        (envelope("urn:no-such-action"), b"2150858757"),
        (envelope(SHELL + "Receive", "<rsp:Receive/>", str(uuid.uuid4())), b"2150858843"),
        (envelope(SHELL + "Command", "<rsp:CommandLine/>"), b"2150858843"),
        (
            envelope(
                "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create",
                "<rsp:Shell><creationXml xmlns='http://schemas.microsoft.com/powershell'>"
                "AAAA</creationXml></rsp:Shell>",
            ),
            b"2150858817",
        ),
    ],
    ids=["bad-xml", "not-soap", "unknown-action", "unknown-shell", "no-shell", "bad-psrp"],
)
def test_bad_envelopes_get_wsman_faults(emu: Emulator, body: bytes, code: bytes) -> None:
    status, answer = post(emu, body)
    assert status == 500
    assert b"<s:Fault>" in answer and f'Code="{code.decode()}"'.encode() in answer
    if b"uuid:1234" in body:
        assert b"<a:RelatesTo>uuid:1234</a:RelatesTo>" in answer
    assert_still_serving(emu)


def test_unauthenticated_and_wrong_methods(emu: Emulator) -> None:
    assert post(emu, b"x", {"Authorization": ""})[0] == 401
    conn = http.client.HTTPConnection("127.0.0.1", emu.frontend_port, timeout=5)
    conn.request("GET", "/OcsPowershell")
    assert conn.getresponse().status == 405
    conn.close()
    assert_still_serving(emu)


def test_oversized_body_is_413(emu: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.frontend_port), timeout=5) as sock:
        sock.sendall(
            f"POST /wsman HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n"
            f"Content-Length: {DEFAULT_MAX_BODY + 1}\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert_still_serving(emu)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x16\x03\x01\x00garbage\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"POST / HTTP/1.1\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",  # then the client vanishes
    ],
)
def test_garbage_http_gets_4xx_or_a_closed_socket(emu: Emulator, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", emu.frontend_port), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(100)
    # http.server answers a request line it cannot parse HTTP/0.9-style, body only.
    status_line = answer.startswith(b"HTTP/1.") and b" 4" in answer[:13]
    assert answer == b"" or status_line or answer.startswith(b"<!DOCTYPE HTML>")
    assert_still_serving(emu)


def test_handler_bug_becomes_internal_error_fault(emu: Emulator) -> None:
    table = emu._tables[next(iter(emu._tables))]

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    table.create = broken  # type: ignore[method-assign]
    with pytest.raises(Exception, match="boom"):
        RunspacePool(client(emu)).open()
