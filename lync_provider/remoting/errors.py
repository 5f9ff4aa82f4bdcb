"""Typed failures of remote cmdlet calls, and how server error records map onto them.

The Pulumi CLI shows a provider's exception text to the user as the resource error, so every
message here is written for a Lync administrator: which endpoint, which cmdlet with which
(redacted) parameters, what the server said with its FullyQualifiedErrorId, and what usually
fixes it. No exception ever holds a password: only the redacted parameter rendering and the
endpoint's display URL are kept.

Classification goes by FullyQualifiedErrorId and ErrorCategory rather than message text,
because Lync's wording is largely undocumented while the ids are stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerError:
    """One error record as the server wrote it."""

    message: str
    fully_qualified_error_id: str = ""
    category: str = ""
    target: str = ""

    def render(self) -> str:
        """The server's words with the id and category PowerShell would show."""
        extra = ", ".join(
            part
            for part in (
                f"FullyQualifiedErrorId: {self.fully_qualified_error_id}"
                if self.fully_qualified_error_id
                else "",
                f"category: {self.category}" if self.category else "",
            )
            if part
        )
        return f"{self.message} ({extra})" if extra else self.message


class LyncRemotingError(Exception):
    """Base of every failure raised by the remoting layer.

    ``endpoint`` is the display URL, ``command`` the cmdlet line with secret values
    redacted, ``server_errors`` what the server wrote, ``hint`` what usually fixes it.
    """

    default_hint = ""

    def __init__(
        self,
        summary: str,
        *,
        endpoint: str,
        command: str = "",
        server_errors: tuple[ServerError, ...] = (),
        hint: str | None = None,
    ) -> None:
        self.summary = summary
        self.endpoint = endpoint
        self.command = command
        self.server_errors = server_errors
        self.hint = self.default_hint if hint is None else hint
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.command} on {self.endpoint}" if self.command else self.endpoint
        lines = [f"{self.summary}: {where}"]
        lines += [
            f"  server {'also ' if n else ''}said: {err.render()}"
            for n, err in enumerate(self.server_errors)
        ]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    @property
    def server_message(self) -> str:
        """The first error's text, or ''."""
        return self.server_errors[0].message if self.server_errors else ""


class RemoteCommandError(LyncRemotingError):
    """The cmdlet ran and the server reported a failure not covered by a subclass.

    ``output`` and ``passed_errors`` are what the pipeline's earlier statements produced
    before a terminating error stopped it: their objects, and the errors that did not stop
    it (a Get- that found nothing), so a caller can tell how far it got.
    """

    output: tuple[dict[str, Any], ...] = ()
    passed_errors: tuple[ServerError, ...] = ()

    default_hint = (
        "the server's words above say why; the same command typed into the Lync Server "
        "Management Shell on that server, followed by `$Error[0] | Format-List * -Force`, "
        "shows the whole error record"
    )


class NotFoundError(RemoteCommandError):
    """The object named by -Identity does not exist."""

    default_hint = "check the identity; it may have been removed outside Pulumi"


class AlreadyExistsError(RemoteCommandError):
    """An object with that identity (or ProxyFqdn) already exists."""

    default_hint = "remove the existing object, or take it over (adopt=True on the resource)"


class InvalidArgumentError(RemoteCommandError):
    """A parameter name, type or value the cmdlet refused."""

    default_hint = "check the value against the cmdlet's documented parameters for Lync 2013"


class AccessDeniedError(RemoteCommandError):
    """The account lacks the Lync RBAC role (or Windows right) the cmdlet needs."""

    default_hint = (
        "the account needs the CsAdministrator role (RTCUniversalServerAdmins for local runs); "
        "view-only roles can only run Get- cmdlets"
    )


class ReadOnlyStoreError(RemoteCommandError):
    """A write reached a server whose configuration store is a read-only replica (an Edge)."""

    default_hint = (
        "an Edge server holds a read-only copy of the Central Management Store; make changes "
        "through the front end pool's OcsPowershell endpoint (lync:frontEndUrl)"
    )


