"""The HTTP/1.1 listener: keep-alive, size limits and error containment, nothing WSMan.

Each connection gets a :class:`Connection` that lives as long as its socket (NTLM contexts
hang off it) and every request goes to an ``app`` callable that returns an
:class:`HttpResponse`. Whatever the app or the client does wrong, the server answers and
keeps serving: bad requests get a 4xx, an app exception a WSMan InternalError fault.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lync_emulator import wsman

log = logging.getLogger(__name__)

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
DEFAULT_MAX_BODY = 4 * 1024 * 1024
# How long an idle keep-alive connection may hold its thread.
IDLE_TIMEOUT_S = 120.0


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # http.server writes headers and body in two send() calls; with Nagle on, the
    # client's delayed ACK stalls the second for ~40 ms (notes, pitfall 1).
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_S
    server: WSManHTTPServer
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()  # here, on the connection's thread, not in accept()
        super().setup()
        self.connection_state = Connection(self.client_address)
        self.server.track(self.request, add=True)

    def finish(self) -> None:
        self.server.track(self.request, add=False)
        super().finish()

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
        if length < 0 or length > self.server.max_body:
            # The body is left unread, so the connection cannot be reused.
            self._reply(HttpResponse(413, b"request body too large", "text/plain"), close=True)
            return
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

    def _method_not_allowed(self) -> None:
        self._reply(
            HttpResponse(405, b"only POST is supported", "text/plain", [("Allow", "POST")]),
            close=True,
        )

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _method_not_allowed  # noqa: N815

    def _reply(self, response: HttpResponse, *, close: bool = False) -> None:
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
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.max_body = max_body
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if tls is not None:
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._open_lock:
            if add:
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

    def stop(self) -> None:
        """Stop accepting, close the listener and every open connection."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
