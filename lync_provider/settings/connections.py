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
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from lync_provider.lync.versions import DEFAULT_VERSION, ServerVersion
from lync_provider.settings.endpoint import EndpointSettings, needs_password

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
    problems: tuple[str, ...] = ()

    @property
    def problem(self) -> str | None:
        """Every problem of the connection keys, in one line; None when there is none."""
        return "; ".join(self.problems) or None

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
    """The endpoint the keys describe, None without its URL; every problem of its keys at
    once (:class:`_KeyProblemsError`), each under its key."""
    url = get(url_key)
    if url is None:
        return None
    problems: list[str] = []
    username = get(user_key) or get("username")
    password = get(password_key) or get("password")
    auth = str(get(auth_key) or get("auth") or "negotiate").lower()
    credential_keys = tuple(
        # The keys the values came from: an Edge's own, or the shared ones they fall back to.
        f"{NAMESPACE}:{own if get(own) else shared}"
        for own, shared in zip(
            (user_key, password_key, auth_key), ("username", "password", "auth"), strict=True
        )
    )
    if needs_password(auth):
        # Here rather than in the model, which stops at its first refusal (a bad URL).
        for key, own, value in zip(
            credential_keys[:2], (user_key, password_key), (username, password), strict=True
        ):
            if not value:
                problems.append(_missing_credential(key, own, credential_keys[2], auth))
    fields: dict[str, Any] = {
        "url": str(url),
        "auth": auth,
        "username": username,
        "password": password,
        "encryption": str(get("encryption") or "auto").lower(),
        "credential_keys": credential_keys,
        **_tuning(get, problems),
    }
    module = get("importModule")
    # OcsPowershell preloads the Lync cmdlets; a plain WinRM endpoint needs the module.
    if module and not str(url).rstrip("/").lower().endswith("/ocspowershell"):
        fields["import_module"] = module
    try:
        settings = EndpointSettings.model_validate(fields)
    except ValidationError as err:
        found = _problems(err.errors(), url_key, credential_keys)
        failed = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
        if failed:
            # pydantic checks the settings as a whole only once every field is valid: do it
            # without the failed fields, so that those refusals are said now too. Without
            # its URL the endpoint keeps the URL's scheme, which decides what Basic may do.
            rest = {k: v for k, v in fields.items() if k not in failed}
            scheme = urlsplit(str(url)).scheme.lower()
            if "url" in failed and scheme in ("http", "https"):
                rest["use_tls"] = scheme == "https"
            found += [
                problem
                for problem in _whole_model_problems(rest, url_key, credential_keys)
                if problem not in found
            ]
        raise _KeyProblemsError([*problems, *found]) from None
    if problems:
        raise _KeyProblemsError(problems)
    return settings


def _tuning(get: Lookup, problems: list[str]) -> dict[str, Any]:
    """The fields of the keys every endpoint shares (certificates, timeouts, pools); what
    is wrong with them is added to ``problems``."""
    fields: dict[str, Any] = {}
    if get("caBundle"):
        bundle = Path(str(get("caBundle"))).expanduser()
        try:
            _check_ca_bundle(bundle)
            fields["ca_bundle"] = str(bundle)
        except ValueError as err:
            problems.append(str(err))
    if get("skipCertificateValidation") is not None:
        fields["verify_certificate"] = not flag(get("skipCertificateValidation"))
    for key, field in (
        ("operationTimeout", "operation_timeout"),
        ("connectTimeout", "connect_timeout"),
    ):
        if get(key):
            try:
                fields[field] = _seconds(key, get(key))
            except ValueError as err:
                problems.append(str(err))
    for key, field in (("poolsPerEndpoint", "max_pools"), ("batchSize", "batch_size")):
        if get(key):
            fields[field] = get(key)
    return fields


def _missing_credential(key: str, own: str, auth_key: str, auth: str) -> str:
    """``key`` (the endpoint's ``own`` key or the shared one it falls back to) is not set."""
    bare = key.removeprefix(f"{NAMESPACE}:")
    secret = " --secret" if bare in SECRET_KEYS else ""
    alone = "" if bare == own else f" (or {NAMESPACE}:{own}, for this endpoint alone)"
    return (
        f"{key}: not set, and {auth_key} {auth} needs a user name and a password: run "
        f"`pulumi config set{secret} {key}`{alone} or set {KEYS[bare]}"
    )


