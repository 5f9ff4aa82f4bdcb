"""Conversions between psrpcore's CLIXML-backed values and the seam's plain Python data.

Incoming parameters arrive as psrpcore subclasses of the builtins (``PSString``, ``PSInt``,
``PSList``, ``PSDict`` ...); the state model must see plain ``str``/``int``/``list``/``dict``
so it never depends on psrpcore. Outgoing :class:`LyncObject` and :class:`ErrorInfo` values
become the PSObjects and ErrorRecords a real remoting server would send.
"""

from __future__ import annotations

import datetime
from typing import Any

from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSNoteProperty,
    PSObject,
    PSUInt,
    PSUInt64,
)
from psrpcore.types._serializer import _serialize_string  # pinned psrpcore 0.3.1

from lync_emulator.invocation import ErrorInfo, LyncObject, Statement, UInt32, UInt64


def to_plain(value: Any) -> Any:
    """Strip psrpcore types down to the builtins the state model works with.

    ``bool`` is tested before ``int`` (it is one); a complex object the client built itself
    becomes a dict of its properties, which is how PowerShell would bind it to a hashtable.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime.datetime):
        return datetime.datetime.fromtimestamp(value.timestamp(), value.tzinfo)
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, PSObject):
        props = [*value.PSObject.adapted_properties, *value.PSObject.extended_properties]
        return {prop.name: to_plain(prop.get_value(value)) for prop in props}
    return str(value)


def statements_from(commands: list[Any]) -> list[Statement]:
    """Group psrpcore ``Command`` objects into statements, one per ``end_of_statement``.

    Commands piped after the first in a statement are counted, not passed: the state model
    refuses pipelines, and the library never sends them.
    """
    statements: list[Statement] = []
    current: list[Any] = []
    for command in commands:
        current.append(command)
        if command.end_of_statement or command is commands[-1]:
            head = current[0]
            statements.append(
                Statement(
                    command=str(head.command_text),
                    parameters=[
                        (None if name is None else str(name), to_plain(value))
                        for name, value in head.parameters
                    ],
                    is_script=bool(head.is_script),
                    piped_commands=len(current) - 1,
                )
            )
            current = []
    return statements


def to_clixml(value: Any) -> Any:
    """Give plain values the CLIXML types Lync uses; psrpcore serializes the rest itself."""
    if isinstance(value, UInt32):
        return PSUInt(value)
    if isinstance(value, UInt64):
        return PSUInt64(value)
    if isinstance(value, LyncObject):
        return to_psobject(value)
    if isinstance(value, dict):
        return {k: to_clixml(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_clixml(v) for v in value]
    return value


def to_psobject(obj: LyncObject) -> PSObject:
    """A Lync object as remoting sends it: raw .NET type names ending in System.Object.

    pypsrp builds a complex object only if it recognises a type name, hence the trailing
    ``System.Object``; no ``Deserialized.`` prefix, which only the PowerShell client adds.
    """
    ps = PSObject()
    ps.PSObject.type_names = [*obj.type_names, "System.Object"]
    adapted = ps.PSObject.adapted_properties
    for name, value in obj.properties.items():
        # PSNoteProperty(name, value) builds a throwaway PSObject to set the value on;
        # setting it on the object being built skips that, half the cost of a property.
        prop = PSNoteProperty(name)
        prop.set_value(to_clixml(value), ps)
        adapted.append(prop)
    ps.PSObject.to_string = clixml_to_string(obj.to_string)
    return ps


def clixml_to_string(text: str) -> str:
    """A ``<ToString>`` value encoded as MS-PSRP requires (2.2.5.2.4: "Contents of the
    string MUST be encoded as described in section 2.2.5.3.2").

    psrpcore encodes every ``<S>`` that way but writes ``<ToString>`` raw, so a control
    character (BEL, ESC, NUL) made the whole message invalid XML and a literal ``_x0041_``
    read back as ``A``. Encoded here, control characters travel as ``_xHHHH_`` and the
    underscore of a literal ``_x`` as ``_x005F_``, as Windows PowerShell's serializer writes
    them; the client decodes both.
    """
    return _serialize_string(text)


def error_record(error: ErrorInfo, activity: str) -> ErrorRecord:
    """An ErrorRecord carrying what clients classify on: FQID, category, exception type.

    Write it with ``prepare_message``: psrpcore's ``write_error`` builds a record of its own
    and would lose the encoded ToString.
    """
    exception = NETException(Message=error.message, HResult=-2146233087)
    exception.PSObject.type_names = [
        error.exception_type,
        *(["System.Exception"] if error.exception_type != "System.Exception" else []),
        "System.Object",
    ]
    category = ErrorCategory.__members__.get(error.category, ErrorCategory.NotSpecified)
    record = ErrorRecord(
        Exception=exception,
        CategoryInfo=ErrorCategoryInfo(
            Category=category,
            Activity=activity,
            Reason=error.exception_type.rsplit(".", 1)[-1],
            TargetName=error.target or "",
            TargetType="String" if error.target is not None else "",
        ),
        TargetObject=error.target,
        FullyQualifiedErrorId=error.fully_qualified_error_id,
    )
    # An ErrorRecord's ToString is its message (PowerShell's ErrorRecord.ToString()).
    record.PSObject.to_string = clixml_to_string(error.message)
    return record
