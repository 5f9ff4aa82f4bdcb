"""PowerShell parameter binding, shared by every emulated cmdlet.

Each cmdlet declares its parameters once, as a table of :class:`Param` rows; :func:`bind`
applies PowerShell's rules to a statement's wire parameters so that every cmdlet gets the
same behaviour for free: case-insensitive names, aliases and unambiguous prefixes, positional
arguments, switches, parameter sets, mandatory parameters, null and empty checks, type
conversion with PowerShell's own error texts, and the common parameters. The errors are
``ParameterBindingException`` records, terminating, as PowerShell raises them before the
cmdlet's body runs.

A row may exist only on some server versions (``since`` / ``until``): on the others the
parameter is simply not there, so naming it fails with ``NamedParameterNotFound`` as it would
on that product. Each cmdlet's table cites the doc page whose syntax blocks and parameter
sections (``Parameter Sets``, ``Required``, ``Position``, ``Aliases``, ``Applicable``) it
transcribes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lync_emulator.cmdlets.errors import CmdletError, binding_error
from lync_emulator.invocation import UInt32, UInt64
from lync_emulator.versions import ServerVersion

Converter = Callable[[str, Any], Any]


@dataclass(frozen=True)
class ParamType:
    """A .NET parameter type: its name for messages and how a wire value converts to it.

    ``wrap`` is the seam wrapper (UInt32/UInt64) used when a stored value of this type is
    written back to the output, so the front serializes it with its real CLIXML type.
    ``nullable`` is False for value types and identities, which refuse ``$null``.
    """

    dotnet: str
    convert: Converter
    nullable: bool = True
    wrap: type[int] | None = None


def _value_text(value: Any) -> str:
    """How PowerShell quotes a value inside a conversion error."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _cannot_convert(name: str, value: Any, dotnet: str, reason: str) -> CmdletError:
    return binding_error(
        f"Cannot bind parameter '{name}'. Cannot convert value \"{_value_text(value)}\" to "
        f'type "{dotnet}". Error: "{reason}"',
        "CannotConvertArgumentNoMessage",
        target=_value_text(value),
    )


def _to_string(name: str, value: Any) -> str:
    # PowerShell turns scalars into their string form and arrays into space-joined text.
    if isinstance(value, list):
        return " ".join(_value_text(item) for item in value)
    if isinstance(value, dict):
        raise _cannot_convert(
            name, "System.Collections.Hashtable", "System.String", "Invalid cast."
        )
    return _value_text(value)


def _to_boolean(name: str, value: Any) -> bool:
    # [bool] parameters are strict: strings (even "True") are refused, numbers are accepted.
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    kind = "System.String" if isinstance(value, str) else type(value).__name__
    raise binding_error(
        f"Cannot process argument transformation on parameter '{name}'. Cannot convert value "
        f'"{kind}" to type "System.Boolean". Boolean parameters accept only Boolean values '
        "and numbers, such as $True, $False, 1 or 0.",
        "ParameterArgumentTransformationError",
        target=_value_text(value),
        category="InvalidData",
    )


def _unsigned(wrapper: type[int], dotnet: str, maximum: int) -> Converter:
    def convert(name: str, value: Any) -> int:
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, int):
            number = value
        elif isinstance(value, str) and value.strip().lstrip("+").isdigit():
            number = int(value.strip())
        else:
            raise _cannot_convert(name, value, dotnet, "Input string was not in a correct format.")
        if not 0 <= number <= maximum:
            raise _cannot_convert(
                name, value, dotnet, f"Value was either too large or too small for a {dotnet[7:]}."
            )
        return wrapper(number)

    return convert


