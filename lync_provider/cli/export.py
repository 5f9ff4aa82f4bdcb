"""``python -m lync_provider export --stack NAME [--out DIR] [--users] [--force]``: bring
existing configuration under code. Read-only.

It reads the stack's connection keys as ``check`` does (``stacks/Pulumi.<stack>.yaml``,
``secure:`` values decrypted with ``PULUMI_CONFIG_PASSPHRASE``, ``LYNC_*`` variables filling
what the file lacks) and nothing else: the stack may be one of any program, and need not
name an Edge (``check.load_connection``). It connects to the front end through the remoting
layer and runs only Get- cmdlets: Get-CsAccessEdgeConfiguration, Get-CsHostingProvider,
Get-CsExternalAccessPolicy and, with ``--users``, Get-CsUser. Then it writes, in DIR
(default ``export/<stack>`` in the project):

  __main__.py          a Pulumi program declaring every object as the server holds it
                       (what and how: lync_provider.cli.export_plan)
  Pulumi.yaml          its project (the source project's runtime)
  Pulumi.<stack>.yaml  the connection keys of the source stack and lync:serverVersion;
                       secrets are never copied: it names the `pulumi config set --secret`
                       commands to run instead

and prints what it exported and what to do next. Files that exist are not overwritten
without ``--force``.

Exit status: 0 written; 1 the files exist (nothing was read or written); 2 the configuration,
a connection or writing the files failed (a one-line reason on stderr; never a traceback or
a secret).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lync_provider.cli import export_render
from lync_provider.cli.check import (
    EXIT_CANNOT_CHECK,
    CheckConfigError,
    StackConnection,
    load_connection,
    one_line,
)
from lync_provider.cli.export_plan import Exported, ExportPlan, Live, plan
from lync_provider.program.stack_file import SECURE, StackFile, stack_path
from lync_provider.remoting import CmdletCall, LyncRemotingError, NotFoundError, Records
from lync_provider.remoting import session_for as open_session
from lync_provider.resources import ExternalAccessPolicyAssignment
from lync_provider.settings.connections import (
    KEYS,
    NAMESPACE,
    SECRET_KEYS,
    ConnectionConfigError,
)
from lync_provider.settings.endpoint import EndpointSettings

EXIT_FILES_EXIST = 1
EXIT_CANNOT_EXPORT = EXIT_CANNOT_CHECK
# Pulumi's rule for stack names, which here also name files.
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
PROGRAM = "__main__.py"
PROJECT = "Pulumi.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--stack",
        required=True,
        help="read stacks/Pulumi.<STACK>.yaml (secure values need PULUMI_CONFIG_PASSPHRASE "
        "or PULUMI_CONFIG_PASSPHRASE_FILE)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path(),
        help="the project whose stack is exported (default: the current directory)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="the directory to write to (default: export/<STACK> in the project directory)",
    )
    parser.add_argument(
        "--users",
        action="store_true",
        help="also read who holds each tag policy (Get-CsUser) and declare the assignments",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite the files of an earlier export"
    )


def read_live(settings: EndpointSettings, *, users: bool) -> Live:
    """The objects the front end holds, read with Get- cmdlets only (the session refuses
    anything else); a failure is the remoting layer's typed error."""
    session = open_session(settings)

    def read(cmdlet: str, **params: str) -> Records:
        try:
            return session.read(CmdletCall(cmdlet, params))
        except NotFoundError:
            return []

    try:
        return Live(
            access_edge=read("Get-CsAccessEdgeConfiguration", Identity="Global"),
            hosting_providers=read("Get-CsHostingProvider"),
            policies=read("Get-CsExternalAccessPolicy"),
            users=read("Get-CsUser") if users else None,
        )
    finally:
        session.close()


@dataclass(frozen=True)
class StackKeys:
    """What the exported stack file holds, and what it cannot."""

    config: dict[str, Any]
    secrets: list[str]
    from_environment: list[tuple[str, str]]

    def commands(self) -> list[str]:
        """The commands that set the secrets the file leaves out."""
        return [f"pulumi config set --secret {key}" for key in self.secrets]


