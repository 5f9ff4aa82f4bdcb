"""Fault injection: the ways a real Lync deployment misbehaves, switchable at runtime.

Tests and benchmarks flip these from Python (``emu.faults``) and the command line sets them
at start. Each one-shot fault is a countdown consumed by the request path, so "the next 3
requests fail" means exactly three, whichever threads serve them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Faults:
    """Thread-safe fault switches shared by every role of one emulator.

    ``forget_shells`` is wired by the emulator to drop every shell table (a server restart);
    ``service`` is the state model, which owns failing the Nth invocation of a cmdlet.
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0,
        open_cost_ms: float = 0,
        forget_shells: Callable[[], None] = lambda: None,
        service: Any = None,
    ) -> None:
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.open_cost_ms = open_cost_ms
        self._forget_shells = forget_shells
        self._service = service
        self._http_errors = 0
        self._drops = 0
        self._auth_rejections = 0
        self._reject_all_auth = False

    def fail_next_requests(self, count: int = 1) -> None:
        """Answer the next ``count`` HTTP requests with a bare 500 (no WSMan fault body)."""
        with self._lock:
            self._http_errors += count

    def drop_next_connections(self, count: int = 1) -> None:
        """Close the socket without answering the next ``count`` requests."""
        with self._lock:
            self._drops += count

    def reject_next_authentications(self, count: int = 1) -> None:
        """Fail the next ``count`` authentication attempts as if the password were wrong."""
        with self._lock:
            self._auth_rejections += count

    def reject_all_authentications(self, enabled: bool = True) -> None:
        """Fail every authentication until switched off."""
        with self._lock:
            self._reject_all_auth = enabled

    def forget_shells(self) -> None:
        """Lose every open shell, as a restarted server would."""
        self._forget_shells()

    def fail_invocation(self, cmdlet: str, nth: int = 1) -> None:
        """Make the ``nth`` next invocation of ``cmdlet`` fail (delegated to the state model)."""
        self._service.fail_invocation(cmdlet, nth)

    def clear(self) -> None:
        """Switch every fault off (latency and open cost included)."""
        with self._lock:
            self.latency_ms = self.open_cost_ms = 0
            self._http_errors = self._drops = self._auth_rejections = 0
            self._reject_all_auth = False

    # -- consumed by the request path ---------------------------------------------------

    def _take(self, name: str) -> bool:
        with self._lock:
            left: int = getattr(self, name)
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def take_http_error(self) -> bool:
        """Whether this request gets an injected 500."""
        return self._take("_http_errors")

    def take_drop(self) -> bool:
        """Whether this request's connection is dropped."""
        return self._take("_drops")

    def take_auth_rejection(self) -> bool:
        """Whether this authentication attempt is rejected."""
        with self._lock:
            if self._reject_all_auth:
                return True
        return self._take("_auth_rejections")

    def latency_s(self) -> float:
        return self.latency_ms / 1000

    def open_cost_s(self) -> float:
        return self.open_cost_ms / 1000
