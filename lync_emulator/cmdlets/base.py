"""What every emulated cmdlet is made of, and the logic the cmdlet families share.

A cmdlet is data (:class:`Cmdlet`: name, .NET class, parameter table, body); its body gets
an :class:`Invocation` to read the store, buffer writes, and write output, errors and
warnings. Writes are buffered so that the service commits them as one store version only
when the body finishes, which gives atomic cmdlets, ``-WhatIf`` and ``-InMemory`` for free.
Writes go to one of two places, as on a real deployment: configuration to the Central
Management Store (versioned and replicated to every server), user accounts to Active
Directory (the directory: not part of the CMS, never replicated by it).

A :class:`Family` describes one kind of stored object (collection, identity rules,
rendering); :func:`get_cmdlet`, :func:`require` and :func:`requested` implement the
Get/-Identity/-Filter/-LocalStore and Set/-Instance behaviour once for all families.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lync_emulator.cmdlets.binding import (
    PSOBJECT,
    STRING,
    SWITCH,
    Bound,
    Param,
    ParamType,
    convert_value,
)
from lync_emulator.cmdlets.errors import CmdletError, not_found
from lync_emulator.invocation import Caller, ErrorInfo, LyncObject, Role
from lync_emulator.replication import Replication
from lync_emulator.store import Change, Doc, StoreView
from lync_emulator.versions import ServerVersion

# ShouldProcess parameters; every served writer's doc page lists them with these Aliases
# (e.g. ODP Set-CsHostingProvider: -Confirm "Aliases: cf", -WhatIf "Aliases: wi").
WHAT_IF = Param("WhatIf", SWITCH, aliases=("wi",))
CONFIRM = Param("Confirm", SWITCH, aliases=("cf",))
# The Lync configuration writers add -Force (ODP New-/Set-/Remove-Cs* syntax blocks).
SHOULD_PROCESS: tuple[Param, ...] = (Param("Force", SWITCH), WHAT_IF, CONFIRM)


@dataclass
class Invocation:
    """One running cmdlet: its bound parameters, the store, and what it produced."""

    cmdlet: Cmdlet
    bound: Bound
    role: Role
    caller: Caller
    now: float
    version: ServerVersion
    store: StoreView
    directory: StoreView
    replication: Replication
    output: list[LyncObject] = field(default_factory=list)
    errors: list[ErrorInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    directory_changes: list[Change] = field(default_factory=list)
    replication_changed: bool = False

    def source(self) -> StoreView:
        """The CMS, or with ``-LocalStore`` the local replica of the server reached."""
        if self.bound.has("LocalStore"):
            return self.replication.local_view(self.replication.fqdn_for(self.role), self.now)
        return self.store

    def emit(self, obj: LyncObject) -> None:
        """Write an object to the output stream."""
        self.output.append(obj)

    def error(self, err: CmdletError) -> None:
        """Write a non-terminating error record and carry on."""
        self.errors.append(err.to_info(self.cmdlet.class_name))

    def write(self, collection: str, key: str, doc: Doc | None) -> None:
        """Buffer a CMS document replacement (or deletion, with None) for the commit."""
        self.changes.append(Change(collection, key, doc))

    def write_directory(self, collection: str, key: str, doc: Doc | None) -> None:
        """Buffer an Active Directory change: committed too, but no CMS version, so no
        replication and no new LastUpdateCreation."""
        self.directory_changes.append(Change(collection, key, doc))

    def force_push(self, fqdn: str | None) -> list[str]:
        """Schedule a full replication push (Invoke-CsManagementStoreReplication)."""
        self.replication_changed = True
        return self.replication.force_push(self.now, fqdn)


@dataclass(frozen=True)
class Cmdlet:
    """A cmdlet's declaration.

    ``writes``: it changes the CMS, so an Edge refuses it and RBAC treats it as a change.
    ``needs_cms``: on an Edge it cannot run unless it reads the local replica
    (``-LocalStore``). ``roles``: the endpoints where the command exists at all.
    ``sets`` lists the parameter sets, the default first.
    """

    name: str
    class_name: str
    params: tuple[Param, ...]
    run: Callable[[Invocation], None]
    writes: bool = False
    sets: tuple[str, ...] = ("Default",)
    needs_cms: bool = True
    roles: frozenset[Role] = frozenset(Role)


def wildcard_match(pattern: str, text: str) -> bool:
    """PowerShell ``-like`` matching: ``*``, ``?`` and ``[...]``, case-insensitive."""
    return _like(pattern).match(text) is not None


@functools.lru_cache(maxsize=1024)
def _like(pattern: str) -> re.Pattern[str]:
    # fnmatch.translate is pure Python and costs more than the match itself; a scan tests
    # one pattern against thousands of names, so translate and compile it once.
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def wrappers(params: Sequence[Param]) -> dict[str, type[int]]:
    """Which properties go out as UInt32/UInt64, taken from the parameter types."""
    return {p.name: p.type.wrap for p in params if p.type.wrap is not None}


def defaults(params: Sequence[Param]) -> dict[str, Any]:
    """The documented defaults of a family's properties, to seed a new object."""
    return {p.name: p.default for p in params}


