"""The stack configuration of the reference program, validated all at once.

``__main__.py`` and the ``check`` command read the same ``lync:`` keys (the project is named
``lync``, so the connection keys the providers read in ``configure()`` are project keys with a
schema in Pulumi.yaml). A mistake stops the program with one message that names every bad
program key and every problem of the connection keys, in the terms of ``pulumi config
set``, before any resource is registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

from pulumi.runtime import config as pulumi_config
from pulumi.runtime.config import get_config_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from lync_provider.integration import ExchangeOnlineIntegrationArgs
from lync_provider.resources.types import Fqdn, PolicyIdentity
from lync_provider.settings.connections import (
    KEYS,
    NAMESPACE,
    ConnectionConfigError,
    flag,
    load_connections,
    load_server_version,
)

Lookup = Callable[[str], Any]


class ProgramConfigError(ValueError):
    """One or more stack configuration keys are wrong; the message lists each."""


class IntegrationSettings(BaseModel):
    """The integration's own keys (the connection keys are validated by ``config``)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    cloud: Literal["worldwide", "21vianet"] = "worldwide"
    proxyFqdn: Fqdn | None = None  # noqa: N815 - the config key's own spelling
    hostingProviderIdentity: str = Field(default="Exchange Online", min_length=1)  # noqa: N815
    policyIdentity: PolicyIdentity = "Global"  # noqa: N815
    policyUsers: list[str] = Field(default_factory=list)  # noqa: N815
    adoptExisting: bool = False  # noqa: N815
    replicas: list[Fqdn] | None = None
    replicationTimeoutSeconds: float = Field(default=600, gt=0)  # noqa: N815
    forceReplicationAfterSeconds: float | None = Field(default=None, gt=0)  # noqa: N815
    verifyEdge: bool = True  # noqa: N815
    edgeVerificationTimeoutSeconds: float = Field(default=300, gt=0)  # noqa: N815

    @field_validator("policyUsers")
    @classmethod
    def _grantable(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if "policyIdentity" not in info.data:
            return value  # the identity itself is wrong, and reported on its own key
        policy = info.data["policyIdentity"]
        if value and not str(policy).startswith("Tag:"):
            raise ValueError(
                f"users can only be granted a tag policy; {policy} applies without a grant "
                "(set lync:policyIdentity to tag:<name>, or remove lync:policyUsers)"
            )
        return value

    def to_args(self) -> ExchangeOnlineIntegrationArgs:
        """The component's arguments."""
        return ExchangeOnlineIntegrationArgs(
            cloud=self.cloud,
            proxy_fqdn=self.proxyFqdn,
            hosting_provider_identity=self.hostingProviderIdentity,
            policy_identity=self.policyIdentity,
            policy_users=self.policyUsers,
            adopt_existing=self.adoptExisting,
            replicas=self.replicas,
            replication_timeout_seconds=self.replicationTimeoutSeconds,
            force_replication_after_seconds=self.forceReplicationAfterSeconds,
            verify_edge=self.verifyEdge,
            edge_timeout_seconds=self.edgeVerificationTimeoutSeconds,
        )


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def program_stack_config() -> dict[str, Any]:
    """The stack configuration as a running Pulumi program sees it.

    The language host hands it over as the ``PULUMI_CONFIG`` environment bag, or the runtime
    holds it after ``set_all_config`` (mocks, some hosts); values set explicitly win.
    """
    return {**get_config_env(), **pulumi_config.CONFIG.get()}


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stack config (``{"lync:cloud": ...}``, values as Pulumi hands them to a program:
    strings, arrays as JSON text) → (integration keys, connection keys), namespace removed.
    Keys of other namespaces are not ours and are left alone.

    Only the integration's list keys are decoded from JSON: a connection key is text, even a
    password that begins with ``[``, and text that is not JSON is left for validation to
    report under its key."""
    integration: dict[str, Any] = {}
    connection: dict[str, Any] = {}
    for full, given in config.items():
        namespace, _, name = full.partition(":")
        if namespace != NAMESPACE:
            continue
        if name in KEYS:
            connection[name] = given
        else:
            integration[name] = _decoded(given) if _holds_list(name) else given
    return integration, connection


def _holds_list(name: str) -> bool:
    """Whether the integration key is a list (``list[...]``, or ``list[...] | None``)."""
    field = IntegrationSettings.model_fields.get(name)
    kinds = (field.annotation, *get_args(field.annotation)) if field else ()
    return any(get_origin(kind) is list for kind in kinds)


def _decoded(given: Any) -> Any:
    """A list key's JSON text decoded; anything else as given, for validation to judge."""
    if not isinstance(given, str):
        return given
    try:
        return json.loads(given)
    except json.JSONDecodeError:
        return given


def load_program_config(raw: Mapping[str, Any], lookup: Lookup) -> IntegrationSettings:
    """Validate the integration keys in ``raw`` (``{"cloud": ..., ...}`` without namespace)
    and the connection keys through ``lookup``; raise one error naming every bad program key
    and every problem of the connection keys (see ``load_connections``)."""
    problems: list[str] = []
    settings: IntegrationSettings | None = None
    try:
        settings = IntegrationSettings.model_validate(dict(raw))
    except ValidationError as err:
        for error in err.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "not a key of this project (see Pulumi.yaml)"
            problems.append(f"{_key(name)}: {message}")
    problems += _connection_problems(lookup)
    verify_edge = settings.verifyEdge if settings else flag(raw.get("verifyEdge", True))
    if verify_edge and lookup("edgeUrl") is None:
        problems.append(
            f"{_key('edgeUrl')}: missing, and verifyEdge is on; set the Edge's WinRM URL "
            f"(e.g. https://edge01.contoso.com:5986/wsman) or `{_key('verifyEdge')}` false"
        )
    if problems or settings is None:
        raise _config_error(problems)
    return settings


def require_connection_config(lookup: Lookup) -> None:
    """Raise :class:`ProgramConfigError` naming every wrong connection key: for a command
    that only reads the front end (``export``), whatever program the stack is for."""
    problems = _connection_problems(lookup)
    if problems:
        raise _config_error(problems)


def _connection_problems(lookup: Lookup) -> list[str]:
    """What is wrong with the front end's keys (URL, credentials) and
    ``lync:serverVersion``, each in the terms of ``pulumi config set``."""
    problems: list[str] = []
    if lookup("frontEndUrl") is None:
        problems.append(
            f"{_key('frontEndUrl')}: missing; e.g. `pulumi config set {_key('frontEndUrl')} "
            "https://pool01.contoso.com/OcsPowershell`"
        )
    else:
        problems += load_connections(lookup).problems
    try:
        load_server_version(lookup)
    except ConnectionConfigError as err:
        problems.append(str(err))
    return problems


def _config_error(problems: list[str]) -> ProgramConfigError:
    return ProgramConfigError(
        "The stack configuration has problems:\n" + "\n".join(f"  - {p}" for p in problems)
    )
