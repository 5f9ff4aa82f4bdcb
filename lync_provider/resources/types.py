"""Validated input types shared by the resource specs, with messages a person understands."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from lync_provider.identities import canonical_policy_identity

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


def _policy_identity(value: str) -> str:
    return canonical_policy_identity(value)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Fqdn = Annotated[str, AfterValidator(_fqdn)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Name = Annotated[str, Field(max_length=256), AfterValidator(_not_blank)]
PolicyIdentity = Annotated[str, AfterValidator(_policy_identity)]
VerificationLevel = Annotated[
    Literal["AlwaysVerifiable", "AlwaysUnverifiable", "UseSourceVerification"],
    _enum("verification level", VERIFICATION_LEVELS),
]
RoutingMethod = Annotated[
    Literal["UseDnsSrvRouting", "UseDefaultRouting"], _enum("routing method", ROUTING_METHODS)
]
# UInt32 in Lync, but PSRP carries Python ints as Int32, so the upper bound is Int32's.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
