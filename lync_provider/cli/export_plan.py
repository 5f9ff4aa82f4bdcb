"""What ``export`` declares for the objects a server holds: the rules, without any I/O.

:func:`plan` turns the records the Get- cmdlets returned into one :class:`Exported` per
object, the constructor call the generated program makes (:mod:`export_render` writes it):

* **What.** The Global access edge configuration, every hosting provider, every external
  access policy (Global, site and tag) and, when users were read, one
  ExternalAccessPolicyAssignment per tag policy that users hold, listing them.
* **Which properties.** Every input of the resource's spec that the object has a value for,
  with that value, so the program states what the server holds and the first ``up`` changes
  nothing. Left out, each with the reason in a comment: blank values (unset means unmanaged),
  properties the targeted server version lacks (``lync:serverVersion``), and any value the
  provider's ``check`` refuses; read-only and computed properties (``Name``, ``RoutingMethod``
  apart from the ``routing_method`` input it answers) are not spec inputs, so never appear.
  The inputs are validated by the provider's own ``check``, which makes no remote call, so
  what is written passes ``pulumi preview``.
* **Adopt.** Owned objects (hosting providers, site and tag policies) exist already, and a
  create of an existing one fails unless the resource says ``adopt=True``: every one is
  declared so, which also makes destroy give it back its values instead of removing it.
  Singletons (the Global access edge configuration, the Global policy) are always taken over
  and given back, and have no ``adopt`` input.
* **Names.** ``<kind>-<identity>`` in lower-case ASCII (``hosting-provider-exchange-online``,
  assigned to ``provider_exchange_online``), at most 32 characters of identity: the same
  object gets the same name in every export.
  Identities that come out alike (``A B`` and ``a-b``, or no ASCII at all) each get eight
  hex digits of a hash of the identity instead, which do not depend on the other objects.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from lync_provider.lync.identities import IdentityError, canonical_policy_identity, policy_scope
from lync_provider.lync.versions import ServerVersion
from lync_provider.remoting import Records, quoted
from lync_provider.resources import (
    AccessEdgeConfig,
    ExternalAccessPolicy,
    ExternalAccessPolicyAssignment,
    HostingProvider,
)
from lync_provider.resources.access_edge import GLOBAL
from lync_provider.resources.base import LyncProvider, lync_name
from lync_provider.resources.config_object import ConfigObjectProvider
from lync_provider.resources.resource import LyncResource
from lync_provider.settings.connections import NAMESPACE

MAX_SLUG = 32
# How Get-CsUser names a user so that Get-CsUser -Identity finds that one user again.
USER_NAMES = ("SipAddress", "UserPrincipalName", "Identity")
_SCOPE_ORDER = {"Global": 0, "Site": 1, "Tag": 2}
_SHORT: dict[type[LyncResource], str] = {
    AccessEdgeConfig: "access_edge",
    HostingProvider: "provider",
    ExternalAccessPolicy: "policy",
    ExternalAccessPolicyAssignment: "assignment",
}


@dataclass(frozen=True)
class Reference:
    """An input taken from another declared resource's output (``variable.output``), so
    the engine creates that resource first; ``value`` is what it resolves to."""

    variable: str
    output: str
    value: str


Value = bool | int | str | list[str] | Reference


@dataclass(frozen=True)
class Source:
    """The read an object came from, for the comment above its declaration:
    ``<cmdlet> -Identity <value>``, or for users ``-Filter {ExternalAccessPolicy -eq ...}``."""

    cmdlet: str
    parameter: str
    value: str


@dataclass(frozen=True)
class Exported:
    """One declaration of the generated program."""

    resource: type[LyncResource]
    identity: str
    source: Source
    inputs: Mapping[str, Value]
    notes: tuple[str, ...] = ()
    name: str = ""

    @property
    def variable(self) -> str:
        """The Python variable the declaration is assigned to."""
        return variable_name(self.resource, self.name)

    @property
    def adopted(self) -> bool:
        """Declared with ``adopt=True`` (an owned object that exists already)."""
        return self.inputs.get("adopt") is True

    @property
    def managed(self) -> list[str]:
        """The Lync properties it manages (inputs other than ``adopt``)."""
        return [name for name in self.inputs if name != "adopt"]


@dataclass(frozen=True)
class Live:
    """What the Get- cmdlets returned; ``users`` is None when they were not read."""

    access_edge: Records
    hosting_providers: Records
    policies: Records
    users: Records | None = None


@dataclass(frozen=True)
class ExportPlan:
    """The declarations, and the objects left undeclared with the reason for each."""

    objects: tuple[Exported, ...]
    skipped: tuple[str, ...] = field(default=())


class _RefusedError(ValueError):
    """The provider's check refuses an input the declaration cannot do without."""


