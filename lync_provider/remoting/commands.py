"""Cmdlet calls as data: what to run, with which parameters, and how it is shown.

A :class:`CmdletCall` is never turned into PowerShell source. The session hands its name and
parameters to pypsrp's ``add_cmdlet`` / ``add_parameter``, which serialize them as PSRP
command objects (CLIXML values), so a quote, ``$()``, a backtick or a newline in a value is
data and never code. This module checks that each value has a PowerShell type that maps
cleanly, and renders calls for logs and errors with secret values redacted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
REDACTED: Final = "<redacted>"


class Switch:
    """A switch parameter, present without a value (``-LocalStore``)."""

    def __repr__(self) -> str:
        return "SWITCH"


SWITCH: Final = Switch()


@dataclass(frozen=True)
class Secret:
    """A parameter value that must never be logged or shown; it is sent as a string."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"


ParameterValue: TypeAlias = bool | int | str | Sequence[str] | Switch | Secret | None


@dataclass(frozen=True)
class CmdletCall:
    """One cmdlet with its named parameters, in the order they will be sent.

    ``None`` is sent as ``$null`` (e.g. ``Grant-CsExternalAccessPolicy -PolicyName $null``
    unassigns a policy); :data:`SWITCH` as a present switch; a ``bool`` as ``$true``/``$false``;
    an ``int`` as Int32 (larger values are refused rather than silently truncated); a
    sequence of strings as a string array.
    """

    cmdlet: str
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cmdlet or not self.cmdlet.replace("-", "").isalnum():
            raise ValueError(f"{self.cmdlet!r} is not a cmdlet name")
        for name, value in self.parameters.items():
            if not name or not name.isalnum():
                raise ValueError(f"{name!r} is not a parameter name")
            _check_value(self.cmdlet, name, value)

    @property
    def has_secrets(self) -> bool:
        """Whether any parameter value must stay out of every log."""
        return any(isinstance(value, Secret) for value in self.parameters.values())

    @property
    def is_read(self) -> bool:
        """Get- cmdlets change nothing, so they may be retried after a transport failure."""
        return self.cmdlet.lower().startswith("get-")

    def render(self) -> str:
        """The call as an administrator would read it, with secret values redacted."""
        parts = [self.cmdlet]
        for name, value in self.parameters.items():
            parts.append(f"-{name}" if isinstance(value, Switch) else f"-{name} {_show(value)}")
        return " ".join(parts)

    def wire_value(self, name: str) -> object:
        """The value handed to pypsrp for parameter ``name`` (secrets unwrapped).

        A switch goes as a parameter without a value, which PowerShell binds as present.
        """
        value = self.parameters[name]
        if isinstance(value, Switch):
            return None
        if isinstance(value, Secret):
            return value.value
        if isinstance(value, Sequence) and not isinstance(value, str):
            return list(value)
        return value


def _check_value(cmdlet: str, name: str, value: ParameterValue) -> None:
    if value is None or isinstance(value, bool | str | Switch | Secret):
        return
    if isinstance(value, int):
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(
                f"{cmdlet} -{name} {value}: outside Int32, which is how PSRP sends integers"
            )
        return
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return
    raise TypeError(f"{cmdlet} -{name}: unsupported value type {type(value).__name__}")


def quoted(text: str) -> str:
    """``text`` as a PowerShell single-quoted string: what an administrator would type,
    backslashes as they are (``'CONTOSO\\ghost'``, where Python's repr doubles them).

    Text holding a character a terminal would not show as itself (a control character, a
    right-to-left override) is shown as Python's repr instead, escapes visible, so that
    nothing in a message hides or reorders what surrounds it.
    """
    if not text.isprintable():
        return repr(text)
    return "'" + text.replace("'", "''") + "'"


def _show(value: ParameterValue) -> str:
    if isinstance(value, Secret):
        return REDACTED
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quoted(value)
    assert not isinstance(value, Switch)
    return ",".join(_show(item) for item in value)
