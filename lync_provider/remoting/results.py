"""Turn what pypsrp deserialized into plain dicts the resources can compare.

Remoting serializes Lync objects at depth 1, so most properties arrive as primitives and
enums as strings; anything still complex (an enum object, an identity object) is reduced to
its string form. Scope-prefixed identities are made canonical (``tag:x`` → ``Tag:x``) so that
the same policy read twice, or read and declared, compares equal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pypsrp.complex_objects import ComplexObject, GenericComplexObject

from lync_provider.lync.identities import canonical_policy_identity

_FRACTION = re.compile(r"(\.\d+)")
_SCOPED = re.compile(r"^(global|site:.+|tag:.+)$", re.IGNORECASE)
# Properties that hold policy identities, which Lync prints with canonical scope prefixes.
_POLICY_IDENTITY_PROPERTIES = frozenset({"Identity", "ExternalAccessPolicy"})


def to_record(obj: Any) -> dict[str, Any]:
    """One output object as ``{property: plain value}``."""
    if isinstance(obj, GenericComplexObject):
        props: dict[str, Any] = {}
        props.update(obj.adapted_properties)
        props.update(obj.extended_properties)
        record = {name: to_plain(value) for name, value in props.items()}
    elif isinstance(obj, Mapping):
        record = {str(name): to_plain(value) for name, value in obj.items()}
    else:
        return {"Value": to_plain(obj)}
    for name in _POLICY_IDENTITY_PROPERTIES & record.keys():
        value = record[name]
        if isinstance(value, str) and _SCOPED.match(value):
            record[name] = canonical_policy_identity(value)
    return record


def to_plain(value: Any) -> Any:
    """A deserialized value as None/bool/int/float/str/datetime/list/dict."""
    if value is None or isinstance(value, bool | int | float | datetime):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, GenericComplexObject):
        has_properties = bool(value.adapted_properties or value.extended_properties)
        return to_record(value) if has_properties and value.to_string is None else str(value)
    if isinstance(value, ComplexObject):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    return str(value)


def to_datetime(value: Any) -> datetime | None:
    """A CLIXML DateTime (pypsrp leaves ``<DT>`` as its ISO text) as an aware datetime;
    None for a blank value. Naive times are taken as UTC."""
    if isinstance(value, str) and value.strip():
        # .NET writes up to 7 fractional digits; Python reads at most 6.
        value = datetime.fromisoformat(_FRACTION.sub(lambda m: m.group(1)[:7], value.strip()))
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
