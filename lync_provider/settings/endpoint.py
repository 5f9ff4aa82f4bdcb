"""Where and how to reach a Lync remote PowerShell endpoint.

The front end pool serves remote PowerShell in IIS at ``https://<pool fqdn>/OcsPowershell``;
an Edge server, outside the domain, is reached over plain WinRM at
``https://<edge>:5986/wsman`` with the Lync module imported after connecting. Both are
described by one :class:`EndpointSettings`, validated up front so that a mistake is reported
before any connection is attempted, and so that insecure combinations are only possible when
someone asked for them on purpose.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

AuthMethod = Literal["negotiate", "ntlm", "kerberos", "credssp", "basic"]
Encryption = Literal["auto", "always", "never"]

DEFAULT_CONFIGURATION_NAME = "Microsoft.PowerShell"

# Methods whose library pypsrp imports only when used (its optional extras): the module,
# and how to install it.
_AUTH_LIBRARIES = {
    "credssp": ("requests_credssp", "pip install 'pypsrp[credssp]'"),
    "kerberos": (
        "gssapi",
        "pip install 'pypsrp[kerberos]', which builds against the system's Kerberos libraries",
    ),
}


class EndpointSettings(BaseModel):
    """Connection settings for one remote PowerShell endpoint.

    Give either ``url`` or ``host`` (with ``port``, ``path`` and ``use_tls``). The password
    is a ``SecretStr``: it prints as ``**********`` in every repr, log line and error.
    """

    # hide_input_in_errors: a validation error must not echo the input, which holds the password.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    url: str | None = Field(
        default=None, description="e.g. https://pool01.contoso.com/OcsPowershell"
    )
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    path: str | None = None
    use_tls: bool = True

    auth: AuthMethod = "negotiate"
    encryption: Encryption = "auto"
    verify_certificate: bool = Field(
        default=True,
        description="Validate the server certificate. Turning this off must be explicit.",
    )
    ca_bundle: Path | None = Field(
        default=None, description="PEM file of the CA(s) that issued the server certificate"
    )
    username: str | None = None
    password: SecretStr | None = None

    configuration_name: str = DEFAULT_CONFIGURATION_NAME
    import_module: str | None = Field(
        default=None,
        description="Module to import after connecting, e.g. 'Lync' on a plain WinRM endpoint",
    )
    connect_timeout: float = Field(default=30.0, gt=0, description="seconds per HTTP request")
    operation_timeout: float = Field(
        default=120.0, gt=0, description="seconds one cmdlet call may take in all"
    )
    max_pools: int = Field(
        default=4,
        ge=1,
        le=16,
        description="runspace pools opened at most, for calls in parallel (the engine sends 4)",
    )
    batch_size: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="statements per pipeline when one operation reads or grants many users",
    )
    credential_keys: tuple[str, str, str] = Field(
        default=("lync:username", "lync:password", "lync:auth"),
        description="the stack config keys of the username, password and auth, for messages",
    )

    @field_validator("auth")
    @classmethod
    def _library_installed(cls, auth: str) -> str:
        """Refuse a method whose library is missing now, not as an ImportError traceback at
        the first connection."""
        # On Windows pyspnego does Kerberos through SSPI, which it always has.
        if auth in _AUTH_LIBRARIES and not (auth == "kerberos" and sys.platform == "win32"):
            module, install = _AUTH_LIBRARIES[auth]
            if find_spec(module) is None:
                raise ValueError(
                    f"{auth} needs the Python package {module}, which is not installed: "
                    f"{install}; or use negotiate, which works without it (over NTLM)"
                )
        return auth

    @field_validator("url")
    @classmethod
    def _url_is_usable(cls, url: str | None) -> str | None:
        if url is not None:
            _check_url(url)
        return url

    @model_validator(mode="after")
    def _check(self) -> EndpointSettings:
        tls = self.scheme == "https"
        # Each refusal has its own error type, so that the stack configuration's loader can
        # say it in terms of its keys (lync_provider.settings.connections).
        if self.auth == "basic" and not _latin1(self.username, self.password):
            # requests, under pypsrp, encodes Basic credentials as Latin-1 and fails at the
            # first request on anything else; which character is not said (it is a secret's).
            raise PydanticCustomError(
                "basic_not_latin1",
                "auth=basic can only send a user name and password made of Latin-1 "
                "characters, and these contain another (the euro sign, for example); use "
                "auth=negotiate or ntlm, or change them",
            )
        if not tls and self.auth == "basic" and self.encryption != "never":
            raise PydanticCustomError(
                "basic_over_http",
                "Basic authentication over plain HTTP sends the password in clear text and "
                "WinRM cannot encrypt Basic messages. Use HTTPS, or NTLM/Negotiate (which "
                "encrypt the messages over HTTP); set encryption='never' only on purpose, "
                "e.g. against a loopback emulator.",
            )
        if tls and self.encryption == "always" and self.auth == "basic":
            raise PydanticCustomError(
                "basic_encryption_always",
                "encryption='always' is not available with auth=basic; over HTTPS "
                "TLS already encrypts, leave encryption='auto'",
            )
        if self.ca_bundle is not None and not self.verify_certificate:
            raise PydanticCustomError(
                "ca_bundle_unverified",
                "ca_bundle is given but verify_certificate is off; choose one",
            )
        if (self.url is None) == (self.host is None):
            raise ValueError("give either 'url' or 'host', not both and not neither")
        # Last: the stack configuration's loader says a missing credential key by key, so the
        # refusals above are not hidden behind it.
        if needs_password(self.auth) and (not self.username or self.password is None):
            raise PydanticCustomError(
                "credentials_missing",
                "auth={auth} needs a username and a password",
                {"auth": self.auth},
            )
        return self

    @property
    def scheme(self) -> str:
        """``https`` or ``http``."""
        if self.url is not None:
            return urlsplit(self.url).scheme
        return "https" if self.use_tls else "http"

    @property
    def hostname(self) -> str:
        """The server name the connection goes to."""
        if self.url is not None:
            name = urlsplit(self.url).hostname
            assert name is not None  # checked by the validator
            return name
        assert self.host is not None
        return self.host

    @property
    def effective_port(self) -> int:
        """The TCP port, defaulting as WinRM does (5986 over TLS, 5985 without)."""
        if self.url is not None:
            explicit = urlsplit(self.url).port
            if explicit is not None:
                return explicit
            return 443 if self.scheme == "https" else 80
        if self.port is not None:
            return self.port
        return 5986 if self.use_tls else 5985

    @property
    def effective_path(self) -> str:
        """The URL path without its leading slash, as pypsrp wants it."""
        path = urlsplit(self.url).path if self.url is not None else self.path or "wsman"
        return path.lstrip("/") or "wsman"

    @property
    def display_url(self) -> str:
        """The endpoint as shown in messages: never carries credentials."""
        return f"{self.scheme}://{self.hostname}:{self.effective_port}/{self.effective_path}"


def needs_password(auth: str) -> bool:
    """Whether ``auth`` logs in with a user name and a password (Kerberos brings a ticket)."""
    return auth in ("basic", "ntlm", "negotiate", "credssp")


def _latin1(username: str | None, password: SecretStr | None) -> bool:
    """Whether both encode as Latin-1 (what HTTP Basic authentication sends here)."""
    secret = password.get_secret_value() if password is not None else ""
    try:
        f"{username or ''}:{secret}".encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _check_url(url: str) -> None:
    """An http(s) URL with a host and a valid port, and no user info in it."""
    if "@" in url:
        # Not quoted: user info would be a password, copied wherever the URL is shown.
        raise ValueError(
            "the URL must not carry a user name or password (it contains '@'); give "
            "them as the username and password settings (lync:username, lync:password)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"url {url!r} is not an http(s) URL such as https://pool01.contoso.com/OcsPowershell"
        )
    try:
        _ = parts.port
    except ValueError as err:
        raise ValueError(f"url {url!r} has an invalid port") from err
