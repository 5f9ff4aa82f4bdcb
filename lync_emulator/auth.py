"""HTTP authentication as WinRM/IIS does it: Basic, or NTLM/Negotiate with message encryption.

No sockets here: :class:`Authenticator` gets the ``Authorization`` header and a
:class:`ConnectionAuth` (one per TCP connection, because an NTLM context lives exactly as
long as its connection) and says who the caller is or what 401 to send. The NTLM acceptor
is pyspnego's server side, with ``wrapping_winrm`` so it can seal and unseal the
``multipart/encrypted`` bodies pypsrp sends over plain HTTP.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import spnego
from spnego._ntlm_raw.crypto import ntowfv1  # private, pinned with pyspnego 0.12.4

ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = (
    f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
)
_BOUNDARY = b"--Encrypted Boundary"
_OCTET = b"\tContent-Type: application/octet-stream\r\n"

# pyspnego finds the acceptor's accounts through one process-wide variable, so every
# emulator in the process takes turns: each context step runs with its own file in place.
_NTLM_ENV_LOCK = threading.Lock()


@contextmanager
def _ntlm_user_file(path: str) -> Iterator[None]:
    """Point pyspnego at ``path`` for one step, then put the old value back.

    The variable is never deleted: a client thread in the same process (requests looks up
    proxies in os.environ on every send) copies the key list and then reads each key, and
    a key deleted in between fails its request with KeyError. An empty value is what
    pyspnego takes for "not set".
    """
    with _NTLM_ENV_LOCK:
        previous = os.environ.get("NTLM_USER_FILE", "")
        os.environ["NTLM_USER_FILE"] = path
        try:
            yield
        finally:
            os.environ["NTLM_USER_FILE"] = previous


class AuthError(Exception):
    """A body that claims to be sealed but cannot be unsealed on this connection."""


@dataclass
class ConnectionAuth:
    """What one TCP connection has established: the NTLM context and who it proved to be."""

    context: Any = None
    scheme: str = "Negotiate"
    user: str | None = None


@dataclass
class AuthOutcome:
    """``user`` is None for a 401; ``failed`` marks a real rejection, not a challenge."""

    user: str | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    failed: bool = False


class Authenticator:
    """Checks credentials against the emulator's user table.

    ``reject`` is consulted once per authentication attempt (fault injection); when it
    answers True the attempt fails as a wrong password would.
    """

    def __init__(
        self,
        mode: str,
        users: Mapping[str, str],
        *,
        reject: Callable[[], bool] = lambda: False,
    ) -> None:
        if mode not in ("basic", "ntlm", "negotiate"):
            raise ValueError(f"unknown auth mode {mode!r}")
        self.mode = mode
        self.reject = reject
        self._users = {name.casefold(): (name, password) for name, password in users.items()}
        self._dir: str | None = None
        self._user_file: str | None = None
        if mode != "basic":
            self._dir = tempfile.mkdtemp(prefix="lync-emulator-ntlm-")
            self._user_file = os.path.join(self._dir, "users")
            with open(self._user_file, "w", encoding="utf-8") as handle:
                handle.writelines(_smbpasswd_line(n, p) for n, p in users.items())

    def close(self) -> None:
        """Remove the private NTLM user file."""
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def challenge(self) -> list[tuple[str, str]]:
        """The ``WWW-Authenticate`` offer of a bare 401."""
        if self.mode == "basic":
            return [("WWW-Authenticate", 'Basic realm="WSMAN"')]
        return [("WWW-Authenticate", "NTLM" if self.mode == "ntlm" else "Negotiate")]

    def authenticate(self, authorization: str | None, conn: ConnectionAuth) -> AuthOutcome:
        """Decide one request. NTLM connections stay authenticated once the handshake ends."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if not scheme:
            if conn.user is not None:
                return AuthOutcome(conn.user)
            return AuthOutcome(None, self.challenge)
        if self.mode == "basic":
            if scheme.lower() != "basic":
                return AuthOutcome(None, self.challenge)
            return self._basic(token.strip())
        if scheme.lower() not in ("negotiate", "ntlm"):
            return AuthOutcome(None, self.challenge)
        return self._ntlm(scheme, token.strip(), conn)

    def _known(self, name: str, password: str | None = None) -> str | None:
        entry = self._users.get(name.casefold())
        if entry is None or (password is not None and entry[1] != password):
            return None
        return entry[0]

    def _basic(self, token: str) -> AuthOutcome:
        try:
            name, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return AuthOutcome(None, self.challenge, failed=True)
        user = self._known(name, password)
        if user is None or self.reject():
            return AuthOutcome(None, self.challenge, failed=True)
        return AuthOutcome(user)

    def _ntlm(self, scheme: str, token: str, conn: ConnectionAuth) -> AuthOutcome:
        assert self._user_file is not None
        try:
            in_token = base64.b64decode(token, validate=True)
            with _ntlm_user_file(self._user_file):
                if conn.context is None or conn.context.complete:
                    # SPNEGO tokens are ASN.1 (0x60); raw NTLM starts with "NTLMSSP".
                    protocol = "negotiate" if in_token[:1] == b"\x60" else "ntlm"
                    conn.context = spnego.server(
                        protocol=protocol, options=spnego.NegotiateOptions.wrapping_winrm
                    )
                    conn.scheme = scheme
                    conn.user = None
                out_token = conn.context.step(in_token)
        except Exception:  # pyspnego raises many types for a bad login
            conn.context = None
            return AuthOutcome(None, self.challenge, failed=True)
        headers = (
            [("WWW-Authenticate", f"{scheme} {base64.b64encode(out_token).decode()}")]
            if out_token
            else []
        )
        if not conn.context.complete:
            return AuthOutcome(None, headers or self.challenge)
        user = self._known(conn.context.client_principal or "")
        if user is None or self.reject():
            conn.context = None
            return AuthOutcome(None, self.challenge, failed=True)
        conn.user = user
        return AuthOutcome(user, headers)

    @staticmethod
    def unwrap(conn: ConnectionAuth, body: bytes) -> bytes:
        """Unseal a ``multipart/encrypted`` body (the framing of pypsrp's encryption.py)."""
        if conn.context is None or not conn.context.complete:
            raise AuthError("an encrypted body arrived before authentication finished")
        match = re.search(rb"Length=(\d+)", body)
        start = body.find(_OCTET)
        end = body.rfind(_BOUNDARY + b"--")
        if match is None or start < 0 or end < start:
            raise AuthError("malformed multipart/encrypted body")
        sealed = body[start + len(_OCTET) : end]
        (header_len,) = struct.unpack("<I", sealed[:4])
        header, data = sealed[4 : 4 + header_len], sealed[4 + header_len :]
        try:
            plain: bytes = conn.context.unwrap_winrm(header, data)
        except Exception as exc:  # a bad signature is the client's fault
            raise AuthError(f"cannot unseal the body: {exc}") from None
        if len(plain) != int(match.group(1)):
            raise AuthError("the sealed body's length does not match its header")
        return plain

    @staticmethod
    def wrap(conn: ConnectionAuth, body: bytes) -> bytes:
        """Seal a response body for a connection whose request was sealed."""
        header, data, padding = conn.context.wrap_winrm(body)
        return b"\r\n".join(
            [
                _BOUNDARY,
                f"\tContent-Type: {ENCRYPTED_PROTOCOL}".encode(),
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d"
                % (len(body) + padding),
                _BOUNDARY,
                _OCTET + struct.pack("<I", len(header)) + header + data + _BOUNDARY + b"--\r\n",
            ]
        )


def _smbpasswd_line(name: str, password: str) -> str:
    """An smbpasswd-format line: hashes, so any character may appear in the password."""
    return f"{name}:0:{'0' * 32}:{ntowfv1(password).hex().upper()}:[U]:LCT-00000000\n"
