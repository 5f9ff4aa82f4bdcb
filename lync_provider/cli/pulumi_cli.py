"""The Pulumi CLI that ``./run deploy`` and ``./run pulumi`` drive, found the same way for both.

1. ``pulumi`` on PATH, as the Automation API itself would run it (its version checked by
   ``PulumiCommand`` against the SDK's minimum, 3.1.0, and its major version).
2. Else the project's own install, ``.pulumi-cli/bin/pulumi``, reused as it is when it is at
   least the version of the pinned SDK.
3. Else ``PulumiCommand.install`` puts that version there (get.pulumi.com's install script),
   announced in one line first. When it cannot (offline), one line says so with the manual
   install command, and the caller starts nothing.

What ``PulumiCommand.install`` can raise (pulumi 3.272, ``pulumi/automation/_cmd.py``): it
first tries ``PulumiCommand(root=...)`` and swallows any failure, then ``_install_posix``
(``_install_windows``) downloads the script with ``urllib.request.urlopen`` (``URLError``,
an ``OSError``; a read cut short is ``http.client.HTTPException``), runs it with
``subprocess.check_output`` (``CalledProcessError``, or ``OSError`` if it cannot be executed),
and validates the result with ``PulumiCommand(root=...)``: ``pulumi version`` through
``check_output`` (``FileNotFoundError`` when nothing was installed, ``CalledProcessError``)
and ``InvalidVersionError`` for a version below the requested one.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from pulumi.automation import InvalidVersionError, PulumiCommand
from semver import VersionInfo

CLI_DIR = ".pulumi-cli"
DOCS = "https://www.pulumi.com/docs/install/"

# Everything PulumiCommand(...) and PulumiCommand.install(...) raise when a CLI cannot be run
# or had: see the module docstring. Anything else is a bug and is not caught.
CLI_FAILURES: tuple[type[Exception], ...] = (
    OSError,  # urllib's URLError and HTTPError, a missing or unexecutable binary or script
    http.client.HTTPException,  # the download cut short (IncompleteRead)
    subprocess.CalledProcessError,  # the install script or `pulumi version` failed
    InvalidVersionError,  # a version below the SDK's, or of another major version
)


class PulumiCliError(Exception):
    """No usable Pulumi CLI; the message is the one line to print."""


def sdk_version() -> VersionInfo:
    """The pinned Pulumi SDK's version: the CLI version ``PulumiCommand.install`` installs by
    default (``pulumi._version.version``), read through the package's public metadata."""
    return VersionInfo.parse(importlib.metadata.version("pulumi"))


def cli_root(project_dir: Path) -> Path:
    """Where the project's own CLI is installed (its binary is ``bin/pulumi`` below)."""
    return project_dir.resolve() / CLI_DIR


def manual_install(version: VersionInfo, root: Path) -> str:
    """How to install the same version by hand, where the next run looks (the script's
    default, ~/.pulumi, is on no PATH of the shell that ran it)."""
    return (
        f"`curl -fsSL https://get.pulumi.com | sh -s -- --version {version} "
        f"--install-root {shlex.quote(str(root))}` "
        f"(Windows: `winget install pulumi --version {version}`; see {DOCS})"
    )


def one_line(err: BaseException) -> str:
    """An exception as one short line."""
    if isinstance(err, subprocess.CalledProcessError):
        output = err.output.decode(errors="replace") if isinstance(err.output, bytes) else ""
        last = [line.strip() for line in output.splitlines() if line.strip()]
        cmd = [str(part) for part in err.cmd] if isinstance(err.cmd, list) else [str(err.cmd)]
        what = f"`{cmd[0]} version`" if cmd[-1] == "version" else "the installer"
        text = f"{what} exited with status {err.returncode}"
        return f"{text}: {last[-1]}" if last else text
    return " ".join(str(err).split()) or type(err).__name__


def _on_path(environ: Mapping[str, str]) -> str | None:
    return shutil.which("pulumi", path=environ.get("PATH", ""))


def _command_for(executable: str) -> PulumiCommand:
    """A PulumiCommand that runs exactly ``executable`` (``PulumiCommand(root)`` runs
    ``<root>/bin/pulumi``); one elsewhere is left to the SDK's own PATH lookup."""
    path = Path(executable)
    if path.parent.name == "bin" and path.name in {"pulumi", "pulumi.exe"}:
        return PulumiCommand(root=str(path.parent.parent))
    return PulumiCommand()


def find_or_install(
    project_dir: Path, environ: Mapping[str, str], who: str, announce: Callable[[str], None]
) -> PulumiCommand:
    """The CLI to use (see the module docstring); ``announce`` gets the line printed before an
    install. Raises PulumiCliError with one line when there is none."""
    version = sdk_version()
    executable = _on_path(environ)
    if executable is not None:
        try:
            return _command_for(executable)
        except CLI_FAILURES as err:
            raise PulumiCliError(
                f"{who}: the `pulumi` on PATH ({executable}) cannot be used: {one_line(err)}; "
                f"fix it or take it off PATH, and {who} installs Pulumi CLI {version} into "
                f"{CLI_DIR}/"
            ) from err
    root = cli_root(project_dir)
    why = "`pulumi` is not on PATH"
    if (root / "bin" / ("pulumi.exe" if os.name == "nt" else "pulumi")).exists():
        try:
            return PulumiCommand(root=str(root), version=version)
        except CLI_FAILURES as err:
            why = f"the one in {CLI_DIR}/ cannot be used ({one_line(err)})"
    announce(
        f"{who}: {why}; installing Pulumi CLI {version} (the pinned SDK's version) into "
        f"{CLI_DIR}/ from get.pulumi.com"
    )
    try:
        return PulumiCommand.install(root=str(root), version=version)
    except CLI_FAILURES as err:
        raise PulumiCliError(
            f"{who}: installing Pulumi CLI {version} into {CLI_DIR}/ failed ({one_line(err)}); "
            f"install it yourself with {manual_install(version, root)}, then run {who} again"
        ) from err