def variable_name(resource: type[LyncResource], name: str) -> str:
    """``hosting-provider-exchange-online`` → ``provider_exchange_online``: the kind said
    short, so that ``<variable> = <Resource>(`` fits ruff's default line of 88 characters
    and the formatting does not depend on the line length configured."""
    rest = name.removeprefix(kind_prefix(resource)).strip("-").replace("-", "_")
    return f"{_SHORT[resource]}_{rest}" if rest else _SHORT[resource]


def kind_prefix(resource: type[LyncResource]) -> str:
    """``ExternalAccessPolicy`` → ``external-access-policy``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", resource.__name__).lower()


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens; accents dropped, at most
    :data:`MAX_SLUG` characters; empty when nothing of ``text`` is ASCII."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SLUG].rstrip("-")


def _digest(identity: str) -> str:
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def unique_names(keys: Sequence[tuple[str, str]]) -> list[str]:
    """Pulumi names for ``(kind prefix, identity)`` pairs: ``<prefix>-<slug>``, or with the
    identity's digest where the slug is empty or shared (see the module docstring)."""
    slugs = [slug(identity) for _, identity in keys]
    shared = Counter((prefix, text) for (prefix, _), text in zip(keys, slugs, strict=True))
    names = []
    for (prefix, identity), text in zip(keys, slugs, strict=True):
        if text and shared[prefix, text] == 1:
            names.append(f"{prefix}-{text}")
        else:
            names.append("-".join(part for part in (prefix, text, _digest(identity)) if part))
    # A digest could in theory make a name another object has; number the later ones.
    seen: set[str] = set()
    result = []
    for name in names:
        unique, count = name, 2
        while unique in seen:
            unique, count = f"{name}-{count}", count + 1
        seen.add(unique)
        result.append(unique)
    return result


def _checker(resource: type[LyncResource], version: ServerVersion) -> LyncProvider:
    """The resource's provider, configured for the targeted version only (no connection)."""
    provider = resource.provider_type()
    config = {f"{NAMESPACE}:serverVersion": version.value}
    provider.configure(ConfigureRequest(Config(config, NAMESPACE)))
    return provider


