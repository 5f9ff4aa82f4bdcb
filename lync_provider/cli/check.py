"""``python -m lync_provider check [--stack NAME]``: is the integration in place? Read-only.

What an administrator runs before and after a change, with or without Pulumi: it reads the
same configuration ``pulumi up`` would (``stacks/Pulumi.<stack>.yaml``, ``secure:`` values
decrypted with ``PULUMI_CONFIG_PASSPHRASE``; ``LYNC_*`` environment variables fill what the
file lacks, or everything without ``--stack``), connects through the remoting layer, runs
only Get- cmdlets (the session refuses anything else) and prints one row per check.

Exit status: 0 everything in place, 1 something missing or different, 2 the configuration
or a connection is wrong (with a one-line reason on stderr; never a traceback or a secret).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from lync_provider.cli.check_rules import (
    Answer,
    Failed,
    Probe,
    Row,
    Target,
    UsersAnswer,
    UsersProbe,
    advice,
    exit_code,
    plan,
)
from lync_provider.cli.check_table import report_table, summary
from lync_provider.lync.versions import ServerVersion
from lync_provider.program.config import (
    IntegrationSettings,
    Lookup,
    ProgramConfigError,
    load_program_config,
    require_connection_config,
    split_config,
)
from lync_provider.program.stack_file import StackFile, StackFileError, stack_path
from lync_provider.remoting import (
    ConnectionFailedError,
    LyncRemotingError,
    LyncSession,
    NotFoundError,
    session_for,
)
from lync_provider.resources.base import LyncResourceError
from lync_provider.resources.directory import Directory
from lync_provider.settings.connections import (
    NAMESPACE,
    ConnectionConfigError,
    Connections,
    load_connections,
    load_server_version,
    lookup_from,
)

EXIT_CANNOT_CHECK = 2  # exit_code() gives the same for rows that could not be checked


class CheckConfigError(Exception):
    """The configuration cannot be used; the message is the one line to print."""


@dataclass(frozen=True)
class StackConnection:
    """Where to connect, for which server version, and the stack it came from."""

    connections: Connections
    source: str
    server_version: ServerVersion


@dataclass(frozen=True)
class CheckConfig(StackConnection):
    """Where to connect, and what to check: the reference program's keys."""

    settings: IntegrationSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument(
        "--stack",
        help="read stacks/Pulumi.<STACK>.yaml (secure values need PULUMI_CONFIG_PASSPHRASE "
        "or PULUMI_CONFIG_PASSPHRASE_FILE); without it, only LYNC_* environment variables",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path(),
        help="the Pulumi project directory (default: the current directory)",
    )


def load_config(project_dir: Path, stack: str | None, environ: Mapping[str, str]) -> CheckConfig:
    """The stack's configuration, validated as the program validates it."""
    integration, lookup, source = _read_stack(project_dir, stack, environ)
    try:
        settings = load_program_config(integration, lookup)
    except ProgramConfigError as err:
        raise _config_problem(source, err) from None
    return CheckConfig(load_connections(lookup), source, load_server_version(lookup), settings)


def load_connection(
    project_dir: Path, stack: str | None, environ: Mapping[str, str]
) -> StackConnection:
    """Only the stack's connection keys, validated: for ``export``, which reads the front
    end of a stack of any program, so neither the reference program's keys (a program of
    your own has keys of its own) nor the Edge (``verifyEdge``) are required."""
    _, lookup, source = _read_stack(project_dir, stack, environ)
    try:
        require_connection_config(lookup)
    except ProgramConfigError as err:
        raise _config_problem(source, err) from None
    return StackConnection(load_connections(lookup), source, load_server_version(lookup))


def _read_stack(
    project_dir: Path, stack: str | None, environ: Mapping[str, str]
) -> tuple[dict[str, Any], Lookup, str]:
    """The stack file's integration keys, a lookup of its connection keys (``LYNC_*``
    variables filling what it lacks; only those without ``stack``), and what it was."""
    config: dict[str, str] = {}
    source = "LYNC_* environment variables"
    if stack is not None:
        path = stack_path(project_dir, stack)
        source = f"stack {stack} ({path})"
        try:
            config = StackFile.load(path).program_config(environ)
        except StackFileError as err:
            raise CheckConfigError(str(err)) from None
    integration, connection = split_config(config)
    lookup = lookup_from({f"{NAMESPACE}:{k}": v for k, v in connection.items()}, environ)
    return integration, lookup, source


