"""How the engine shows our resources to a policy pack, and how the providers read inputs.

Kinds are told apart by type token. Each resource class of lync_provider is declared
``class HostingProvider(LyncResource, module="lync", name="HostingProvider")``;
``pulumi.dynamic.Resource.__init_subclass__`` turns that into ``_resource_type_name =
"dynamic/lync:HostingProvider"`` and ``Resource.__init__`` registers the resource as
``f"pulumi-python:{_resource_type_name}"``. That string is the ``type`` of the
RegisterResourceRequest, of the URN, and of every AnalyzeRequest the engine sends the pack.
The serialized provider (``__provider``) would not help anyway: the engine marshals
properties for analyzers with ``SkipInternalKeys``, so no ``__``-key reaches a policy.

Inputs arrive with the snake_case names of the ``...Args`` dataclasses (a dynamic resource
does not translate property names). The helpers below read them the way the providers'
``check`` does, so a value the provider would accept cannot slip past a policy by its
spelling (``"TRUE"``, ``1``, ``"alwaysunverifiable "``).

This module imports nothing from lync_provider: the pack must start without the product's
dependencies and must not break when the product's modules move. The one rule copied,
:func:`canonical_policy_identity`, is checked against lync_provider's in tests/policy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

DYNAMIC_PREFIX = "pulumi-python:dynamic/lync:"


def dynamic_type(name: str) -> str:
    """The type token of a lync_provider resource class declared with ``name=name``."""
    return f"{DYNAMIC_PREFIX}{name}"


ACCESS_EDGE_CONFIG = dynamic_type("AccessEdgeConfig")
HOSTING_PROVIDER = dynamic_type("HostingProvider")
EXTERNAL_ACCESS_POLICY = dynamic_type("ExternalAccessPolicy")
EXTERNAL_ACCESS_POLICY_ASSIGNMENT = dynamic_type("ExternalAccessPolicyAssignment")
# The component's own type token (lync_provider/integration.py).
INTEGRATION = "lync:index:ExchangeOnlineIntegration"

EXCHANGE_ONLINE_IDENTITY = "Exchange Online"
# Microsoft's two documented ProxyFqdn values for the Exchange Online hosting provider.
EXCHANGE_ONLINE_PROXY_FQDNS = ("exap.um.outlook.com", "exap.um.partner.outlook.cn")

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_SCOPES = {"site": "Site", "tag": "Tag"}


def as_bool(value: Any) -> bool | None:
    """A boolean input as the provider's check reads it (pydantic's lax ``bool``): True or
    False, 1 or 0 (protobuf sends numbers as floats), or one of pydantic's words in any case.
    None when absent or not a boolean at all (the provider's check refuses that)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def same_word(value: Any, word: str) -> bool:
    """An enumerated input equals ``word`` as the provider's check matches it: trimmed and
    without regard to case (``_enum`` in lync_provider/resources/types.py)."""
    return isinstance(value, str) and value.strip().lower() == word.lower()


def fqdn(value: Any) -> str | None:
    """An FQDN as Lync compares it: trimmed, no trailing dot, without regard to case."""
    if not isinstance(value, str):
        return None
    return value.strip().rstrip(".").casefold()


def canonical_policy_identity(identity: Any) -> str | None:
    """``global`` → ``Global``, ``site:X`` → ``Site:X``, ``tag:X`` or ``X`` → ``Tag:X``
    (lync_provider's rule); None for what the provider's check would refuse."""
    if not isinstance(identity, str):
        return None
    text = identity.strip()
    if text.lower() == "global":
        return "Global"
    prefix, sep, name = text.partition(":")
    if not sep:
        return f"Tag:{text}"
    scope = _SCOPES.get(prefix.lower())
    if scope is None or not name:
        return None
    return f"{scope}:{name}"


def same_policy_identity(left: Any, right: Any) -> bool:
    """Two policy identities name the same policy: ``Tag:OWA``, ``tag:owa`` and ``OWA``
    are one (Lync compares identities without regard to case)."""
    a, b = canonical_policy_identity(left), canonical_policy_identity(right)
    return a is not None and b is not None and a.casefold() == b.casefold()


def declared_by_integration(urn: str) -> bool:
    """The resource is a direct child of an ExchangeOnlineIntegration component.

    A URN is ``urn:pulumi:<stack>::<project>::<parent types $ type>::<name>``; the last type
    but one in the chain is the parent's."""
    parts = urn.split("::", 3)
    if len(parts) < 4:
        return False
    types = parts[2].split("$")
    return len(types) >= 2 and types[-2] == INTEGRATION


def current_stack(environ: Mapping[str, str] | None = None) -> str | None:
    """The stack being previewed or updated, or None when the engine did not say.

    pulumi-policy 1.21 keeps only the stack's *tags* from the engine's ConfigureStack call.
    The stack name reaches a Python pack through its environment: the CLI starts the
    analyzer with PULUMI_STACK, PULUMI_PROJECT and PULUMI_DRY_RUN set (``constructEnv`` in
    pulumi's pkg/resource/plugin/analyzer_plugin.go), and pulumi-policy copies them into
    ``pulumi.runtime`` before each call. ``pulumi.get_stack()`` cannot tell "not given"
    from a stack named ``stack`` (its placeholder), so the variable is read directly.
    """
    env = os.environ if environ is None else environ
    return env.get("PULUMI_STACK") or None


def strings(config: Mapping[str, Any], key: str, default: Sequence[str]) -> list[str]:
    """A list-of-strings config value, or the default when it is absent."""
    value = config.get(key)
    if value is None:
        return list(default)
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]