def full_view(
    sample: Sequence[str], params: Sequence[Param], version: ServerVersion
) -> tuple[str, ...]:
    """Every property an object carries on ``version``: Microsoft's sample order first.

    A formatted sample shows a default view, which can hide real properties (ODP
    Get-CsHostingProvider Example 6: "By default, the property values for
    EnabledSharedAddressSpace and HostsOCSUsers are not displayed"); the deserialized object
    a remote session receives carries all of them. So the sample's properties come in its
    order, then the object's other properties (its parameter rows that exist on the version)
    in table order.
    """
    rest = (p.name for p in params if p.exists_on(version) and p.name not in sample)
    return (*sample, *rest)


def render(
    type_name: str,
    doc: Doc,
    display: Sequence[str],
    wrap: Mapping[str, type[int]],
    to_string: str,
) -> LyncObject:
    """An output object with the properties in the given order (see :func:`full_view`)."""
    properties: dict[str, Any] = {}
    for name in display:
        value = doc.get(name)
        properties[name] = wrap[name](value) if name in wrap and value is not None else value
    return LyncObject([type_name], properties, to_string)


@dataclass(frozen=True)
class Family:
    """One kind of stored object.

    ``canonical`` turns an identity as typed into the stored form (and refuses invalid
    scopes); documents are keyed by the case-folded canonical identity.
    """

    collection: str
    type_name: str
    canonical: Callable[[str], str]
    render: Callable[[Doc, ServerVersion], LyncObject]

    def key(self, identity: str) -> str:
        """The store key of an identity."""
        return self.canonical(identity).casefold()

    def find(self, view: StoreView, identity: str) -> Doc | None:
        """The document with that identity, or None."""
        return view.get(self.collection, self.key(identity))


def require(inv: Invocation, family: Family, identity: str) -> Doc:
    """The CMS document a Set/Remove acts on, or a terminating ItemNotFound error."""
    doc = family.find(inv.store, identity)
    if doc is None:
        raise not_found(family.type_name, family.canonical(identity))
    return doc


def requested(inv: Invocation, properties: Sequence[Param]) -> tuple[str | None, dict[str, Any]]:
    """The identity and property values a Set asks for, from ``-Instance`` and parameters.

    An ``-Instance`` is an object read earlier (a dict of its properties): every writable
    property it carries that exists on this server version is written back, converted as
    binding would convert it; explicit parameters given alongside override it.
    """
    properties = [p for p in properties if p.exists_on(inv.version)]
    instance = inv.bound.get("Instance")
    values: dict[str, Any] = {}
    identity = inv.bound.get("Identity")
    if isinstance(instance, dict):
        values = {
            p.name: convert_value(p, instance[p.name]) for p in properties if p.name in instance
        }
        if instance.get("Identity") is not None:
            identity = str(instance["Identity"])
    values.update(
        {p.name: inv.bound.values[p.name] for p in properties if p.name in inv.bound.values}
    )
    return identity, values


def instance_param() -> Param:
    """Set-*'s ``-Instance``: only in the Instance set, and (ODP) "Required: False"."""
    return Param("Instance", PSOBJECT, sets=frozenset({"Instance"}))


def get_objects(family: Family) -> Callable[[Invocation], None]:
    """The body of a Get cmdlet: all objects, one by ``-Identity``, or by ``-Filter``.

    A missing ``-Identity`` is a *non-terminating* ObjectNotFound error. Lync's behaviour
    is undocumented (lync-cmdlets.md marks it UNCERTAIN); an error record lets a client
    tell "absent" from "empty result" while the pipeline still completes.
    """

    def run(inv: Invocation) -> None:
        view = inv.source()
        identity = inv.bound.get("Identity")
        if identity is not None:
            doc = family.find(view, identity)
            if doc is None:
                inv.error(
                    not_found(family.type_name, family.canonical(identity), terminating=False)
                )
            else:
                inv.emit(family.render(doc, inv.version))
            return
        pattern = inv.bound.get("Filter")
        for doc in view.values(family.collection):
            if pattern is None or wildcard_match(pattern, str(doc["Identity"])):
                inv.emit(family.render(doc, inv.version))

    return run


def get_cmdlet(name: str, class_name: str, family: Family, identity: ParamType) -> Cmdlet:
    """A ``Get-Cs*`` cmdlet with the two sets every served Get page documents:
    ``[[-Identity]] [-LocalStore]`` (Identity, the default) and ``[-Filter] [-LocalStore]``.

    Identity is the only positional parameter; the pages number it 1 or 2, which binds alike.
    """
    params = (
        Param("Identity", identity, position=2, sets=frozenset({"Identity"})),
        Param("Filter", STRING, sets=frozenset({"Filter"})),
        Param("LocalStore", SWITCH),
    )
    return Cmdlet(name, class_name, params, get_objects(family), sets=("Identity", "Filter"))
