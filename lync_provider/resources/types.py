"""Validated input types shared by the resource specs, with messages a person understands."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from lync_provider.lync.identities import canonical_policy_identity

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
VERIFICATION_LEVELS = ("AlwaysVerifiable", "AlwaysUnverifiable", "UseSourceVerification")
ROUTING_METHODS = ("UseDnsSrvRouting", "UseDefaultRouting")


def _fqdn(value: str) -> str:
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a fully qualified domain name (e.g. exap.um.outlook.com)"
        )
    return value.rstrip(".")


def _enum(name: str, allowed: tuple[str, ...]) -> Any:
    def pick(value: Any) -> Any:
        if isinstance(value, str):
            for option in allowed:
                if option.lower() == value.strip().lower():
                    return option
            raise ValueError(f"unknown {name} {value!r}; use one of {', '.join(allowed)}")
        return value

    return BeforeValidator(pick)


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{value!r} is not an https:// URL")
    return value


# A bare word that names a scope is a typo for one, not the name of a tag policy.
_SCOPE_WORDS = frozenset({"site", "tag", "global:", "service", "user"})


def _policy_identity(value: str) -> str:
    if value.strip().casefold() in _SCOPE_WORDS or value.strip().casefold().startswith("global:"):
        raise ValueError(
            f"{value!r} would be read as a per-user (tag) policy of that name; write "
            "'Global', 'site:<site name>' or 'tag:<policy name>'"
        )
    return canonical_policy_identity(value)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _control_characters(value: str, allowed: str = "") -> str:
    """Refuse C0 control characters (and DEL): no Lync identity or user name holds one, and a
    NUL cannot travel in PowerShell remoting's XML at all."""
    found = sorted(
        {f"U+{ord(c):04X}" for c in value if (c < " " or c == "\x7f") and c not in allowed}
    )
    if found:
        raise ValueError(f"contains control characters ({', '.join(found)}); remove them")
    return value


def _text(value: str) -> str:
    return _control_characters(value, allowed="\t\n\r")


Fqdn = Annotated[str, AfterValidator(_fqdn)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Name = Annotated[
    str, Field(max_length=256), AfterValidator(_not_blank), AfterValidator(_control_characters)
]
# Free text (a description): line breaks and tabs are fine, other control characters are not.
Text = Annotated[str, AfterValidator(_text)]
PolicyIdentity = Annotated[
    str, AfterValidator(_control_characters), AfterValidator(_policy_identity)
]
VerificationLevel = Annotated[
    Literal["AlwaysVerifiable", "AlwaysUnverifiable", "UseSourceVerification"],
    _enum("verification level", VERIFICATION_LEVELS),
]
RoutingMethod = Annotated[
    Literal["UseDnsSrvRouting", "UseDefaultRouting"], _enum("routing method", ROUTING_METHODS)
]
# UInt32 in Lync, but PSRP carries Python ints as Int32, so the upper bound is Int32's.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
