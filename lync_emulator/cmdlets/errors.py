"""Error records the emulated cmdlets raise, modelled on Lync's and PowerShell's.

A cmdlet body raises :class:`CmdletError`; the service turns it into an
:class:`~lync_emulator.invocation.ErrorInfo` and appends the cmdlet's .NET class to the
FullyQualifiedErrorId (``ItemNotFound,Microsoft.Rtc.Management.Internal.SetHostingProviderCmdlet``)
the way PowerShell does, so the factories below need not know which cmdlet they run in.
Clients classify by the id and the category, so those are the stable part; the messages
follow Lync's wording where a source gives it and are invented consistently where not.
"""

from __future__ import annotations

from dataclasses import dataclass

from lync_emulator.invocation import ErrorInfo

MANAGEMENT_EXCEPTION = "Microsoft.Rtc.Management.ManagementException"
BINDING_EXCEPTION = "System.Management.Automation.ParameterBindingException"


@dataclass
class CmdletError(Exception):
    """A failure of one cmdlet invocation.

    ``error_id`` is the FQID without the cmdlet class; ``qualified`` says the id is already
    complete (engine errors such as ``CommandNotFoundException`` carry no class).
    ``terminating`` distinguishes ``ThrowTerminatingError`` from ``WriteError``.
    """

    message: str
    error_id: str
    category: str
    target: str | None = None
    exception_type: str = MANAGEMENT_EXCEPTION
    terminating: bool = True
    qualified: bool = False

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_info(self, class_name: str | None) -> ErrorInfo:
        """The error record, its FQID suffixed with ``class_name`` unless already complete."""
        fqid = self.error_id
        if class_name and not self.qualified:
            fqid = f"{fqid},{class_name}"
        return ErrorInfo(
            message=self.message,
            fully_qualified_error_id=fqid,
            category=self.category,
            target=self.target,
            exception_type=self.exception_type,
        )


def not_found(type_name: str, identity: str, *, terminating: bool = True) -> CmdletError:
    """No object of ``type_name`` has that identity."""
    return CmdletError(
        f'Cannot get instance of "{type_name}" with identity "{identity}" because it does '
        "not exist.",
        "ItemNotFound",
        "ObjectNotFound",
        target=identity,
        terminating=terminating,
    )


def user_not_found(identity: str, *, terminating: bool = True) -> CmdletError:
    """No user matches; the wording is the one Lync's AD cmdlets use over remoting."""
    return CmdletError(
        f'Management object not found for identity "{identity}".',
        "ManagementObjectNotFound",
        "ObjectNotFound",
        target=identity,
        terminating=terminating,
    )


def already_exists(type_name: str, identity: str) -> CmdletError:
    """New-* with an identity that is taken (the docs say it fails; the text is modelled)."""
    return CmdletError(
        f'Cannot create "{type_name}" with identity "{identity}" because an item with that '
        "identity already exists.",
        "DuplicateIdentity",
        "ResourceExists",
        target=identity,
    )


def invalid_argument(message: str, error_id: str, target: str | None = None) -> CmdletError:
    """A value the cmdlet refuses after binding succeeded."""
    return CmdletError(message, error_id, "InvalidArgument", target=target)


def invalid_operation(message: str, error_id: str, target: str | None = None) -> CmdletError:
    """A request that conflicts with the current state of the store."""
    return CmdletError(message, error_id, "InvalidOperation", target=target)


def binding_error(
    message: str, error_id: str, target: str | None = None, category: str = "InvalidArgument"
) -> CmdletError:
    """A ParameterBindingException: always terminating, raised before the cmdlet runs."""
    return CmdletError(message, error_id, category, target=target, exception_type=BINDING_EXCEPTION)
