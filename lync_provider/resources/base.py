"""What every Lync dynamic provider shares: configuration, validation, diffing, errors.

A provider here is a small translation between Pulumi's plain-dict protocol and cmdlet calls.
Its inputs are described once, by a pydantic model (the *spec*) whose snake_case field names
map onto Lync parameter names. Only properties the program sets are *managed*: they alone are
written, read back, compared and reported as drift, so a setting the program does not mention
is never reset.

The provider instance is pickled into the state by reference (its class lives in this
installed package) and holds nothing but what ``configure()`` gives it in the provider
process, so no credential is ever serialized.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    DiffResult,
    ResourceProvider,
)
from pulumi.output import Unknown
from pydantic import BaseModel, ConfigDict, ValidationError

from lync_provider.lync.identities import canonical_policy_identity
from lync_provider.lync.versions import ServerVersion, availability, retirement
from lync_provider.remoting import (
    CmdletCall,
    LyncRemotingError,
    LyncSession,
    session_for,
    to_datetime,
)
from lync_provider.settings.connections import (
    ConnectionConfigError,
    Connections,
    Lookup,
    load_connections,
    load_server_version,
    lookup_from,
)
from lync_provider.settings.logs import configure_from_environment

log = logging.getLogger(__name__)

PROVIDER_KEY = "__provider"
# The replication status: read before a write, it dates the change for the ReplicationGate.
STATUS = CmdletCall("Get-CsManagementStoreReplicationStatus")
# The value the engine sends for an input not yet known during a preview.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Lync parameter names that are not the PascalCase of their snake_case input name.
_LYNC_NAME_EXCEPTIONS = {"hosts_ocs_users": "HostsOCSUsers"}


def lync_name(field: str) -> str:
    """``enable_outside_access`` → ``EnableOutsideAccess``; Lync's exceptions honoured."""
    return _LYNC_NAME_EXCEPTIONS.get(field) or "".join(p.capitalize() for p in field.split("_"))


def snake_name(lync: str) -> str:
    """``EnableOutsideAccess`` → ``enable_outside_access``."""
    for snake, pascal in _LYNC_NAME_EXCEPTIONS.items():
        if pascal == lync:
            return snake
    return re.sub(r"(?<!^)(?=[A-Z])", "_", lync).lower()


class Spec(BaseModel):
    """Base of the input models: unknown inputs are errors, every value validated."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    # Inputs that steer the provider rather than name a Lync property.
    control_fields: ClassVar[frozenset[str]] = frozenset({"adopt"})
    # The cmdlet whose parameters the properties are: for messages, and the key of the
    # version table (lync_provider.lync.versions).
    cmdlet: ClassVar[str] = ""
    # The Lync noun of Get-/Set-/New-/Remove-<noun>, where there is one.
    noun: ClassVar[str] = ""

    @classmethod
    def property_fields(cls) -> list[str]:
        """The inputs that are Lync properties, in declaration order."""
        return [name for name in cls.model_fields if name not in cls.control_fields]

    # Fields Lync matches without regard to case (FQDNs, identities, user names); a list of
    # them compares as a set.
    case_insensitive: ClassVar[frozenset[str]] = frozenset()
    # Fields holding a policy identity, compared in canonical form (tag:x == Tag:X == x).
    policy_identities: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def compare_key(cls, field: str, value: Any) -> Any:
        """The form in which two values of ``field`` are compared, so that what Lync treats
        as the same value never shows as drift."""
        if field in cls.policy_identities and isinstance(value, str):
            return canonical_policy_identity(value).casefold()
        if field in cls.case_insensitive:
            if isinstance(value, str):
                return value.casefold()
            if isinstance(value, list):
                return frozenset(str(item).casefold() for item in value)
        return value

    @classmethod
    def version_problems(cls, given: Mapping[str, Any], version: ServerVersion) -> dict[str, str]:
        """Inputs the target version's cmdlet does not have, with the reason for each."""
        problems = {}
        for name in given:
            rule = availability(cls.cmdlet, lync_name(name))
            if rule is not None and not rule.exists_on(version):
                problems[name] = (
                    f"{lync_name(name)} exists only from {rule.since.label} on, and this stack "
                    f"targets {version.label} (lync:serverVersion {version.value}); set "
                    "lync:serverVersion to the version the servers run, or remove it"
                )
        return problems

    @classmethod
    def version_warnings(cls, given: Mapping[str, Any], version: ServerVersion) -> list[str]:
        """Why inputs set to True on this target will not do what they say."""
        warnings = []
        for name, value in given.items():
            rule = retirement(cls.cmdlet, lync_name(name), version)
            if rule is not None and value is True:
                warnings.append(f"{name}: {rule.reason} ({version.label})")
        return warnings


