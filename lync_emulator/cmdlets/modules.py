"""Import-Module, as far as a client needs it: loading the Lync module is a no-op.

On a plain WinRM endpoint (an Edge, or a local shell) the Lync cmdlets appear only after
``Import-Module Lync``, so clients send it first; the emulator's cmdlets are always loaded.
The front end's OcsPowershell endpoint is a restricted runspace without Import-Module, so
the command does not exist there.

Parameters: a subset of the Name set of PowerShell's own page (MicrosoftDocs/PowerShell-Docs
reference/5.1/Microsoft.PowerShell.Core/Import-Module.md: ``[-Name] <String[]>``,
mandatory, Position 0); its other sets and parameters are refused as unknown.
"""

from __future__ import annotations

from lync_emulator.cmdlets.base import Cmdlet, Invocation
from lync_emulator.cmdlets.binding import STRING_ARRAY, SWITCH, Param
from lync_emulator.cmdlets.errors import CmdletError
from lync_emulator.invocation import Role

KNOWN_MODULES = frozenset({"lync"})


def _import(inv: Invocation) -> None:
    for name in inv.bound.get("Name"):
        if name.casefold() not in KNOWN_MODULES:
            inv.error(
                CmdletError(
                    f"The specified module '{name}' was not loaded because no valid module "
                    "file was found in any module directory.",
                    "Modules_ModuleNotFound",
                    "ResourceUnavailable",
                    target=name,
                    exception_type="System.IO.FileNotFoundException",
                    terminating=False,
                )
            )


CMDLETS: tuple[Cmdlet, ...] = (
    Cmdlet(
        "Import-Module",
        "Microsoft.PowerShell.Commands.ImportModuleCommand",
        (
            Param("Name", STRING_ARRAY, mandatory=True, position=0),
            Param("Force", SWITCH),
            Param("Global", SWITCH),
            Param("DisableNameChecking", SWITCH),
            Param("PassThru", SWITCH),
        ),
        _import,
        needs_cms=False,
        roles=frozenset({Role.EDGE, Role.LOCAL}),
    ),
)
