"""Canonical forms of Lync identities, so that comparisons never report false drift.

Lync matches identities case-insensitively and shows policy scopes as ``Global``,
``Site:<name>`` and ``Tag:<name>``, while administrators type ``global``, ``site:X``,
``tag:X`` or a bare tag name. Both the values read from the server and the values a program
declares go through these functions before they are compared.
"""

from __future__ import annotations

_SCOPES = {"site": "Site", "tag": "Tag"}


class IdentityError(ValueError):
    """An identity with an unknown scope prefix."""


def canonical_policy_identity(identity: str) -> str:
    """``global`` → ``Global``, ``site:X`` → ``Site:X``, ``tag:X`` or ``X`` → ``Tag:X``."""
    text = identity.strip()
    if text.lower() == "global":
        return "Global"
    prefix, sep, name = text.partition(":")
    if not sep:
        return f"Tag:{text}"
    scope = _SCOPES.get(prefix.lower())
    if scope is None or not name:
        raise IdentityError(
            f"{identity!r}: a policy identity is 'Global', 'site:<site name>' or "
            "'tag:<policy name>'"
        )
    return f"{scope}:{name}"


def policy_scope(identity: str) -> str:
    """``Global``, ``Site`` or ``Tag`` for a policy identity."""
    canonical = canonical_policy_identity(identity)
    return canonical.split(":", 1)[0]


def tag_name(identity: str) -> str:
    """The name Grant-Cs*Policy expects: the tag identity without ``Tag:``."""
    canonical = canonical_policy_identity(identity)
    if not canonical.startswith("Tag:"):
        raise IdentityError(f"{identity!r} is not a per-user (tag) policy; only those are granted")
    return canonical[4:]


def same_identity(left: str | None, right: str | None) -> bool:
    """Lync compares identities without regard to case."""
    if left is None or right is None:
        return left is right
    return left.casefold() == right.casefold()