class CommandNotFoundError(RemoteCommandError):
    """The endpoint does not know the cmdlet."""

    default_hint = (
        "the Lync cmdlets are not loaded in this session: either this is not the pool's "
        "OcsPowershell endpoint (https://<pool fqdn>/OcsPowershell), or on a plain WinRM "
        "endpoint set the module to import (lync:importModule = Lync)"
    )


class ConnectionFailedError(LyncRemotingError):
    """The call could not be carried to the server or back.

    ``before_sending``: it happened while the session was being opened, so no command of
    the call reached the server (set by the session).
    """

    before_sending = False


def credentials_hint(username: str, password: str, auth: str) -> str:
    """What to check when the server refuses the credentials, naming the config keys they
    came from (the Edge has keys of its own)."""
    return (
        f"check {username} / {password} (DOMAIN\\user for NTLM), the auth method ({auth}), "
        "and that the account may use remote PowerShell"
    )


class AuthenticationFailedError(ConnectionFailedError):
    """The server refused the credentials (HTTP 401)."""

    default_hint = credentials_hint("lync:username", "lync:password", "lync:auth")


class CertificateValidationError(ConnectionFailedError):
    """The server's TLS certificate did not validate."""

    default_hint = (
        "give the issuing CA as a PEM bundle (lync:caBundle) and connect by the name on the "
        "certificate; only for a lab, lync:skipCertificateValidation=true"
    )


class TransportError(ConnectionFailedError):
    """Network or HTTP failure: refused, reset, unreachable, HTTP 5xx, WS-Management fault."""

    default_hint = (
        "check that the host name resolves, the port is open through the firewall, and the "
        "URL path is right (OcsPowershell on a front end, wsman on an Edge)"
    )


class OperationTimeoutError(ConnectionFailedError):
    """The call did not finish within the configured timeout."""

    default_hint = "raise the operation timeout, or check the server's load and event log"


class UnreadableReplyError(TransportError):
    """The server answered with a message the client could not parse (invalid CLIXML).

    A transport error: the command may have run, so a write is settled by reading back."""

    default_hint = (
        "the server's answer is not valid PowerShell remoting XML; a value with control "
        "characters (NUL, BEL, ESC) in it is the usual cause: remove them from the inputs"
    )


class WriteOutcomeUnknownError(TransportError):
    """A write failed in transit and reading back could not tell whether it took effect."""

    default_hint = (
        "the change may or may not have been applied; run `pulumi refresh` to read the "
        "server's state before trying again"
    )


# FullyQualifiedErrorId prefixes (the part before the first comma) and what they mean.
_BY_ERROR_ID: dict[str, type[RemoteCommandError]] = {
    "commandnotfoundexception": CommandNotFoundError,
    "itemnotfound": NotFoundError,
    "managementobjectnotfound": NotFoundError,
    "duplicateidentity": AlreadyExistsError,
    "itemalreadyexists": AlreadyExistsError,
    "namedparameternotfound": InvalidArgumentError,
    "parameterargumentvalidationerror": InvalidArgumentError,
    "cannotconvertargumentnomessage": InvalidArgumentError,
    "cannotconvertargument": InvalidArgumentError,
    "missingmandatoryparameter": InvalidArgumentError,
    "positionalparameternotfound": InvalidArgumentError,
    "accessdenied": AccessDeniedError,
    "unauthorizedaccessexception": AccessDeniedError,
    "readonlystore": ReadOnlyStoreError,
}

# ErrorCategory names used when the id is not recognised.
_BY_CATEGORY: dict[str, type[RemoteCommandError]] = {
    "objectnotfound": NotFoundError,
    "resourceexists": AlreadyExistsError,
    "invalidargument": InvalidArgumentError,
    "invaliddata": InvalidArgumentError,
    "permissiondenied": AccessDeniedError,
    "securityerror": AccessDeniedError,
}


def classify(first: ServerError) -> type[RemoteCommandError]:
    """Choose the exception class for a failed call from its first error record."""
    error_id = first.fully_qualified_error_id.split(",", 1)[0].strip().lower()
    if error_id in _BY_ERROR_ID:
        return _BY_ERROR_ID[error_id]
    return _BY_CATEGORY.get(first.category.strip().lower(), RemoteCommandError)
