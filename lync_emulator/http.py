"""The HTTP/1.1 listener: keep-alive, size limits, timers and error containment, nothing WSMan.

Each connection gets a :class:`Connection` that lives as long as its socket (NTLM contexts
hang off it) and every request goes to an ``app`` callable that returns an
:class:`HttpResponse`. Whatever the app or the client does wrong, the server answers and
keeps serving: bad requests get a 4xx, an app exception a WSMan InternalError fault, and a
client that sends too slowly or too much is cut off by the timers and limits below, on its
own connection's thread, while every other connection is served.

Windows serves both roles through HTTP.sys (IIS for the front end's OcsPowershell, the
WinRM service for the Edge's ``/wsman``), so the timers are HTTP.sys's (Microsoft Learn,
``HTTP_TIMEOUT_LIMIT_INFO``; each 2 minutes by default):

* IdleConnection: how long a connection may wait for its next request;
* HeaderWait: how long the request line and headers may take in all, once they began, so a
  client dribbling a header byte at a time (slowloris) is dropped when it runs out;
* EntityBody: how long the body may pause; "when the HTTP Server API receives additional
  data indications on the request, it resets the timer";
* DrainEntityBody: how long the server reads and discards the rest of a body it answered
  without reading (here: one over the size limit), so the client reads the answer.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lync_emulator import wsman

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
# The multipart/encrypted framing of a sealed body (auth.Authenticator.wrap): boundaries,
# two part headers and the 20-byte signature header, well under 1 KiB.
SEALING_ALLOWANCE = 1024
# Bodies above this are refused before they are read (413). The envelope itself is checked
# against wsman.MAX_ENVELOPE_SIZE once unsealed; this bound only keeps memory in check.
DEFAULT_MAX_BODY = wsman.MAX_ENVELOPE_SIZE + SEALING_ALLOWANCE
# HTTP.sys's IdleConnection, HeaderWait, EntityBody and DrainEntityBody timers (see above).
DEFAULT_TIMEOUT_S = 120.0
_DRAIN_CHUNK = 64 * 1024


class _TimedReader(io.RawIOBase):
    """The connection's socket reads, each bounded by the HTTP.sys timer running then.

    Waiting for a request, every read may take the idle timeout; the first bytes of a
    request start the HeaderWait deadline, which later reads share; reading the body, every
    read may take the timeout again (EntityBody resets on data).
    """

    def __init__(self, sock: socket.socket, timeout_s: float) -> None:
        super().__init__()
        self._sock = sock
        self._timeout_s = timeout_s
        self._deadline: float | None = None
        self._arm_on_data = False

    def readable(self) -> bool:
        return True

    def await_request(self) -> None:
        """Idle until a request begins; its first bytes start the header deadline."""
        self._deadline, self._arm_on_data = None, True

    def read_body(self) -> None:
        """Reading a body: each read may pause for the whole timeout."""
        self._deadline, self._arm_on_data = None, False

    def drain_until(self, deadline: float) -> None:
        """Reading to discard: everything must arrive by ``deadline``."""
        self._deadline, self._arm_on_data = deadline, False

    def readinto(self, buffer: Any) -> int:
        wait = self._timeout_s if self._deadline is None else self._deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError("the HTTP.sys timer for this read expired")
        self._sock.settimeout(wait)
        count = self._sock.recv_into(buffer)
        if count and self._arm_on_data:
            self._deadline, self._arm_on_data = time.monotonic() + self._timeout_s, False
        return count


@dataclass(eq=False)
class Connection:
    """Per-TCP-connection state the app may keep (e.g. the authentication context)."""

    peer: tuple[Any, ...]
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class HttpRequest:
    """One POST: what the app needs to answer it."""

    path: str
    headers: dict[str, str]
    body: bytes
    connection: Connection

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class HttpResponse:
    """``drop`` closes the socket without sending anything (a fault the app may inject)."""

    status: int
    body: bytes = b""
    content_type: str | None = SOAP_CONTENT_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False


App = Callable[[HttpRequest], HttpResponse]

# The reason phrase and text of the error pages HTTP.sys itself serves.
_PAGES = {
    404: ("Not Found", "The requested resource is not found."),
    413: (
        "Request Entity Too Large",
        "The page was not displayed because the request entity is too large.",
    ),
    503: ("Service Unavailable", "The service is unavailable."),
}


def error_page(status: int) -> HttpResponse:
    """An HTTP.sys error page: what a client sees when no application answered."""
    title, text = _PAGES[status]
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
        f"<HTML><HEAD><TITLE>{title}</TITLE>\r\n"
        '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
        f"<BODY><h2>{title}</h2>\r\n<hr><p>HTTP Error {status}. {text}</p>\r\n</BODY></HTML>\r\n"
    ).encode("ascii")
    return HttpResponse(status, body, "text/html; charset=us-ascii")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes headers and body in two send() calls; with Nagle on, the
    # client's delayed ACK stalls the second for ~40 ms (notes, pitfall 1).
    disable_nagle_algorithm = True
    server: WSManHTTPServer
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # here, on the connection's thread, not in accept()
        super().setup()
        self.rfile.close()  # replaced by a reader that runs the HTTP.sys timers
        self._reader = _TimedReader(self.connection, self.server.timeout_s)
        self.rfile = io.BufferedReader(self._reader)
        self.connection_state = Connection(self.client_address)
        self.server.track(self.request, add=True)

    def finish(self) -> None:
        self.server.track(self.request, add=False)
        super().finish()

    def handle_one_request(self) -> None:
        self._reader.await_request()
        super().handle_one_request()  # a TimeoutError from the reader closes the connection

    def log_message(self, format: str, *args: Any) -> None:
        # Called for every request; skip formatting it when nobody listens.
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s", self.address_string(), format % args)

    def do_POST(self) -> None:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self._reply(HttpResponse(411, b"Content-Length required", "text/plain"), close=True)
            return
        try:
            length = int(length_text)
        except ValueError:
            self._reply(HttpResponse(400, b"bad Content-Length", "text/plain"), close=True)
            return
        if length < 0:
            self._reply(HttpResponse(400, b"bad Content-Length", "text/plain"), close=True)
            return
        if length > self.server.max_body:
            self._refuse_unread(length)
            return
        self._reader.read_body()
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return
        request = HttpRequest(
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            connection=self.connection_state,
        )
        try:
            response = self.server.app(request)
        except Exception as exc:  # a bug must not kill the server
            log.exception("request handler failed")
            fault = wsman.internal_error(f"{type(exc).__name__}: {exc}")
            response = HttpResponse(500, wsman.build_fault(fault, wsman.relates_to_of(body)))
        if response.drop:
            self.close_connection = True
            self.request.shutdown(socket.SHUT_RDWR)
            return
        self._reply(response)

    def _refuse_unread(self, length: int) -> None:
        """Answer 413 to a body too large to read, then drain it so the client sees that.

        A client sends its whole body before it reads the answer; closing at once would
        reset the connection under it and lose the 413. So the rest is read and discarded
        until the DrainEntityBody timer expires; a connection drained in time stays open.
        """
        self._reply(error_page(413))
        self._reader.drain_until(time.monotonic() + self.server.timeout_s)
        left = length
        with contextlib.suppress(TimeoutError, OSError):
            while left > 0 and (chunk := self.rfile.read(min(left, _DRAIN_CHUNK))):
                left -= len(chunk)
        self.close_connection = left > 0

    def _method_not_allowed(self) -> None:
        self._reply(
            HttpResponse(405, b"only POST is supported", "text/plain", [("Allow", "POST")]),
            close=True,
        )

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _method_not_allowed  # noqa: N815

    def _reply(self, response: HttpResponse, *, close: bool = False) -> None:
        # A read may have left a short timeout on the socket; a send gets the full one.
        self.connection.settimeout(self.server.timeout_s)
        self.send_response(response.status)
        if response.content_type and response.body:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class WSManHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server on one address, optionally TLS, routing every POST to ``app``.

    ``timeout_s`` is every HTTP.sys timer at once (see the module docstring).

    ``stop`` also shuts down open keep-alive connections, so clients of a stopped emulator
    fail at once instead of hanging on a socket nobody reads.
    """

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        tls: ssl.SSLContext | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.max_body = max_body
        self.timeout_s = timeout_s
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._closing = False
        if tls is not None:
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, sock: socket.socket, *, add: bool) -> None:
        """Remember an open connection so :meth:`stop` can cut it; one accepted just before
        ``stop`` (its thread still in the TLS handshake) is cut as soon as it registers,
        instead of serving on after the server it belonged to has gone."""
        with self._open_lock:
            if add and self._closing:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            elif add:
                self._open.add(sock)
            else:
                self._open.discard(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed TLS handshakes and clients vanishing mid-request are routine here.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def start(self) -> None:
        """Serve on a daemon thread; a short poll interval keeps :meth:`stop` fast."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def cut_connections(self) -> None:
        """Close every open connection, as HTTP.sys's idle timer closes a kept-alive one
        (2 minutes by default); the listener stays. Only for connections between requests:
        one in the middle of a request would lose its answer."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop accepting, close the listener and every open connection."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        with self._open_lock:
            self._closing = True
        self.cut_connections()
