"""Connection settings for the providers, from stack configuration or the environment.

Credentials never travel as resource inputs: they would land in the state file and in every
preview. The dynamic providers read them in ``configure()``, which runs inside the provider
process with the stack's whole configuration, secrets already decrypted by Pulumi. Each key
falls back to an environment variable, which also lets a rotated password work for
``pulumi destroy`` without an ``up`` first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from lync_provider.lync.versions import DEFAULT_VERSION, ServerVersion
from lync_provider.settings.endpoint import EndpointSettings

# (config key under the `lync:` namespace, environment variable)
KEYS: dict[str, str] = {
    "frontEndUrl": "LYNC_FRONTEND_URL",
    "edgeUrl": "LYNC_EDGE_URL",
    "username": "LYNC_USERNAME",
    "password": "LYNC_PASSWORD",
    "edgeUsername": "LYNC_EDGE_USERNAME",
    "edgePassword": "LYNC_EDGE_PASSWORD",
    "auth": "LYNC_AUTH",
    "edgeAuth": "LYNC_EDGE_AUTH",
    "caBundle": "LYNC_CA_BUNDLE",
    "skipCertificateValidation": "LYNC_SKIP_CERTIFICATE_VALIDATION",
    "encryption": "LYNC_ENCRYPTION",
    "importModule": "LYNC_IMPORT_MODULE",
    "operationTimeout": "LYNC_OPERATION_TIMEOUT",
    "connectTimeout": "LYNC_CONNECT_TIMEOUT",
    "poolsPerEndpoint": "LYNC_POOLS_PER_ENDPOINT",
    "batchSize": "LYNC_BATCH_SIZE",
    "serverVersion": "LYNC_SERVER_VERSION",
}
SECRET_KEYS = frozenset({"password", "edgePassword"})
NAMESPACE = "lync"


class ConnectionConfigError(ValueError):
    """The stack configuration does not describe a usable connection."""


@dataclass(frozen=True)
class Connections:
    """The endpoints the providers talk to: the front end pool and, optionally, the Edge."""

    frontend: EndpointSettings | None
    edge: EndpointSettings | None
    problem: str | None = None

    def require_frontend(self) -> EndpointSettings:
        """The front end endpoint, or an error saying which keys to set."""
        if self.frontend is None:
            raise ConnectionConfigError(self.problem or _missing("frontEndUrl"))
        return self.frontend

    def require_edge(self) -> EndpointSettings:
        """The Edge endpoint, or an error saying which keys to set."""
        if self.edge is None:
            raise ConnectionConfigError(self.problem or _missing("edgeUrl"))
        return self.edge


def _missing(key: str) -> str:
    return (
        f"no {NAMESPACE}:{key} configured: run `pulumi config set {NAMESPACE}:{key} <url>` "
        f"or set {KEYS[key]}"
    )


Lookup = Callable[[str], Any]


class _ConfigSource(Protocol):
    def get(self, key: str) -> Any: ...


def lookup_from(config: _ConfigSource | None, env: Mapping[str, str] | None = None) -> Lookup:
    """A function giving each key's value: stack config first (``lync:<key>``), then env.

    ``config`` is a ``pulumi.dynamic.Config`` in the provider process, or any mapping.
    """
    environ = os.environ if env is None else env

    def get(key: str) -> Any:
        value = config.get(f"{NAMESPACE}:{key}") if config is not None else None
        if value is None or value == "":
            value = environ.get(KEYS[key]) or None
        return value

    return get


def flag(value: Any) -> bool:
    """A boolean config value, given as a bool or as text (true/false, yes/no, 1/0)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _endpoint(
    get: Lookup, url_key: str, user_key: str, password_key: str, auth_key: str
) -> EndpointSettings | None:
    url = get(url_key)
    if url is None:
        return None
    username = get(user_key) or get("username")
    password = get(password_key) or get("password")
    auth = get(auth_key) or get("auth") or "negotiate"
    fields: dict[str, Any] = {
        "url": str(url),
        "auth": str(auth).lower(),
        "username": username,
        "password": password,
        "encryption": str(get("encryption") or "auto").lower(),
        # The keys the values came from: an Edge's own, or the shared ones they fall back to.
        "credential_keys": tuple(
            f"{NAMESPACE}:{own if get(own) else shared}"
            for own, shared in zip(
                (user_key, password_key, auth_key), ("username", "password", "auth"), strict=True
            )
        ),
    }
    if get("caBundle"):
        bundle = Path(str(get("caBundle"))).expanduser()
        if not bundle.is_file():
            raise ValueError(
                f"{NAMESPACE}:caBundle: {str(bundle)!r} is not a file; give the path of the PEM "
                "file of the CA that issued the servers' certificates"
            )
        _check_pem_certificates(bundle)
        fields["ca_bundle"] = str(bundle)
    if get("skipCertificateValidation") is not None:
        fields["verify_certificate"] = not flag(get("skipCertificateValidation"))
    for key, field in (
        ("operationTimeout", "operation_timeout"),
        ("connectTimeout", "connect_timeout"),
    ):
        if get(key):
            fields[field] = _seconds(key, get(key))
    for key, field in (("poolsPerEndpoint", "max_pools"), ("batchSize", "batch_size")):
        if get(key):
            fields[field] = get(key)
    module = get("importModule")
    # OcsPowershell preloads the Lync cmdlets; a plain WinRM endpoint needs the module.
    if module and not str(url).rstrip("/").lower().endswith("/ocspowershell"):
        fields["import_module"] = module
    return EndpointSettings.model_validate(fields)


