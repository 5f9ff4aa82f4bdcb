"""What the export tests share: a brownfield server, the export itself, and running the
program it wrote (under mocks, to capture its registrations) as the engine would."""

from __future__ import annotations

import io
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from lync_emulator.emulator import Emulator
from lync_provider.cli.export import export
from lync_provider.program.stack_file import StackFile
from lync_provider.program.stack_secrets import PASSPHRASE_ENV
from tests.program.mocks import Registration, run_program, unwrap
from tests.project.stacks import LOCAL_PASSPHRASE
from tests.support.engine import Declaration, Secret

ENV = {PASSPHRASE_ENV: LOCAL_PASSPHRASE}
# Identities no program should have to spell by hand: quotes of both kinds, a backslash,
# PowerShell's `$` and backtick, accents, a snowman and a Cyrillic letter.
AWKWARD_PROVIDER = 'Fabrikam "Lab" \\ O\'Brien $(x) `n – Zürich ☃ а'  # noqa: RUF001
AWKWARD_TAG = 'Tag:Night "Shift" \\ Ümlaut\'s'
AWKWARD_DESCRIPTION = 'Line one\nline "two"\t\\ end'
EXCHANGE_ONLINE = {
    "Identity": "Exchange Online",
    "ProxyFqdn": "EXAP.um.outlook.com",  # typed by hand; Lync compares FQDNs without case
    "Enabled": True,
    "EnabledSharedAddressSpace": True,
    "HostsOCSUsers": False,
    "IsLocal": False,
    "VerificationLevel": "UseSourceVerification",
}
HOLDERS = {
    "sip:alice@contoso.com": "OWA",
    "sip:bob@contoso.com": "OWA",
    "sip:carol@contoso.com": AWKWARD_TAG.removeprefix("Tag:"),
}


def without_lync_environment(patch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: no LYNC_* or passphrase variable from the developer's shell."""
    for name in [n for n in os.environ if n.startswith(("LYNC_", "PULUMI_CONFIG_PASSPHRASE"))]:
        patch.delenv(name)


def brownfield(emu: Emulator, *, federated: bool) -> None:
    """A server configured by hand: Exchange Online and a partner as hosting providers,
    the Global policy changed, a site policy, two tag policies, three users holding them."""
    if federated:
        emu.run_cmdlet("Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True)
    emu.run_cmdlet("New-CsHostingProvider", **EXCHANGE_ONLINE)
    emu.run_cmdlet(
        "New-CsHostingProvider",
        Identity=AWKWARD_PROVIDER,
        ProxyFqdn="sip.fabrikam.com",
        Enabled=False,
        EnabledSharedAddressSpace=False,
        HostsOCSUsers=True,
        VerificationLevel="AlwaysUnverifiable",
        AutodiscoverUrl="https://autodiscover.fabrikam.com/autodiscover.svc",
        SipClientPort=5061,
    )
    emu.run_cmdlet(
        "Set-CsExternalAccessPolicy",
        Identity="Global",
        EnableFederationAccess=True,
        EnableOutsideAccess=True,
        Description="Contoso default",
    )
    emu.run_cmdlet("New-CsExternalAccessPolicy", Identity="site:Redmond", EnableOutsideAccess=True)
    emu.run_cmdlet(
        "New-CsExternalAccessPolicy",
        Identity="tag:OWA",
        EnableOutsideAccess=True,
        Description="Outlook Web App users",
    )
    emu.run_cmdlet(
        "New-CsExternalAccessPolicy",
        Identity=AWKWARD_TAG,
        EnableFederationAccess=True,
        Description=AWKWARD_DESCRIPTION,
    )
    for user, tag in HOLDERS.items():
        emu.run_cmdlet("Grant-CsExternalAccessPolicy", Identity=user, PolicyName=tag)


@dataclass
class Exported:
    """One run of the command: its status, what it printed, and where it wrote."""

    status: int
    out: str
    err: str
    directory: Path
    files: dict[str, str] = field(default_factory=dict)

    @property
    def program(self) -> Path:
        return self.directory / "__main__.py"

    def stack_config(self) -> dict[str, str]:
        """The exported stack file, as Pulumi hands it to a program."""
        return StackFile.load(self.directory / "Pulumi.local.yaml").program_config({})


def run_export(
    project: Path,
    capsys: pytest.CaptureFixture[str] | None,
    *,
    users: bool = False,
    force: bool = False,
    out: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Exported:
    """``python -m lync_provider export --stack local`` in ``project``, output captured."""
    console = Console(file=io.StringIO(), width=200)
    status = export(
        project,
        "local",
        ENV if environ is None else environ,
        out=out,
        users=users,
        force=force,
        console=console,
    )
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    directory = out or project / "export" / "local"
    files = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(directory.glob("*"))
        if path.is_file()
    }
    printed = console.file.getvalue() + out  # type: ignore[attr-defined]
    return Exported(status, printed, err, directory, files)


def registrations(exported: Exported) -> list[Registration]:
    """What the generated program registers, run under mocks with its own stack file."""

    def program() -> None:
        runpy.run_path(str(exported.program), run_name="__main__")

    return run_program(exported.stack_config(), program=program).registrations


def declarations(registered: list[Registration]) -> list[Declaration]:
    """The registrations as the engine receives them (``__provider`` included)."""
    return [
        Declaration(r.name, r.typ, {k: unwrap(v) for k, v in r.inputs.items() if v is not None})
        for r in registered
    ]


def engine_config(exported: Exported, emu: Emulator) -> dict[str, str | Secret]:
    """The exported stack's configuration once `pulumi config set --secret lync:password`
    has been run, as the engine sends it."""
    return {**exported.stack_config(), "lync:password": Secret(emu.password)}
