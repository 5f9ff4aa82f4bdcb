"""``./run deploy``: the ``local`` stack deployed into the emulator, from a fresh clone.

1. The Pulumi CLI is ``pulumi`` on PATH, else the project's own ``.pulumi-cli/``, else
   ``PulumiCommand.install`` puts the pinned SDK's version there (one line says so first).
   When that download is impossible, one line gives the manual install command, and nothing
   starts (``lync_provider.cli.pulumi_cli``).
2. The emulator starts in the background on the ports of ``stacks/Pulumi.local.yaml``
   (``.emulator/`` holds its state, audit log, log and pid), or the one a previous deploy
   left running is reused. It keeps running afterwards; the command prints how to stop it.
3. The Automation API (``pulumi.automation``) drives that CLI with a file state backend in
   the project (``.pulumi-state/``) and the local stack's documented passphrase, so no account
   or login is needed: ``create_or_select_stack("local", work_dir=<project>)``, then
   ``stack.up()``, each line of its output printed as it arrives.
4. ``python -m lync_provider check --stack local`` reports what is now in place; its exit
   status is the command's.

The file backend and the passphrase exist only in this command's environment, so the
follow-up commands go through the same wrapper: ``./run pulumi preview --stack local`` (any
Pulumi command, with that environment and the CLI found as in step 1), ``./run check``, or
``eval "$(./run env)"`` to put it in the shell for plain ``pulumi`` (``.pulumi-cli/bin`` is
appended to PATH) and ``python -m lync_provider check --stack local``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pulumi import automation as auto

from lync_provider.cli.check import report
from lync_provider.cli.pulumi_cli import CLI_DIR, PulumiCliError, find_or_install
from lync_provider.program.stack_file import StackFile, StackFileError, stack_path
from lync_provider.program.stack_secrets import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

STACK = "local"
# Documented in stacks/Pulumi.local.yaml: it protects only the emulator's well-known password.
PASSPHRASE = "local-emulator"  # noqa: S105
READY_SECONDS = 30.0
READY_POLL_SECONDS = 0.05


class DeployError(Exception):
    """A step failed; the message is the one line to print."""


@dataclass(frozen=True)
class EmulatorProcess:
    """The background emulator: its pid and where its files are."""

    pid: int
    directory: Path
    reused: bool

    @property
    def log(self) -> Path:
        """Everything the emulator printed."""
        return self.directory / "emulator.log"

    def how_to_stop(self) -> str:
        """The line telling the user how to stop it."""
        state = "is still running" if self.reused else "keeps running in the background"
        return (
            f"The emulator {state} (pid {self.pid}, log {self.log}); stop it with: kill {self.pid}"
        )


def local_ports(project_dir: Path) -> tuple[int, int]:
    """The front end and Edge ports the local stack connects to."""
    path = stack_path(project_dir, STACK)
    config = StackFile.load(path).config
    ports = []
    for key in ("lync:frontEndUrl", "lync:edgeUrl"):
        port = urlsplit(str(config.get(key) or "")).port
        if port is None:
            raise DeployError(f"{path}: {key} must be a loopback URL with a port")
        ports.append(port)
    return ports[0], ports[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def start_emulator(project_dir: Path, frontend_port: int, edge_port: int) -> EmulatorProcess:
    """Start ``python -m lync_emulator`` detached, and wait for its two ready lines."""
    directory = project_dir / ".emulator"
    directory.mkdir(exist_ok=True)
    pid_file = directory / "emulator.pid"
    if pid_file.is_file() and _alive(int(pid_file.read_text(encoding="utf-8"))):
        return EmulatorProcess(int(pid_file.read_text(encoding="utf-8")), directory, reused=True)
    log = directory / "emulator.log"
    command = [
        sys.executable,
        "-m",
        "lync_emulator",
        "--port",
        str(frontend_port),
        "--edge-port",
        str(edge_port),
        "--state",
        str(directory / "state.json"),
        "--audit",
        str(directory / "audit.jsonl"),
    ]
    with log.open("ab") as sink:
        start = sink.tell()
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=project_dir,
            start_new_session=True,  # Ctrl-C on ./run deploy must not stop it
        )
    _wait_ready(process, log, start)
    pid_file.write_text(str(process.pid), encoding="utf-8")
    return EmulatorProcess(process.pid, directory, reused=False)


def _wait_ready(process: subprocess.Popen[bytes], log: Path, start: int) -> None:
    """Until the log shows ``frontend <url>`` and ``edge <url>``; the process writes
    them to the file, so it is read from where this start began."""
    deadline = time.monotonic() + READY_SECONDS
    while True:
        with log.open("rb") as handle:
            handle.seek(start)
            words = {line.split(b" ", 1)[0] for line in handle.read().splitlines()}
        if {b"frontend", b"edge"} <= words:
            return
        if process.poll() is not None:
            raise DeployError(
                f"the emulator exited with status {process.returncode} before it was ready "
                f"(is a port taken?); see {log}"
            )
        if time.monotonic() > deadline:
            process.terminate()
            raise DeployError(f"the emulator was not ready within {READY_SECONDS:g} s; see {log}")
        time.sleep(READY_POLL_SECONDS)


def pulumi_environment(project_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment with the project's file backend and the local passphrase."""
    state = project_dir.resolve() / ".pulumi-state"
    state.mkdir(exist_ok=True)
    env = {k: v for k, v in environ.items() if k != PASSPHRASE_FILE_ENV}
    env.update(
        {
            "PULUMI_BACKEND_URL": f"file://{state}",
            PASSPHRASE_ENV: PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    )
    return env


def run_pulumi(
    cli: auto.PulumiCommand, args: Sequence[str], project_dir: Path, env: Mapping[str, str]
) -> None:
    """One Pulumi CLI command in the project (``./run pulumi``), its output straight to the
    terminal. As the Automation API does, the CLI's own folder comes first on PATH, so the
    language plugins installed beside it are the ones used."""
    env = dict(env)
    if os.path.isabs(cli.command):
        env["PATH"] = os.pathsep.join([os.path.dirname(cli.command), env.get("PATH", "")])
    done = subprocess.run(  # noqa: S603 - the resolved pulumi executable, the user's arguments
        [cli.command, *args], cwd=project_dir, env=env, check=False
    )
    if done.returncode != 0:
        raise DeployError(f"`pulumi {' '.join(args)}` failed with exit status {done.returncode}")


def _failure(err: auto.CommandError) -> tuple[str, str]:
    """The exit status and the last line of stderr of a failed Automation API command (the
    SDK keeps only their text: ``"\\n code: N\\n stdout: ...\\n stderr: ..."``)."""
    text = str(err)
    code = re.search(r"^ code: (-?\d+)$", text, re.MULTILINE)
    stderr = text.rpartition("\n stderr: ")[2] if "\n stderr: " in text else ""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return (code.group(1) if code else "?"), (lines[-1] if lines else "")


def _echo(line: str) -> None:
    print(line, flush=True)


def _echo_error(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def local_stack(cli: auto.PulumiCommand, project_dir: Path, env: Mapping[str, str]) -> auto.Stack:
    """The ``local`` stack of the project's program, created with the passphrase secrets
    provider when it does not exist yet (``stack select``, else ``stack init``)."""
    options = auto.LocalWorkspaceOptions(
        env_vars=dict(env), secrets_provider="passphrase", pulumi_command=cli
    )
    try:
        return auto.create_or_select_stack(STACK, work_dir=str(project_dir.resolve()), opts=options)
    except auto.CommandError as err:
        code, last = _failure(err)
        raise DeployError(
            f"selecting or creating the {STACK} stack failed with exit status {code}: {last}"
        ) from err


def up(stack: auto.Stack) -> auto.UpResult:
    """``pulumi up`` of the stack, each line of its output printed as it arrives (colours
    only when this process writes to a terminal, as the CLI would decide itself)."""
    color = "always" if sys.stdout.isatty() else "never"
    try:
        return stack.up(color=color, on_output=_echo, on_error=_echo_error)
    except auto.CommandError as err:
        code, _ = _failure(err)  # its output, stderr included, is already printed
        message = f"`pulumi up` of the {STACK} stack failed with exit status {code}"
        raise DeployError(message) from err


def export_lines(project_dir: Path, environ: Mapping[str, str]) -> str:
    """Shell lines that give a terminal the local stack's environment (``./run env``): the
    file backend, the passphrase, the project's virtualenv first on PATH and its own Pulumi
    CLI folder last."""
    env = pulumi_environment(project_dir, environ)
    venv_bin = project_dir.resolve() / ".venv" / "bin"
    # After PATH: a pulumi on PATH comes first, as for ./run deploy and ./run pulumi.
    cli_bin = project_dir.resolve() / CLI_DIR / "bin"
    lines = [
        f"export PULUMI_BACKEND_URL={shlex.quote(env['PULUMI_BACKEND_URL'])}",
        f"export {PASSPHRASE_ENV}={shlex.quote(PASSPHRASE)}",
        "unset PULUMI_CONFIG_PASSPHRASE_FILE",
        f'export PATH={shlex.quote(str(venv_bin))}:"$PATH":{shlex.quote(str(cli_bin))}',
    ]
    return "\n".join(lines)


NEXT_STEPS = (
    "next: ./run pulumi preview --stack local | ./run pulumi refresh --stack local | "
    './run check | ./run pulumi destroy --stack local; or eval "$(./run env)" for plain '
    "pulumi and python -m lync_provider check --stack local"
)


def deploy(cli: auto.PulumiCommand, project_dir: Path, environ: Mapping[str, str]) -> int:
    """Steps 2 to 4; the check's exit status."""
    emulator = start_emulator(project_dir, *local_ports(project_dir))
    print(emulator.how_to_stop(), flush=True)
    env = pulumi_environment(project_dir, environ)
    up(local_stack(cli, project_dir, env))
    status = report(project_dir, STACK, env)
    print(NEXT_STEPS, flush=True)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./run", description=__doc__)
    project = argparse.ArgumentParser(add_help=False)
    project.add_argument(
        "--project-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="the Pulumi project (default: here)",
    )
    parser.add_argument("--project-dir", type=Path, default=Path(), help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("deploy", parents=[project], help="emulator, pulumi up, check")
    passthrough = commands.add_parser(
        "pulumi", parents=[project], help="a Pulumi command in the local environment"
    )
    passthrough.add_argument("args", nargs=argparse.REMAINDER)
    commands.add_parser("check", parents=[project], help="the read-only check of the local stack")
    commands.add_parser("env", parents=[project], help="print the local environment's shell lines")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """``./run deploy`` (exit status 0 when the integration is in place afterwards),
    ``./run pulumi ...``, ``./run check`` and ``./run env``."""
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    command = args.command or "deploy"
    if command == "env":
        print(export_lines(args.project_dir, env))
        return 0
    if command == "check":
        return report(args.project_dir, STACK, pulumi_environment(args.project_dir, env))
    who = f"./run {command}"
    try:
        # Before anything starts: without a CLI, no emulator is left running.
        cli = find_or_install(args.project_dir, env, who, _echo_error)
    except PulumiCliError as err:
        print(err, file=sys.stderr)
        return 1
    try:
        if command == "pulumi":
            local = pulumi_environment(args.project_dir, env)
            run_pulumi(cli, args.args, args.project_dir, local)
            return 0
        return deploy(cli, args.project_dir, env)
    except (DeployError, StackFileError) as err:
        print(f"./run {command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