def stack_keys(
    source: StackFile,
    config: StackConnection,
    environ: Mapping[str, str],
    project_dir: Path,
    out_dir: Path,
) -> StackKeys:
    """The source stack's connection keys as written (never a secret or a ``secure:``
    value), ``lync:serverVersion`` always; a relative caBundle re-based on ``out_dir``."""
    keys = StackKeys({}, [], [])
    for key, variable in KEYS.items():
        if key == "serverVersion":
            continue
        full = f"{NAMESPACE}:{key}"
        raw = source.config.get(full)
        if key in SECRET_KEYS or (isinstance(raw, dict) and SECURE in raw):
            if raw is not None or environ.get(variable):
                keys.secrets.append(full)
        elif raw is None:
            if environ.get(variable):
                keys.from_environment.append((full, variable))
        elif key == "caBundle" and isinstance(raw, str) and not Path(raw).is_absolute():
            keys.config[full] = raw if raw.startswith("~") else _rebased(raw, project_dir, out_dir)
        else:
            keys.config[full] = raw
    keys.config[f"{NAMESPACE}:serverVersion"] = config.server_version.value
    return keys


def _rebased(path: str, project_dir: Path, out_dir: Path) -> str:
    """A path relative to the source project, relative to ``out_dir`` instead (Pulumi runs
    a program, and its providers, in its project directory)."""
    return os.path.relpath((project_dir / path).resolve(), out_dir.resolve())


def _command(stack: str, users: bool) -> str:
    return f"python -m lync_provider export --stack {stack}{' --users' if users else ''}"


def program_header(stack: str, config: StackConnection, users: bool) -> list[str]:
    """The comment paragraphs at the top of the program."""
    frontend = config.connections.require_frontend().display_url
    version = config.server_version
    header = [
        f"Lync configuration exported from stack {stack} ({frontend}) by `{_command(stack, users)}`"
        f", read with Get- cmdlets only, for {version.label} (lync:serverVersion "
        f"{version.value}).",
        "Each declaration states the live value of every property it manages, so the first "
        "`pulumi up` takes the objects over without changing them. Hosting providers and site "
        "and tag policies exist already and say adopt=True; the Global access edge "
        "configuration and the Global policy are always taken over. `pulumi destroy` gives "
        "every object back the values it had, and removes none.",
    ]
    if users:
        header.append(
            "Each ExternalAccessPolicyAssignment lists the users who hold that tag policy now; "
            "destroy gives each of them back what they held."
        )
    else:
        header.append("Users were not read: with --users, export declares who holds each tag.")
    return header


def stack_header(stack: str, source: Path, keys: StackKeys) -> list[str]:
    """The comment paragraphs at the top of the stack file."""
    header = [
        f"Stack configuration for the program `{_command(stack, False)}` wrote: the connection "
        f"keys of {source} except secrets, and lync:serverVersion, the version the program's "
        "properties were chosen for.",
    ]
    if keys.secrets:
        header.append(
            "Secrets are never copied. Before the first preview, in this directory:\n"
            f"  pulumi stack init {stack}\n" + "\n".join(f"  {c}" for c in keys.commands())
        )
    for key, variable in keys.from_environment:
        header.append(f"{key} came from {variable} when exporting: keep it set, or set {key}.")
    return header


def target_files(out_dir: Path, stack: str) -> dict[str, Path]:
    """The files an export writes, by role."""
    return {
        "program": out_dir / PROGRAM,
        "project": out_dir / PROJECT,
        "stack": out_dir / f"Pulumi.{stack}.yaml",
    }


def _project_runtime(project_dir: Path) -> Any:
    path = project_dir / PROJECT
    if not path.is_file():
        return None
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return document.get("runtime") if isinstance(document, dict) else None