class _KeyProblemsError(Exception):
    """Every problem of one endpoint's keys, each worded under its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check_ca_bundle(bundle: Path) -> None:
    if not bundle.is_file():
        raise ValueError(
            f"{NAMESPACE}:caBundle: {str(bundle)!r} is not a file; give the path of the PEM "
            "file of the CA that issued the servers' certificates"
        )
    _check_pem_certificates(bundle)


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


def _problems(
    errors: Sequence[ErrorDetails], url_key: str, credential_keys: Sequence[str]
) -> list[str]:
    """Each problem under the key it came from (the endpoint's own username, password and
    auth keys for those fields), a refusal of the settings as a whole in the keys' terms
    (:func:`_in_config_terms`), and the endpoint's URL key for the rest. Missing
    credentials are left out: :func:`_endpoint` says them key by key."""
    keys = {
        **{field: f"{NAMESPACE}:{key}" for field, key in _FIELD_KEYS.items()},
        **dict(zip(("username", "password", "auth"), credential_keys, strict=True)),
        "url": f"{NAMESPACE}:{url_key}",
    }
    problems = []
    for e in errors:
        if e["type"] == "credentials_missing":
            continue
        worded = _in_config_terms(e["type"], keys)
        if worded is None:
            field = str(e["loc"][0]) if e["loc"] else "url"
            worded = keys.get(field, keys["url"]), str(e["msg"]).removeprefix("Value error, ")
        problems.append(f"{worded[0]}: {worded[1]}")
    return problems


def _whole_model_problems(
    fields: Mapping[str, Any], url_key: str, credential_keys: Sequence[str]
) -> list[str]:
    """The refusals of the settings as a whole that ``fields`` meet."""
    try:
        EndpointSettings.model_validate(dict(fields))
    except ValidationError as err:
        whole = [e for e in err.errors() if e["type"] in _WHOLE_MODEL]
        return _problems(whole, url_key, credential_keys)
    return []


# EndpointSettings' refusals of the settings as a whole (PydanticCustomError types) that
# do not name a field; missing credentials, the other one, are said key by key.
_WHOLE_MODEL = frozenset(
    {"basic_not_latin1", "basic_over_http", "basic_encryption_always", "ca_bundle_unverified"}
)


def _in_config_terms(kind: str, keys: Mapping[str, str]) -> tuple[str, str] | None:
    """A refusal of :class:`EndpointSettings` as a whole (its error ``kind``), said as the
    key to change and what to set it to; None for the others, whose field names its key."""
    auth, encryption = keys["auth"], keys["encryption"]
    if kind == "basic_not_latin1":
        return auth, (
            "basic can only send a user name and password made of Latin-1 characters, and "
            f"these contain another (the euro sign, for example): set {auth} to negotiate or "
            "ntlm, or change them"
        )
    if kind == "basic_over_http":
        return keys["url"], (
            f"an http:// URL with {auth} basic would send the password in clear text, and "
            f"WinRM cannot encrypt Basic messages: use an https:// URL, or set {auth} to "
            f"negotiate or ntlm (which encrypt the messages over HTTP); set {encryption} to "
            "never only on purpose, e.g. against a loopback emulator"
        )
    if kind == "basic_encryption_always":
        return encryption, (
            f"always is not available with {auth} basic: over HTTPS, TLS already encrypts; "
            f"leave {encryption} unset (auto)"
        )
    if kind == "ca_bundle_unverified":
        return keys["ca_bundle"], f"given while {keys['verify_certificate']} is on; choose one"
    return None


def load_connections(get: Lookup) -> Connections:
    """Build both endpoints; mistakes are kept and reported, all at once, when a connection
    is needed, so that validation-only calls (``check``, ``diff`` in a preview) still work.
    Each names its key."""
    endpoints: list[EndpointSettings | None] = []
    problems: list[str] = []
    for url_key, keys in (
        ("frontEndUrl", ("username", "password", "auth")),
        ("edgeUrl", ("edgeUsername", "edgePassword", "edgeAuth")),
    ):
        try:
            endpoints.append(_endpoint(get, url_key, *keys))
        except _KeyProblemsError as found:
            # A key the two endpoints share is said once (the front end's words).
            said = {p.partition(": ")[0] for p in problems}
            problems += [p for p in found.problems if p.partition(": ")[0] not in said]
            endpoints.append(None)
    if problems:
        return Connections(None, None, tuple(problems))
    frontend, edge = endpoints
    return Connections(frontend, edge)