def _to_switch(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _cannot_convert(
        name,
        value,
        "System.Management.Automation.SwitchParameter",
        "Only Boolean values can be given to a switch parameter.",
    )


def _to_string_array(name: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [_to_string(name, item) for item in items]


def _to_identity(name: str, value: Any) -> str:
    text = _to_string(name, value)
    if not text:
        raise binding_error(
            f"Cannot bind argument to parameter '{name}' because it is an empty string.",
            "ParameterArgumentValidationErrorEmptyStringNotAllowed",
            category="InvalidData",
        )
    return text


def _to_psobject(name: str, value: Any) -> dict[str, Any]:
    # -Instance: the front hands a deserialized object over as a dict of its properties.
    if isinstance(value, dict):
        return value
    raise _cannot_convert(
        name, value, "System.Management.Automation.PSObject", "Expected an object."
    )


STRING = ParamType("System.String", _to_string)
STRING_ARRAY = ParamType("System.String[]", _to_string_array, nullable=False)
BOOLEAN = ParamType("System.Boolean", _to_boolean, nullable=False)
UINT32 = ParamType("System.UInt32", _unsigned(UInt32, "System.UInt32", 2**32 - 1), False, UInt32)
UINT64 = ParamType("System.UInt64", _unsigned(UInt64, "System.UInt64", 2**64 - 1), False, UInt64)
INT32 = ParamType("System.Int32", _unsigned(int, "System.Int32", 2**31 - 1), nullable=False)
SWITCH = ParamType("System.Management.Automation.SwitchParameter", _to_switch, nullable=False)
PSOBJECT = ParamType("System.Management.Automation.PSObject", _to_psobject, nullable=False)


def identity_type(dotnet: str) -> ParamType:
    """A Lync identity type (XdsIdentity, UserIdParameter ...): a non-empty, non-null string."""
    return ParamType(dotnet, _to_identity, nullable=False)


def enum_type(dotnet: str, values: Sequence[str]) -> ParamType:
    """A .NET enum, bound case-insensitively and returned in its canonical spelling."""
    by_folded = {value.casefold(): value for value in values}

    def convert(name: str, value: Any) -> str:
        if isinstance(value, str) and value.strip().casefold() in by_folded:
            return by_folded[value.strip().casefold()]
        raise _cannot_convert(
            name,
            value,
            dotnet,
            f"Unable to match the identifier name {_value_text(value)} to a valid enumerator "
            "name. Specify one of the following enumerator names and try again:\r\n"
            + ", ".join(values),
        )

    return ParamType(dotnet, convert, nullable=False)


@dataclass(frozen=True)
class Param:
    """One row of a cmdlet's parameter table.

    ``sets`` names the parameter sets the parameter belongs to (None: all of them), and
    ``mandatory`` holds in each of them; ``position`` is the documented Position (only the
    order among a cmdlet's positional parameters matters); ``default`` is the documented
    default, used to seed new objects; ``value_range`` is a ValidateRange attribute;
    ``aliases`` are the documented Aliases. ``since`` and ``until`` bound the server versions
    that have the parameter (None: every version the emulator knows, 2013 being the first).
    ``allow_null`` is PowerShell's AllowNull attribute: a mandatory parameter that must be
    given but may be given ``$null``.
    """

    name: str
    type: ParamType
    mandatory: bool = False
    position: int | None = None
    sets: frozenset[str] | None = None
    default: Any = None
    value_range: tuple[int, int] | None = None
    aliases: tuple[str, ...] = ()
    since: ServerVersion | None = None
    until: ServerVersion | None = None
    allow_null: bool = False

    @property
    def is_switch(self) -> bool:
        """Switches bind ``$true`` when named without a value."""
        return self.type is SWITCH

    def in_set(self, set_name: str) -> bool:
        """Whether the parameter may be used in that parameter set."""
        return self.sets is None or set_name in self.sets

    def exists_on(self, version: ServerVersion) -> bool:
        """Whether that server version's cmdlet has this parameter at all."""
        after_start = self.since is None or version.rank >= self.since.rank
        before_end = self.until is None or version.rank <= self.until.rank
        return after_start and before_end


ACTION_PREFERENCE = enum_type(
    "System.Management.Automation.ActionPreference",
    ("SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend"),
)

# Every cmdlet accepts these; the *Variable ones are inert on a NoLanguage endpoint.
COMMON_PARAMETERS: tuple[Param, ...] = (
    Param("Verbose", SWITCH),
    Param("Debug", SWITCH),
    Param("ErrorAction", ACTION_PREFERENCE),
    Param("WarningAction", ACTION_PREFERENCE),
    Param("InformationAction", ACTION_PREFERENCE),
    Param("ErrorVariable", STRING),
    Param("WarningVariable", STRING),
    Param("InformationVariable", STRING),
    Param("OutVariable", STRING),
    Param("OutBuffer", INT32),
    Param("PipelineVariable", STRING),
)


@dataclass
class Bound:
    """The result of binding: values by canonical parameter name, and the chosen set."""

    values: dict[str, Any] = field(default_factory=dict)
    parameter_set: str = ""

    def has(self, name: str) -> bool:
        """Whether the caller gave the parameter (switches only when ``$true``)."""
        return name in self.values and self.values[name] is not False

    def get(self, name: str, default: Any = None) -> Any:
        """The bound value, or ``default`` when the caller did not give the parameter."""
        return self.values.get(name, default)


def _resolve_name(params: Sequence[Param], given: str) -> Param:
    # An exact name or alias wins; otherwise a prefix of names and aliases, which is
    # ambiguous only when it leads to two different parameters.
    folded = given.casefold()
    for param in params:
        if folded in (name.casefold() for name in (param.name, *param.aliases)):
            return param
    matches = [
        param
        for param in params
        if any(name.casefold().startswith(folded) for name in (param.name, *param.aliases))
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = " ".join(f"-{param.name}" for param in matches)
        raise binding_error(
            f"Parameter cannot be processed because the parameter name '{given}' is ambiguous. "
            f"Possible matches include: {names}.",
            "AmbiguousParameter",
            target=given,
        )
    raise binding_error(
        f"A parameter cannot be found that matches parameter name '{given}'.",
        "NamedParameterNotFound",
        target=given,
    )


def _convert(param: Param, value: Any) -> Any:
    if value is None:
        if param.is_switch:
            return True
        if (param.mandatory and not param.allow_null) or not param.type.nullable:
            raise binding_error(
                f"Cannot bind argument to parameter '{param.name}' because it is null.",
                "ParameterArgumentValidationErrorNullNotAllowed",
                category="InvalidData",
            )
        return None
    converted = param.type.convert(param.name, value)
    if param.value_range is not None:
        _check_range(param.name, converted, *param.value_range)
    return converted


def convert_value(param: Param, value: Any) -> Any:
    """Convert one value as binding would (used for the properties of an -Instance)."""
    return _convert(param, value)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if low <= value <= high:
        return
    if value < low:
        detail = (
            f"less than the minimum allowed range of {low}. Supply an argument that is "
            f"greater than or equal to {low}"
        )
    else:
        detail = (
            f"greater than the maximum allowed range of {high}. Supply an argument that is "
            f"less than or equal to {high}"
        )
    raise binding_error(
        f"Cannot validate argument on parameter '{name}'. The {value} argument is {detail} "
        "and then try the command again.",
        "ParameterArgumentValidationError",
        category="InvalidData",
    )


def _choose_set(sets: Sequence[str], bound: Iterable[Param]) -> str:
    given = list(bound)
    candidates = [name for name in sets if all(param.in_set(name) for param in given)]
    if not candidates:
        raise binding_error(
            "Parameter set cannot be resolved using the specified named parameters.",
            "AmbiguousParameterSet",
        )
    # PowerShell falls back to the default set (declared first) when several remain.
    return candidates[0]


def bind(
    params: Sequence[Param],
    sets: Sequence[str],
    arguments: Sequence[tuple[str | None, Any]],
    *,
    version: ServerVersion,
) -> Bound:
    """Bind a statement's arguments to a cmdlet's parameter table, or raise CmdletError.

    Only the rows that exist on ``version`` take part, as if the others were never declared.
    """
    params = [param for param in params if param.exists_on(version)]
    table = [*params, *COMMON_PARAMETERS]
    bound: dict[str, tuple[Param, Any]] = {}
    positional: list[Any] = []
    for name, value in arguments:
        if name is None:
            positional.append(value)
            continue
        param = _resolve_name(table, name.lstrip("-"))
        if param.name in bound:
            raise binding_error(
                f"Cannot bind parameter because parameter '{param.name}' is specified more "
                "than once. To provide multiple values to parameters that can accept multiple "
                'values, use the array syntax. For example, "-parameter value1,value2,value3".',
                "ParameterAlreadyBound",
                target=param.name,
            )
        bound[param.name] = (param, _convert(param, value))
    named_set = _choose_set(sets, (param for param, _ in bound.values()))
    slots = sorted(
        (
            p
            for p in params
            if p.position is not None and p.name not in bound and p.in_set(named_set)
        ),
        key=lambda p: p.position or 0,
    )
    for index, value in enumerate(positional):
        if index >= len(slots):
            raise binding_error(
                f"A positional parameter cannot be found that accepts argument "
                f"'{_value_text(value)}'.",
                "PositionalParameterNotFound",
                target=_value_text(value),
            )
        bound[slots[index].name] = (slots[index], _convert(slots[index], value))
    chosen = _choose_set(sets, (param for param, _ in bound.values()))
    missing = [p.name for p in params if p.mandatory and p.in_set(chosen) and p.name not in bound]
    if missing:
        raise binding_error(
            "Cannot process command because of one or more missing mandatory parameters: "
            f"{' '.join(missing)}.",
            "MissingMandatoryParameter",
        )
    return Bound({name: value for name, (_, value) in bound.items()}, chosen)
