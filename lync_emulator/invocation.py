"""The seam between the emulator's protocol front and its Lync state model.

The front (HTTP, auth, WS-Management, PSRP) turns a PSRP CreatePipeline into a list of
:class:`Statement` values holding plain Python data, hands them to the state model's
``invoke``, and turns the :class:`InvocationResult` back into PSRP messages. The state model
never sees XML, sockets or psrpcore types, and the front never sees Lync semantics: like
moto's split of a service into models and responses, each side can be tested alone.

Values crossing this seam are plain Python: ``None``, ``bool``, ``int``, ``str``,
``datetime``, lists and dicts of those, plus the two unsigned wrappers below so that the
front can serialize Lync's UInt32/UInt64 properties with their real CLIXML types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Role(StrEnum):
    """Which server a request reached.

    ``frontend`` is the pool's OcsPowershell endpoint, where writes go to the Central
    Management Store. ``edge`` is the Edge server's WinRM endpoint, whose store is a
    read-only replica. ``local`` is a cmdlet typed on the server itself (tests use it for
    out-of-band changes, as an administrator in the Management Shell would make them).
    """

    FRONTEND = "frontend"
    EDGE = "edge"
    LOCAL = "local"


class UInt32(int):
    """An int the front serializes as CLIXML ``<U32>``."""


class UInt64(int):
    """An int the front serializes as CLIXML ``<U64>``."""


@dataclass(frozen=True)
class Statement:
    """One PowerShell statement: a single command with its parameters.

    ``parameters`` keeps the wire order. A name of ``None`` marks a positional argument. A
    named parameter sent without a value (pypsrp's ``add_parameter("Force")``) arrives as
    ``None``; the state model decides whether that is a switch (``$true``) or ``$null``.
    ``piped_commands`` counts further commands piped after this one in the same statement;
    the state model refuses pipelines, which the library never sends.
    """

    command: str
    parameters: list[tuple[str | None, Any]] = field(default_factory=list)
    is_script: bool = False
    piped_commands: int = 0


@dataclass
class LyncObject:
    """An object written to the output stream.

    ``type_names`` is most-derived first and excludes ``System.Object``, which the front
    appends (pypsrp needs it to build a complex object). ``properties`` are adapted
    properties in display order; enums are plain strings, as remoting sends them.
    """

    type_names: list[str]
    properties: dict[str, Any]
    to_string: str


@dataclass
class ErrorInfo:
    """An ErrorRecord as Lync would write it.

    ``category`` is the name of a ``System.Management.Automation.ErrorCategory`` member
    (``ObjectNotFound``, ``ResourceExists``, ``InvalidArgument``, ``PermissionDenied``,
    ``InvalidOperation``, ``WriteError``, ``ObjectNotFound`` ...).
    """

    message: str
    fully_qualified_error_id: str
    category: str
    target: str | None = None
    exception_type: str = "System.Management.Automation.RuntimeException"
    # ErrorCategoryInfo.Activity: "by default, the name of the cmdlet" that wrote the record
    # (learn.microsoft.com, System.Management.Automation.ErrorCategoryInfo.Activity), so in a
    # pipeline of several statements it says which one failed; empty when no cmdlet did (a
    # command that does not exist). None: not said, and the front uses the pipeline's
    # first command.
    activity: str | None = None


@dataclass
class InvocationResult:
    """What one pipeline produced.

    ``errors`` are non-terminating error records; ``terminating`` fails the whole pipeline
    (PSRP state Failed), after whatever output and errors came before it.
    """

    output: list[LyncObject] = field(default_factory=list)
    errors: list[ErrorInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    terminating: ErrorInfo | None = None


@dataclass(frozen=True)
class Caller:
    """Who is invoking: the authenticated account and its Lync RBAC role.

    ``CsAdministrator`` may run everything; ``CsViewOnlyAdministrator`` only ``Get-``
    cmdlets, so tests can provoke an access-denied error.
    """

    username: str
    rbac_role: str = "CsAdministrator"


class ServiceFaults(Protocol):
    """Fault switches only the state model can honour: they need to know the cmdlets."""

    def fail_invocation(self, cmdlet: str, nth: int = 1, *, terminating: bool = True) -> None:
        """The ``nth`` next invocation of ``cmdlet`` fails, with a terminating error or not."""
        ...

    def fail_write(self, nth: int = 1) -> None:
        """The ``nth`` next invocation of any writing cmdlet fails, applying nothing."""
        ...

    def clear(self) -> None:
        """No invocation fails any more."""
        ...


class CmdletService(Protocol):
    """What the protocol front needs from the state model."""

    @property
    def faults(self) -> ServiceFaults:
        """The state model's fault switches; the same object across :meth:`restarted`."""
        ...

    def invoke(self, role: Role, statements: list[Statement], caller: Caller) -> InvocationResult:
        """Run the statements in order, as one PowerShell pipeline would."""
        ...

    def restarted(self) -> CmdletService:
        """The state model as the server process has it after a restart."""
        ...