def _config_problem(source: str, err: ProgramConfigError) -> CheckConfigError:
    problems = [line.strip().removeprefix("- ") for line in str(err).splitlines()[1:]]
    return CheckConfigError(f"{source}: " + " | ".join(problems))


def one_line(err: LyncRemotingError) -> str:
    """A remoting failure as one actionable line: what, where, the server's words, the fix."""
    text = f"{err.summary} ({err.endpoint})"
    if err.server_message:
        text += f": {err.server_message}"
    if err.hint:
        text += f"; hint: {err.hint}"
    return " ".join(text.split())


def ask(session: LyncSession, probe: Probe) -> Answer:
    """Run the probe's read; an absent object is no records, a failure a :class:`Failed`."""
    try:
        return session.read(probe.call)
    except NotFoundError:
        return []
    except LyncRemotingError as err:
        return Failed(one_line(err), unreachable=isinstance(err, ConnectionFailedError))


def ask_users(session: LyncSession, probe: UsersProbe) -> UsersAnswer:
    """Read the probe's users ``lync:batchSize`` to a pipeline, as the assignment does."""
    try:
        return Directory(session, session.settings.batch_size, "check").records(probe.users)
    except LyncRemotingError as err:
        return Failed(one_line(err), unreachable=isinstance(err, ConnectionFailedError))
    except LyncResourceError as err:  # a user name that names several users
        return Failed(" ".join(str(err).split()))


@dataclass(frozen=True)
class Outcome:
    """The rows, and why any check could not be made (each reason once)."""

    rows: list[Row]
    failures: list[str]


def run_probes(
    probes: Sequence[Probe | UsersProbe], sessions: Mapping[Target, LyncSession]
) -> Outcome:
    """Every probe's rows; once an endpoint is unreachable, its other probes are not sent."""
    rows: list[Row] = []
    failures: list[str] = []
    down: dict[Target, Failed] = {}
    for probe in probes:
        session, failed = sessions[probe.where], down.get(probe.where)
        if isinstance(probe, UsersProbe):
            users = failed or ask_users(session, probe)
            failed, new_rows = (users if isinstance(users, Failed) else None), probe.judge(users)
        else:
            answer = failed or ask(session, probe)
            failed, new_rows = (answer if isinstance(answer, Failed) else None), probe.judge(answer)
        if failed is not None:
            if failed.unreachable:
                down[probe.where] = failed
            if failed.reason not in failures:
                failures.append(failed.reason)
        rows += new_rows
    return Outcome(rows, failures)


def check(config: CheckConfig) -> Outcome:
    """Connect with the configuration and judge every probe."""
    frontend = config.connections.require_frontend()
    sessions: dict[Target, LyncSession] = {"front end": session_for(frontend)}
    edge = config.connections.edge
    if config.settings.verifyEdge and edge is not None:
        sessions["Edge"] = session_for(edge)
    probes = plan(config.settings.to_args(), config.server_version, include_edge="Edge" in sessions)
    try:
        return run_probes(probes, sessions)
    finally:
        for session in sessions.values():
            session.close()


def report(
    project_dir: Path,
    stack: str | None,
    environ: Mapping[str, str],
    console: Console | None = None,
) -> int:
    """Check, print the report and any one-line reasons; the exit status."""
    try:
        config = load_config(project_dir, stack, environ)
        outcome = check(config)
    except (CheckConfigError, ConnectionConfigError) as err:
        print(f"lync check: configuration error: {err}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    # Piped or in CI there is no terminal to size to; 80 columns would fold every row.
    out = console or Console(width=shutil.get_terminal_size((160, 24)).columns)
    frontend = config.connections.require_frontend().display_url
    title = (
        f"Exchange Online integration on {frontend} ({config.source}), targeting "
        f"{config.server_version.label}"
    )
    out.print(report_table(title, outcome.rows))
    out.print(summary(outcome.rows))
    for line in advice(outcome.rows):
        out.print(f"to do: {line}", markup=False)
    for reason in outcome.failures:
        print(f"lync check: could not check: {reason}", file=sys.stderr)
    return exit_code(outcome.rows)


def run(args: argparse.Namespace) -> int:
    """The command as ``python -m lync_provider check`` parsed it."""
    return report(args.project_dir, args.stack, os.environ)
