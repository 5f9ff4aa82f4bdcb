"""One role's request path: faults, then authentication, then (un)sealing, then WSMan.

This is where the separately testable layers meet: :mod:`~lync_emulator.http` hands in a
request, :mod:`~lync_emulator.faults` may spoil it, :mod:`~lync_emulator.auth` decides who
is calling, and :class:`~lync_emulator.wsman.WSManEndpoint` produces the answer.
"""

from __future__ import annotations

import time

from lync_emulator import wsman
from lync_emulator.auth import ENCRYPTED_CONTENT_TYPE, Authenticator, AuthError, ConnectionAuth
from lync_emulator.counters import Counter, Counters
from lync_emulator.faults import Faults
from lync_emulator.http import HttpRequest, HttpResponse
from lync_emulator.invocation import Role


class RoleEndpoint:
    """The HTTP app of one role (front end or Edge)."""

    def __init__(
        self,
        role: Role,
        endpoint: wsman.WSManEndpoint,
        authenticator: Authenticator,
        faults: Faults,
        counters: Counters,
    ) -> None:
        self.role = role
        self.endpoint = endpoint
        self.authenticator = authenticator
        self.faults = faults
        self.counters = counters

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.counters.add(Counter.HTTP_REQUESTS, self.role)
        delay = self.faults.latency_s()
        if delay > 0:
            time.sleep(delay)
        if self.faults.take_drop():
            return HttpResponse(0, drop=True)
        if self.faults.take_http_error():
            return HttpResponse(500, b"Internal Server Error", "text/plain")

        conn: ConnectionAuth = request.connection.state.setdefault("auth", ConnectionAuth())
        outcome = self.authenticator.authenticate(request.header("Authorization"), conn)
        if outcome.user is None:
            if outcome.failed:
                self.counters.add(Counter.AUTH_FAILURES, self.role)
            return HttpResponse(401, headers=outcome.headers)

        sealed = (request.header("Content-Type") or "").startswith("multipart/encrypted")
        body = request.body
        if sealed:
            try:
                body = Authenticator.unwrap(conn, body)
            except AuthError as exc:
                return HttpResponse(400, str(exc).encode(), "text/plain")
        if not body:
            # pypsrp's empty POST that sets up the NTLM context before sealing anything.
            return HttpResponse(200, headers=outcome.headers)

        status, answer = self.endpoint.handle(body, outcome.user)
        if sealed:
            return HttpResponse(
                status, Authenticator.wrap(conn, answer), ENCRYPTED_CONTENT_TYPE, outcome.headers
            )
        return HttpResponse(status, answer, headers=outcome.headers)