class PropertyError(ValueError):
    """A validation problem that belongs to one named input (raised by model validators,
    whose errors pydantic cannot otherwise attach to a property)."""

    def __init__(self, prop: str, message: str) -> None:
        super().__init__(message)
        self.property = prop


class LyncResourceError(Exception):
    """A resource operation failed; the text is what the Pulumi CLI shows."""


class LyncProvider(ResourceProvider):
    """Shared behaviour of the Lync dynamic providers."""

    spec: ClassVar[type[Spec]]
    kind: ClassVar[str]
    replace_on: ClassVar[frozenset[str]] = frozenset()
    delete_before_replace: ClassVar[bool] = False

    _connections: Connections | None = None
    _lookup: Lookup | None = None

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps: never the configured connections, which hold the password.

        The engine's provider process never pickles a configured provider (the SDK hands
        back the ``__provider`` string it was given), but nothing else should be able to
        put the password into state by pickling one either."""
        state = dict(self.__dict__)
        state.pop("_connections", None)
        state.pop("_lookup", None)
        return state

    def configure(self, req: ConfigureRequest) -> None:
        """Read the connection settings from the stack config (secrets already decrypted)."""
        configure_from_environment()
        self._lookup = lookup_from(req.config)
        self._connections = load_connections(self._lookup)

    # -- connections -------------------------------------------------------------------

    def connections(self) -> Connections:
        """Configured connections; environment variables only when configure() never ran."""
        if self._connections is None:
            self._connections = load_connections(lookup_from(None))
        return self._connections

    def server_version(self) -> ServerVersion:
        """The product the stack targets (``lync:serverVersion``), or ConnectionConfigError."""
        return load_server_version(self._lookup or lookup_from(None))

    def frontend(self) -> LyncSession:
        """The shared session to the front end pool (OcsPowershell)."""
        return session_for(self.connections().require_frontend())

    def edge(self) -> LyncSession:
        """The shared session to the Edge server (WinRM, -LocalStore reads)."""
        return session_for(self.connections().require_edge())

    # -- check -------------------------------------------------------------------------

    def check(self, _olds: Any, news: Any) -> CheckResult:
        """Validate the inputs with the spec, reporting each problem on its property.

        Values not yet known (preview) are passed through unvalidated; the engine checks
        again once they are known.
        """
        given = {k: v for k, v in dict(news).items() if k != PROVIDER_KEY and v is not None}
        known = {k: v for k, v in given.items() if not _is_unknown(v)}
        try:
            version = self.server_version()
        except ConnectionConfigError as err:
            return CheckResult(given, [CheckFailure("serverVersion", str(err))])
        failures = [
            CheckFailure(name, reason)
            for name, reason in sorted(self.spec.version_problems(known, version).items())
        ]
        for failure in failures:
            known.pop(failure.property)
        for warning in self.spec.version_warnings(known, version):
            log.warning("%s: %s", self.kind, warning)
        try:
            validated = self.spec.model_validate(known).model_dump(mode="json", exclude_none=True)
        except ValidationError as err:
            failures += _failures(err, self.spec, version, unknown=given.keys() - known.keys())
            return CheckResult(given, failures)
        if failures:
            return CheckResult(given, failures)
        validated.update({k: v for k, v in given.items() if _is_unknown(v)})
        return CheckResult(validated, [])

    # -- diff --------------------------------------------------------------------------

    def managed(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The Lync properties present in ``props`` (inputs or outputs).

        Numbers cross the engine's wire as doubles (protobuf Struct), so ``5061`` comes back
        as ``5061.0``; Lync has no fractional properties, so integral floats become ints.
        """
        return {
            k: _integral(props[k]) for k in self.spec.property_fields() if props.get(k) is not None
        }

    def changed_properties(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[str]:
        """Managed properties whose desired value differs from the recorded live one."""
        old, new = self.managed(olds), self.managed(news)
        return [
            name
            for name in self.spec.property_fields()
            if (name in old or name in new)
            and (
                _is_unknown(new.get(name))
                or self.spec.compare_key(name, old.get(name))
                != self.spec.compare_key(name, new.get(name))
            )
        ]

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        """Compare recorded live values (olds are outputs) with the desired inputs."""
        changed = self.changed_properties(olds, news)
        replaces = [name for name in changed if name in self.replace_on]
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=self.delete_before_replace if replaces else None,
        )

    # -- helpers for subclasses -----------------------------------------------------------

    def change_marker(self) -> str | None:
        """The Central Management Store's clock just before a write, for the ReplicationGate.

        It is the newest ``LastUpdateCreation`` any replica reports now: the server-side
        creation time of the latest configuration snapshot that exists before the write. A
        replica that later reports UpToDate with a newer LastUpdateCreation has applied a
        snapshot made after the write, so it holds the change, and no clock of this machine
        takes part in that judgement. None when no replica reports one (or the read fails:
        the gate then falls back to reports newer than those it first sees).
        """
        try:
            records = self.frontend().read(STATUS)
        except (LyncRemotingError, ConnectionConfigError) as err:
            log.warning("%s: replication status unreadable before a change: %s", self.kind, err)
            return None
        return marker_of(records)

    @contextmanager
    def failing(self, action: str, target: str) -> Iterator[None]:
        """Turn a remoting or configuration error into one message naming the resource.

        The SDK's provider process sends the engine the whole formatted traceback of what a
        provider method raised, so the cause is not chained: its text is in the message
        once, and its traceback goes to the debug log (``LYNC_LOG_LEVEL=DEBUG``).
        """
        try:
            yield
        except (LyncRemotingError, ConnectionConfigError) as err:
            log.debug("%s %r: could not %s", self.kind, target, action, exc_info=err)
            # The notes are what was found afterwards (a read-back's finding).
            said = "\n".join([str(err), *getattr(err, "__notes__", ())])
            message = f"{self.kind} {target!r}: could not {action}.\n{said}"
            raise LyncResourceError(message) from None

    @staticmethod
    def to_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
        """snake_case inputs → Lync parameter names (control inputs excluded by callers)."""
        return {lync_name(k): v for k, v in values.items()}

    def from_record(self, record: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
        """The named properties of a Lync object, snake_case, as live values."""
        return {name: record.get(lync_name(name)) for name in fields}


def marker_of(records: Sequence[Mapping[str, Any]]) -> str | None:
    """The newest ``LastUpdateCreation`` among replica status records (see
    :meth:`LyncProvider.change_marker`), None when none reports one."""
    stamps = [to_datetime(record.get("LastUpdateCreation")) for record in records]
    known = [stamp for stamp in stamps if stamp is not None]
    return max(known).isoformat() if known else None


def already_published(marker: str | None) -> str | None:
    """The ``changed_at`` of a resource that wrote nothing: just before the newest snapshot.

    Its values were in the Central Management Store before this run, so a replica that is
    UpToDate with the newest snapshot that exists now holds them; the ReplicationGate counts
    replicas with a snapshot created *after* ``changed_at``, hence one microsecond earlier
    (CLIXML times carry no finer part that survives parsing). A change typed by hand in the
    very moment before, not yet snapshotted, would not be waited for.
    """
    stamp = to_datetime(marker)
    return (stamp - timedelta(microseconds=1)).isoformat() if stamp is not None else None


def encode_map(values: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """A mapping as ``[{key: k, "value": v}]``.

    Pulumi's state drops map entries whose value is null, so ``{"description": None}``
    would come back as ``{}`` and a prior "unset" would be forgotten; list items survive.
    """
    return [{key: name, "value": value} for name, value in values.items()]


def decode_map(pairs: Any, key: str) -> dict[str, Any]:
    """The inverse of :func:`encode_map` (a missing ``value`` is the null it was)."""
    return {str(item[key]): _integral(item.get("value")) for item in pairs or []}


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _is_unknown(value: Any) -> bool:
    """Whether a value (or anything inside it) is not known yet: a preview placeholder.

    The SDK hands provider code ``pulumi.output.Unknown`` objects; the wire form is the
    UNKNOWN string, which tests and older SDKs may pass.
    """
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        return True
    if isinstance(value, Mapping):
        return any(_is_unknown(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_is_unknown(item) for item in value)
    return False


def _failures(
    err: ValidationError, spec: type[Spec], version: ServerVersion, unknown: Any
) -> list[CheckFailure]:
    failures = []
    for error in err.errors():
        loc = [str(part) for part in error["loc"]]
        prop = loc[0] if loc else ""
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, PropertyError):
            prop = cause.property
        if error["type"] == "missing" and prop in unknown:
            continue
        if error["type"] == "extra_forbidden":
            reason = f"{prop!r} is not a parameter of {spec.cmdlet} on {version.label}"
        else:
            reason = str(error["msg"]).removeprefix("Value error, ")
        failures.append(CheckFailure(prop or "inputs", reason))
    return failures
