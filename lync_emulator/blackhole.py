"""A server that accepts TCP connections and never answers, to test a client's timeouts.

A firewall that drops packets, a hung IIS worker or a half-dead load balancer look like
this to a client: the connection opens, the request goes out, and nothing ever comes back,
so only the client's own connect and read timeouts end the wait. Separate from the emulator
on purpose: turning a real endpoint deaf would park its handler threads, and a client test
needs no shell, store or credentials to meet a silent peer.

Bounded: one thread serves every connection, reading and discarding what arrives; at most
``max_connections`` are accepted at once (later ones wait in the listen backlog, which a
client cannot tell from a slow accept), and leaving the context closes all of them.
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType

_READ_CHUNK = 64 * 1024


class BlackHole:
    """``with BlackHole() as hole:`` listens on 127.0.0.1 at an ephemeral port; point a
    client at ``hole.url``. Each connection is read and never written to.

    ``accepted`` counts the connections taken so far; ``accepting`` says whether another
    would be taken now (False while ``max_connections`` are held).
    """

    def __init__(self, *, path: str = "/OcsPowershell", max_connections: int = 32) -> None:
        self.path = path
        self.max_connections = max_connections
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=max_connections)
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._connections: set[socket.socket] = set()
        # A socket pair wakes the serving thread when the context is left.
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._serve, name="blackhole", daemon=True)
        self.accepted = 0
        self.accepting = True

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._wake_write.send(b"x")
        self._thread.join()
        for sock in (*self._connections, self._listener, self._wake_read, self._wake_write):
            sock.close()
        self._selector.close()

    def _serve(self) -> None:
        while True:
            for key, _ in self._selector.select():
                sock = key.fileobj
                if sock is self._wake_read:
                    return
                if sock is self._listener:
                    self._accept()
                else:
                    assert isinstance(sock, socket.socket)
                    self._swallow(sock)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:  # the client gave up before we got to it
            return
        sock.setblocking(False)
        self._connections.add(sock)
        self._selector.register(sock, selectors.EVENT_READ)
        self.accepted += 1
        if len(self._connections) >= self.max_connections:
            self._selector.unregister(self._listener)
            self.accepting = False

    def _swallow(self, sock: socket.socket) -> None:
        """Read and discard; a peer that closed is forgotten, making room for another."""
        try:
            data = sock.recv(_READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return
        self._selector.unregister(sock)
        self._connections.discard(sock)
        sock.close()
        if not self.accepting:
            self._selector.register(self._listener, selectors.EVENT_READ)
            self.accepting = True
