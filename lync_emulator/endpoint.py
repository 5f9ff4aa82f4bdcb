"""One role's request path: faults, the URL, authentication, (un)sealing, then WSMan.

This is where the separately testable layers meet: :mod:`~lync_emulator.http` hands in a
request, :mod:`~lync_emulator.faults` may spoil it, :mod:`~lync_emulator.auth` decides who
is calling, and :class:`~lync_emulator.wsman.WSManEndpoint` produces the answer.
"""

from __future__ import annotations

import time

from lync_emulator import wsman
from lync_emulator.auth import ENCRYPTED_CONTENT_TYPE, Authenticator, AuthError, ConnectionAuth
from lync_emulator.counters import Counter, Counters
from lync_emulator.faults import HUNG_WORKER_S, Faults
from lync_emulator.http import HttpRequest, HttpResponse, error_page
from lync_emulator.invocation import Role


class RoleEndpoint:
    """The HTTP app of one role (front end or Edge), served at one URL path.

    Only ``path`` answers, compared case-insensitively and without the query string: IIS
    serves remote PowerShell at the pool's ``/OcsPowershell`` application and WinRM listens
    at ``/wsman``; any other path is HTTP 404 before authentication, as HTTP.sys answers a
    URL no application registered (for IIS, a path no application or file serves).
    """

    def __init__(
        self,
        role: Role,
        path: str,
        *,
        endpoint: wsman.WSManEndpoint,
        authenticator: Authenticator,
        faults: Faults,
        counters: Counters,
    ) -> None:
        self.role = role
        self.path = path.casefold()
        self.endpoint = endpoint
        self.authenticator = authenticator
        self.faults = faults
        self.counters = counters

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.counters.add(Counter.HTTP_REQUESTS, self.role)
        return self._refusal(request) or self._answer(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        """What answers before the application sees the request: faults, then the URL."""
        delay = self.faults.latency_s()
        if delay > 0:
            time.sleep(delay)
        if self.faults.take_drop():
            return HttpResponse(0, drop=True)
        held = self.faults.take_ignored()
        if held is not None:
            held.wait(HUNG_WORKER_S)
            return HttpResponse(0, drop=True)
        if self.faults.in_outage():
            # HTTP.sys's own page while the application pool is down (IIS 503.0).
            return error_page(503)
        if self.faults.take_http_error():
            return HttpResponse(500, b"Internal Server Error", "text/plain")
        if request.path.partition("?")[0].casefold() != self.path:
            return error_page(404)
        return None

    def _answer(self, request: HttpRequest) -> HttpResponse:
        """Authenticate, unseal, check the envelope's size, run WSMan, seal the answer."""
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
        if len(body) > wsman.MAX_ENVELOPE_SIZE:
            # WinRM answers 413 to an envelope over MaxEnvelopeSizekb; Windows clients report
            # it as ERROR_WSMAN_HTTP_REQUEST_TOO_LARGE_STATUS (0x80338111), "the request size
            # exceeded the configured MaxEnvelopeSize quota".
            return error_page(413)

        try:
            status, answer = self.endpoint.handle(body, outcome.user)
        except wsman.ReplyLost as lost:
            if lost.outage_s > 0:
                self.faults.outage_for(lost.outage_s)
            return HttpResponse(0, drop=True)
        if sealed:
            return HttpResponse(
                status, Authenticator.wrap(conn, answer), ENCRYPTED_CONTENT_TYPE, outcome.headers
            )
        return HttpResponse(status, answer, headers=outcome.headers)
