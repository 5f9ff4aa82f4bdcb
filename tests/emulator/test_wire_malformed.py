"""Hostile and broken requests: a fault, a 4xx or a closed socket, and the server lives on.

Every abuse runs against the real state model with a well-behaved client connected before
it (the *witness*), which must still be served afterwards, as must a new client, while the
store has not changed and nothing was written. Requests go to 127.0.0.1 only, in bounded
numbers.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import random
import select
import socket
import struct
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import RunspacePool

from lync_emulator.emulator import Emulator
from lync_emulator.http import DEFAULT_MAX_BODY
from lync_emulator.store import dump_data
from lync_emulator.wsman import MAX_ENVELOPE_SIZE, parse_request

from .conftest import BASIC_AUTH, client, run

Make = Callable[..., Emulator]
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
SCHEMA_INVALID, ACTION_UNSUPPORTED, SHELL_NOT_FOUND = 2150858817, 2150858757, 2150858843
NOISE = random.Random(20240601).randbytes(4096)  # the same "random" bytes on every run


def envelope(action: str, body: str = "", shell_id: str | None = None, header: str = "") -> bytes:
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
        f"{selector}<w:OperationTimeout>PT1S</w:OperationTimeout>{header}</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def post(emu: Emulator, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emu.frontend_port, timeout=10)
    try:
        conn.request(
            "POST",
            "/OcsPowershell",
            body,
            {
                "Authorization": BASIC_AUTH,
                "Content-Type": "application/soap+xml",
                **(headers or {}),
            },
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def fault_code(answer: bytes) -> int:
    """The WSManFault code of a fault envelope, which must be well-formed XML."""
    detail = ET.fromstring(answer).find(".//{*}WSManFault")  # noqa: S314 - our own server's
    assert detail is not None, answer
    return int(detail.get("Code", "0"))


class Witness:
    """A client connected before the abuse, and the store as it was then."""

    def __init__(self, emu: Emulator, pool: RunspacePool) -> None:
        self.emu = emu
        self.pool = pool
        self.store = self._store()

    def _store(self) -> Any:
        service: Any = self.emu.service
        return dump_data(service.store.snapshot()), dump_data(service.directory)

    def served(self) -> None:
        """The witness is served now."""
        assert run(self.pool, "Get-CsAccessEdgeConfiguration").output

    def assert_unharmed(self) -> None:
        self.served()
        with RunspacePool(client(self.emu)) as fresh:
            assert run(fresh, "Get-CsHostingProvider").output == []
        assert self._store() == self.store
        assert self.emu.audit.writes() == []


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """The real state model, so that "the store is unchanged" means something; one for the
    module, since no test here may change it."""
    with Emulator(max_receive_wait_s=0.2) as emulator:
        yield emulator


@pytest.fixture
def witness(emu: Emulator) -> Iterator[Witness]:
    with RunspacePool(client(emu)) as pool:
        yield Witness(emu, pool)


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">' % ((c,) + (c - 1,) * 10)
        for c in range(98, 108)
    )
    + b"]><s>&k;</s>"
)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<not xml", SCHEMA_INVALID),
        (b"<s:Envelope xmlns:s='urn:wrong'/>", SCHEMA_INVALID),
        (ENTITY_BOMB, SCHEMA_INVALID),
        (NOISE, SCHEMA_INVALID),
        (b"<a:MessageID>uuid:\x07\x1b</a:MessageID>\x00", SCHEMA_INVALID),
        (envelope("urn:no-such-action"), ACTION_UNSUPPORTED),
        (envelope(SHELL + "Receive", "<rsp:Receive/>", str(uuid.uuid4())), SHELL_NOT_FOUND),
        (envelope(SHELL + "Command", "<rsp:CommandLine/>"), SHELL_NOT_FOUND),
        (
            envelope(
                CREATE,
                "<rsp:Shell><creationXml xmlns='http://schemas.microsoft.com/powershell'>"
                "AAAA</creationXml></rsp:Shell>",
            ),
            SCHEMA_INVALID,
        ),
    ],
    ids=[
        "bad-xml",
        "not-soap",
        "entity-bomb",
        "random-bytes",
        "control-characters",
        "unknown-action",
        "unknown-shell",
        "no-shell",
        "bad-psrp",
    ],
)
def test_bad_envelopes_get_wsman_faults(witness: Witness, body: bytes, code: int) -> None:
    status, answer = post(witness.emu, body)
    assert status == 500
    assert fault_code(answer) == code
    if b"uuid:1234" in body:
        assert b"<a:RelatesTo>uuid:1234</a:RelatesTo>" in answer
    witness.assert_unharmed()


def test_a_document_type_declaration_is_refused_before_its_entities_expand() -> None:
    started = time.perf_counter()
    with pytest.raises(Exception, match="document type declaration"):
        parse_request(ENTITY_BOMB)
    assert time.perf_counter() - started < 0.5  # 10**10 characters were never built


def test_wrong_shell_and_command_ids_on_a_live_pool(witness: Witness) -> None:
    shell_id = str(witness.pool.shell.id).upper()

    def receive(command_id: str) -> int:
        desired = f"<rsp:DesiredStream CommandId='{command_id}'>stdout</rsp:DesiredStream>"
        body = f"<rsp:Receive>{desired}</rsp:Receive>"
        status, answer = post(witness.emu, envelope(SHELL + "Receive", body, shell_id))
        assert status == 500
        return fault_code(answer)

    assert receive(str(uuid.uuid4())) == SCHEMA_INVALID  # no such command in that shell
    assert receive("not-a-guid") == SCHEMA_INVALID
    closed = RunspacePool(client(witness.emu))
    closed.open()
    closed.close()
    status, answer = post(
        witness.emu, envelope(SHELL + "Receive", "<rsp:Receive/>", str(closed.shell.id))
    )
    assert (status, fault_code(answer)) == (500, SHELL_NOT_FOUND)
    witness.assert_unharmed()


def test_maxenvelopesize_is_capped_at_the_services_and_defaults_to_it() -> None:
    asked = envelope(SHELL + "Receive", header="<w:MaxEnvelopeSize>99999999</w:MaxEnvelopeSize>")
    assert parse_request(asked).max_envelope_size == MAX_ENVELOPE_SIZE
    assert parse_request(envelope(SHELL + "Receive")).max_envelope_size == MAX_ENVELOPE_SIZE
    smaller = envelope(SHELL + "Receive", header="<w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>")
    assert parse_request(smaller).max_envelope_size == 153600


def padded(size: int) -> bytes:
    """A Receive for an unknown shell, padded with whitespace to exactly ``size`` bytes."""
    data = envelope(SHELL + "Receive", "<rsp:Receive/>", str(uuid.uuid4()))
    return data.replace(b"<s:Body>", b"<s:Body>" + b" " * (size - len(data)))


def test_an_envelope_over_max_envelope_size_is_413_and_one_at_it_is_processed(
    witness: Witness,
) -> None:
    status, answer = post(witness.emu, padded(MAX_ENVELOPE_SIZE))
    assert (status, fault_code(answer)) == (500, SHELL_NOT_FOUND)
    status, answer = post(witness.emu, padded(MAX_ENVELOPE_SIZE + 1))
    assert status == 413 and b"HTTP Error 413" in answer
    witness.assert_unharmed()


def test_a_20_mb_body_is_refused_unread_and_the_connection_drained(witness: Witness) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", witness.emu.frontend_port, timeout=10)
    with contextlib.closing(conn):
        conn.request(
            "POST", "/OcsPowershell", b"<" * (20 * 1024 * 1024), {"Authorization": BASIC_AUTH}
        )
        response = conn.getresponse()
        assert response.status == 413
        response.read()
        # Drained in time, the connection serves its next request.
        conn.request("POST", "/OcsPowershell", b"<not xml", {"Authorization": BASIC_AUTH})
        assert conn.getresponse().status == 500
    witness.assert_unharmed()


def test_a_declared_length_over_the_limit_is_answered_before_the_body(witness: Witness) -> None:
    with socket.create_connection(("127.0.0.1", witness.emu.frontend_port), timeout=5) as sock:
        sock.sendall(
            f"POST /OcsPowershell HTTP/1.1\r\nHost: x\r\nAuthorization: {BASIC_AUTH}\r\n"
            f"Content-Length: {DEFAULT_MAX_BODY + 1}\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    witness.assert_unharmed()


def test_unauthenticated_wrong_methods_and_false_seals(witness: Witness) -> None:
    assert post(witness.emu, b"x", {"Authorization": ""})[0] == 401
    conn = http.client.HTTPConnection("127.0.0.1", witness.emu.frontend_port, timeout=5)
    conn.request("GET", "/OcsPowershell")
    assert conn.getresponse().status == 405
    conn.close()
    sealed = {
        "Content-Type": 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"'
    }
    assert post(witness.emu, NOISE, sealed)[0] == 400  # no NTLM context to unseal with
    witness.assert_unharmed()


@pytest.mark.parametrize(
    "raw",
    [
        b"\x16\x03\x01\x00garbage\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        NOISE + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort",  # then the client vanishes
    ],
    ids=["tls-hello", "bad-length", "negative-length", "no-length", "nonsense", "noise", "short"],
)
def test_garbage_http_gets_4xx_or_a_closed_socket(witness: Witness, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", witness.emu.frontend_port), timeout=5) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(100)
    # http.server answers a request line it cannot parse HTTP/0.9-style, body only.
    status_line = answer.startswith(b"HTTP/1.") and b" 4" in answer[:13]
    assert answer == b"" or status_line or answer.startswith(b"<!DOCTYPE HTML>")
    witness.assert_unharmed()


SLOW_TIMEOUT_S = 0.5


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (b"", b""),  # connects and says nothing
        (b"P", b"O"),  # slowloris: a header byte at a time, forever
        (b"POST /OcsPowershell HTTP/1.1\r\nContent-Length: 100\r\n\r\n", b""),
    ],
    ids=["idle", "dribbled-headers", "stalled-body"],
)
def test_slow_clients_are_cut_off_while_others_are_served(
    make_lync_emulator: Make, first: bytes, then: bytes
) -> None:
    emu = make_lync_emulator(http_timeout_s=SLOW_TIMEOUT_S)
    with RunspacePool(client(emu)) as pool:
        witness = Witness(emu, pool)
        slow = [socket.create_connection(("127.0.0.1", emu.frontend_port)) for _ in range(8)]
        opened = time.monotonic()
        for sock in slow:
            sock.sendall(first)
        open_ = list(slow)
        while open_:  # bounded: the server must close them in time
            assert time.monotonic() - opened < SLOW_TIMEOUT_S + 2, "a slow client held on"
            witness.served()  # served while they hang on
            readable, _, _ = select.select(open_, [], [], 0.1)  # a byte per 0.1 s
            for sock in readable:
                assert sock.recv(100) == b""  # closed, without an answer
                open_.remove(sock)
            for sock in open_:
                if then:
                    sock.sendall(then)
        assert time.monotonic() - opened >= SLOW_TIMEOUT_S
        for sock in slow:
            sock.close()
        witness.assert_unharmed()


def test_handler_bug_becomes_internal_error_fault(make_lync_emulator: Make) -> None:
    emu = make_lync_emulator()
    table = emu._tables[next(iter(emu._tables))]

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    table.create = broken  # type: ignore[method-assign]
    with pytest.raises(WSManFaultError, match="boom") as caught:
        RunspacePool(client(emu)).open()
    assert caught.value.code == 0x80004005  # E_FAIL, as WinRM reports an internal error


def test_a_command_refused_for_bad_psrp_data_takes_no_place_in_the_shell(
    make_lync_emulator: Make,
) -> None:
    """Refused before it ran, the command is not one of the shell's MaxConcurrentCommands-
    PerShell: the two places of this shell stay for two good commands."""
    emu = make_lync_emulator(max_commands_per_shell=2)
    with RunspacePool(client(emu)) as pool:
        shell_id = str(pool.shell.id).upper()
        # One whole fragment (MS-PSRP 2.2.4: object and fragment ids, start and end flags,
        # length) of an object id no client message uses, holding no PSRP message.
        fragment = struct.pack(">QQBI", 2**40, 0, 0b11, 4) + b"junk"
        bad = (
            f"<rsp:CommandLine CommandId='{uuid.uuid4()}'><rsp:Command>Invoke-Expression"
            f"</rsp:Command><rsp:Arguments>{base64.b64encode(fragment).decode()}"
            "</rsp:Arguments></rsp:CommandLine>"
        )
        status, answer = post(emu, envelope(SHELL + "Command", bad, shell_id))
        assert (status, fault_code(answer)) == (500, SCHEMA_INVALID)
        run(pool, "Get-CsHostingProvider")
        run(pool, "Get-CsHostingProvider")
        with pytest.raises(WSManFaultError, match="concurrent commands per shell"):
            run(pool, "Get-CsHostingProvider")