def _check_pem_certificates(bundle: Path) -> None:
    """Refuse a CA bundle holding no PEM certificate now, under its key: TLS would fail at
    the first connection as a server error (NO_CERTIFICATE_OR_CRL_FOUND). Only the framing
    is checked; what OpenSSL accepts in a certificate is OpenSSL's to say (cryptography's
    parser is stricter about, e.g., an old CA's negative serial number)."""
    try:
        held = bundle.read_bytes()
    except OSError as err:
        raise ValueError(
            f"{NAMESPACE}:caBundle: {str(bundle)!r} cannot be read ({err.strerror})"
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in held:
        raise ValueError(
            f"{NAMESPACE}:caBundle: {str(bundle)!r} holds no PEM certificate; give "
            "the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----), e.g. exported "
            "from the Windows certificate store as Base-64 encoded X.509"
        )


def _seconds(key: str, value: Any) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{NAMESPACE}:{key}: {value!r} is not a number of seconds") from None


def load_server_version(get: Lookup) -> ServerVersion:
    """The product the stack targets (``lync:serverVersion``, default 2013)."""
    value = get("serverVersion")
    if value is None:
        return DEFAULT_VERSION
    try:
        return ServerVersion.parse(value)
    except ValueError as err:
        raise ConnectionConfigError(f"{NAMESPACE}:serverVersion: {err}") from None


# EndpointSettings fields set from a key of their own, so a bad value is reported under it.
_FIELD_KEYS = {
    "max_pools": "poolsPerEndpoint",
    "batch_size": "batchSize",
    "connect_timeout": "connectTimeout",
    "operation_timeout": "operationTimeout",
    "encryption": "encryption",
    "ca_bundle": "caBundle",
    "verify_certificate": "skipCertificateValidation",
    "import_module": "importModule",
}


def _problems(err: ValidationError, url_key: str, credential_keys: Sequence[str]) -> str:
    """Each problem under the key it came from (the endpoint's own username, password and
    auth keys for those fields); the endpoint's URL key for the rest."""
    keys = {
        **_FIELD_KEYS,
        **dict(zip(("username", "password", "auth"), credential_keys, strict=True)),
    }
    return "; ".join(
        f"{NAMESPACE}:{keys.get(str(e['loc'][0]) if e['loc'] else '', url_key)}: "
        + str(e["msg"]).removeprefix("Value error, ")
        for e in err.errors()
    )


def load_connections(get: Lookup) -> Connections:
    """Build both endpoints; a mistake is kept and reported when a connection is needed,
    so that validation-only calls (``check``, ``diff`` in a preview) still work. The message
    names the endpoint's URL key."""
    endpoints: list[EndpointSettings | None] = []
    for url_key, keys in (
        ("frontEndUrl", ("username", "password", "auth")),
        ("edgeUrl", ("edgeUsername", "edgePassword", "edgeAuth")),
    ):
        try:
            endpoints.append(_endpoint(get, url_key, *keys))
        except ValidationError as err:
            return Connections(None, None, _problems(err, url_key, keys))
        except ValueError as err:
            named = str(err).startswith(f"{NAMESPACE}:")
            return Connections(None, None, str(err) if named else f"{NAMESPACE}:{url_key}: {err}")
    frontend, edge = endpoints
    return Connections(frontend, edge)