def _plain(value: Any) -> Value | None:
    """A live value as a literal the program can state, or None when it cannot."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [str(item) for item in value]
    return None


def _accepted(
    provider: LyncProvider, values: Mapping[str, Value]
) -> tuple[dict[str, Value], list[str]]:
    """The values the provider's check accepts; each refused optional one is left out, with
    a note. A refused required input (or a refusal of the whole) is a :class:`_RefusedError`."""
    spec = provider.spec
    required = {name for name, info in spec.model_fields.items() if info.is_required()}
    kept = dict(values)
    notes: list[str] = []
    while True:
        failures = provider.check({}, kept).failures
        if not failures:
            return kept, notes
        blocking = [f for f in failures if f.property in required or f.property not in kept]
        if blocking:
            raise _RefusedError("; ".join(f"{f.property}: {f.reason}" for f in blocking))
        for failure in failures:
            if failure.property in kept:
                notes.append(f"{failure.property} is not managed: {failure.reason}")
                del kept[failure.property]


def _properties(
    provider: LyncProvider, record: Mapping[str, Any]
) -> tuple[dict[str, Value], list[str]]:
    """Every spec input the record has a plain, non-blank value for, in spec order."""
    values: dict[str, Value] = {}
    notes: list[str] = []
    for name in provider.spec.property_fields():
        live = record.get(lync_name(name))
        if live is None:
            continue
        plain = _plain(live)
        if plain is None:
            notes.append(f"{name} is not managed: its live value is a {type(live).__name__}")
        else:
            values[name] = plain
    return values, notes


def _declare(
    resource: type[LyncResource], record: Mapping[str, Any], version: ServerVersion
) -> Exported:
    """The declaration of one configuration object, or :class:`_RefusedError`."""
    provider = _checker(resource, version)
    assert isinstance(provider, ConfigObjectProvider)
    identity = str(record.get("Identity") or GLOBAL)
    values, notes = _properties(provider, record)
    adopt = "adopt" in provider.spec.model_fields and not provider.is_singleton(identity)
    if adopt:
        values["adopt"] = True
    inputs, refused = _accepted(provider, values)
    warnings = provider.spec.version_warnings(inputs, version)
    source = Source(f"Get-{provider.spec.noun}", "Identity", identity)
    notes += refused + [f"warning: {text}" for text in warnings]
    return Exported(resource, identity, source, inputs, tuple(notes))


def _policy_order(record: Mapping[str, Any]) -> tuple[int, str]:
    identity = str(record.get("Identity") or "")
    try:
        scope = _SCOPE_ORDER.get(policy_scope(identity), 3)
    except IdentityError:
        scope = 3
    return scope, identity.casefold()


def _user_name(record: Mapping[str, Any]) -> str | None:
    return next((str(record[key]) for key in USER_NAMES if record.get(key)), None)


def _held_tag(held: str) -> str:
    """The tag identity of a Get-CsUser ExternalAccessPolicy value (a bare tag name)."""
    try:
        return canonical_policy_identity(held)
    except IdentityError:  # a tag name with a colon in it
        return f"Tag:{held}"


def _holders(users: Records, skipped: list[str]) -> dict[str, list[str]]:
    """Tag identity → the users holding it, as Get-CsUser shows them (blank: none)."""
    holders: dict[str, list[str]] = {}
    for record in users:
        held = record.get("ExternalAccessPolicy")
        if not held:
            continue
        user = _user_name(record)
        if user is None:
            skipped.append(f"a user holding {held!r} has no SipAddress, UPN or Identity")
            continue
        holders.setdefault(_held_tag(str(held)), []).append(user)
    return holders


def _assignment(
    tag: str, users: list[str], policy: Exported | None, version: ServerVersion
) -> Exported:
    """The assignment of ``tag`` to its holders (policy_name linked once names exist)."""
    if policy is None:
        raise _RefusedError(
            f"Get-CsExternalAccessPolicy did not return {tag!r}, which {len(users)} user(s) hold"
        )
    notes = []
    grantable = sorted((user for user in users if "*" not in user), key=str.casefold)
    for user in sorted(set(users) - set(grantable)):
        notes.append(f"{quoted(user)} is not listed: a name with a wildcard names many users")
    provider = _checker(ExternalAccessPolicyAssignment, version)
    inputs, _ = _accepted(provider, {"policy_name": policy.identity, "users": grantable})
    source = Source("Get-CsUser", "Filter", tag.removeprefix("Tag:"))
    return Exported(ExternalAccessPolicyAssignment, tag, source, inputs, tuple(notes))


def _linked(item: Exported, policies: Mapping[str, Exported]) -> Exported:
    """An assignment's policy_name as the declared policy's ``identity`` output."""
    if item.resource is not ExternalAccessPolicyAssignment:
        return item
    policy = policies[item.identity.casefold()]
    reference = Reference(policy.variable, "identity", policy.identity)
    return replace(item, inputs={**item.inputs, "policy_name": reference})


def plan(live: Live, version: ServerVersion) -> ExportPlan:
    """The declarations for what the server holds, in a stable order: the access edge
    configuration, hosting providers, policies (Global, site, tag), assignments."""
    objects: list[Exported] = []
    skipped: list[str] = []

    def add(resource: type[LyncResource], record: Mapping[str, Any]) -> None:
        try:
            objects.append(_declare(resource, record, version))
        except _RefusedError as err:
            skipped.append(f"{resource.__name__} {record.get('Identity')!r}: {err}")

    edges = [r for r in live.access_edge if str(r.get("Identity") or GLOBAL) == GLOBAL]
    if not edges:
        skipped.append("Get-CsAccessEdgeConfiguration returned no Global configuration")
    for record in edges[:1]:
        add(AccessEdgeConfig, record)
    for record in sorted(live.hosting_providers, key=lambda r: str(r.get("Identity")).casefold()):
        add(HostingProvider, record)
    for record in sorted(live.policies, key=_policy_order):
        add(ExternalAccessPolicy, record)
    policies = {
        item.identity.casefold(): item
        for item in objects
        if item.resource is ExternalAccessPolicy and item.identity.startswith("Tag:")
    }
    holders = _holders(live.users or [], skipped)
    for tag in sorted(holders, key=str.casefold):
        try:
            objects.append(_assignment(tag, holders[tag], policies.get(tag.casefold()), version))
        except _RefusedError as err:
            skipped.append(f"ExternalAccessPolicyAssignment {tag!r}: {err}")
    names = unique_names([(kind_prefix(item.resource), item.identity) for item in objects])
    named = [replace(item, name=name) for item, name in zip(objects, names, strict=True)]
    by_identity = {
        item.identity.casefold(): item for item in named if item.resource is ExternalAccessPolicy
    }
    return ExportPlan(tuple(_linked(item, by_identity) for item in named), tuple(skipped))