def write_export(
    project_dir: Path,
    stack: str,
    config: StackConnection,
    exported: ExportPlan,
    files: Mapping[str, Path],
    *,
    users: bool,
    environ: Mapping[str, str],
) -> StackKeys:
    """Render and write the three files; the stack keys, for the summary."""
    out_dir = files["program"].parent
    source = stack_path(project_dir, stack)
    keys = stack_keys(StackFile.load(source), config, environ, project_dir, out_dir)
    project = {
        "name": f"lync-export-{stack}",
        "description": f"Lync configuration exported from stack {stack}",
        "runtime": _project_runtime(project_dir),
    }
    texts = {
        "program": export_render.program(exported, program_header(stack, config, users)),
        "project": export_render.project_file(
            [f"Written by `{_command(stack, users)}`."], project, project_dir, out_dir
        ),
        "stack": export_render.stack_file(stack_header(stack, source, keys), keys.config),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for role, path in files.items():
        path.write_text(texts[role], encoding="utf-8", newline="\n")
    return keys


def _fail(message: str) -> None:
    print(f"lync export: {message}", file=sys.stderr)


def _protected(project_dir: Path, stack: str) -> set[Path]:
    """The project's own files, which no export may overwrite, even with --force."""
    own = (project_dir / PROGRAM, project_dir / PROJECT, stack_path(project_dir, stack))
    return {path.resolve() for path in own}


def export(
    project_dir: Path,
    stack: str,
    environ: Mapping[str, str],
    *,
    out: Path | None = None,
    users: bool = False,
    force: bool = False,
    console: Console | None = None,
) -> int:
    """Read, write the files, print the summary; the exit status."""
    if not _STACK_NAME.match(stack):
        _fail(f"configuration error: {stack!r} is not a stack name (letters, digits, -_.)")
        return EXIT_CANNOT_EXPORT
    try:
        config = load_connection(project_dir, stack, environ)
        frontend = config.connections.require_frontend()
    except (CheckConfigError, ConnectionConfigError) as err:
        _fail(f"configuration error: {err}")
        return EXIT_CANNOT_EXPORT
    files = target_files(out if out is not None else project_dir / "export" / stack, stack)
    clash = sorted(str(p) for p in files.values() if p.resolve() in _protected(project_dir, stack))
    if clash:
        _fail(f"--out: would overwrite the project's own {', '.join(clash)}; choose another")
        return EXIT_CANNOT_EXPORT
    existing = [str(path) for path in files.values() if path.exists()]
    if existing and not force:
        _fail(f"{', '.join(existing)} exist(s); --force overwrites, or choose another --out")
        return EXIT_FILES_EXIST
    try:
        live = read_live(frontend, users=users)
    except LyncRemotingError as err:
        _fail(f"could not read the server's configuration: {one_line(err)}")
        return EXIT_CANNOT_EXPORT
    exported = plan(live, config.server_version)
    try:
        keys = write_export(
            project_dir, stack, config, exported, files, users=users, environ=environ
        )
    except OSError as err:
        _fail(f"cannot write {err.filename or files['program'].parent}: {err.strerror or err}")
        return EXIT_CANNOT_EXPORT
    out_console = console or Console(width=shutil.get_terminal_size((160, 24)).columns)
    summarize(out_console, config=config, exported=exported, files=files, keys=keys, stack=stack)
    return 0


def _how(item: Exported) -> str:
    if item.resource is ExternalAccessPolicyAssignment:
        return "granted already; destroy gives each user back what they held"
    if item.adopted:
        return "adopted; destroy gives back its values, never removes it"
    return "taken over; destroy gives back its values"


def _size(item: Exported) -> str:
    if item.resource is ExternalAccessPolicyAssignment:
        users = item.inputs.get("users")
        count = len(users) if isinstance(users, list) else 0
        return f"{count} user{'s' * (count != 1)}"
    return f"{len(item.managed)} properties"


def summarize(
    console: Console,
    *,
    config: StackConnection,
    exported: ExportPlan,
    files: Mapping[str, Path],
    keys: StackKeys,
    stack: str,
) -> None:
    """What was exported, what was left out, and what to do next."""
    frontend = config.connections.require_frontend().display_url
    title = (
        f"Exported {len(exported.objects)} objects from {frontend} ({config.source}), "
        f"targeting {config.server_version.label}"
    )
    table = Table(title=Text(title), title_justify="left")
    for column in ("resource", "identity", "Pulumi name", "manages", "on up / destroy"):
        table.add_column(column, overflow="fold")
    for item in exported.objects:
        cells = (item.resource.__name__, item.identity, item.name, _size(item), _how(item))
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)
    notes = [f"{item.name}: {note}" for item in exported.objects for note in item.notes]
    notes += [f"not exported: {reason}" for reason in exported.skipped]
    for note in notes:
        console.print(Text(note))
    console.print(Text("Wrote " + ", ".join(str(path) for path in files.values())))
    console.print(Text("\n".join(next_steps(files, keys, stack))))


def next_steps(files: Mapping[str, Path], keys: StackKeys, stack: str) -> list[str]:
    """The numbered steps from review to ``pulumi up``."""
    steps = [
        f"review {files['program']}: each declaration is an object as the server holds it now",
        f"cd {shlex.quote(str(files['program'].parent))} && pulumi stack init {stack}",
        *keys.commands(),
        "pulumi preview: every resource is a create, and nothing is sent to the server",
        "pulumi up: takes the objects over and changes nothing; pulumi destroy gives them back "
        "as they were",
    ]
    return ["Next:", *(f"  {number}. {step}" for number, step in enumerate(steps, 1))]


def run(args: argparse.Namespace) -> int:
    """The command as ``python -m lync_provider export`` parsed it."""
    return export(
        args.project_dir,
        args.stack,
        os.environ,
        out=args.out,
        users=args.users,
        force=args.force,
    )
