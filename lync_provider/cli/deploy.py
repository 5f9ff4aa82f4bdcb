"""``./run deploy``: the ``local`` stack deployed into the emulator, from a fresh clone.

1. Without the Pulumi CLI on PATH, one line says how to install it, and nothing starts.
2. The emulator starts in the background on the ports of ``stacks/Pulumi.local.yaml``
   (``.emulator/`` holds its state, audit log, log and pid), or the one a previous deploy
   left running is reused. It keeps running afterwards; the command prints how to stop it.
3. Pulumi runs with a file state backend in the project (``.pulumi-state/``) and the local
   stack's documented passphrase, so no account or login is needed: ``pulumi stack select
   --create local``, then ``pulumi up --yes --stack local``.
4. ``python -m lync_provider check --stack local`` reports what is now in place; its exit
   status is the command's.

The file backend and the passphrase exist only in this command's environment, so the
follow-up commands go through the same wrapper: ``./run pulumi preview --stack local`` (any
Pulumi command, with that environment), ``./run check``, or ``eval "$(./run env)"`` to put it
in the shell for plain ``pulumi`` and ``python -m lync_provider check --stack local``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lync_provider.cli.check import report
from lync_provider.program.stack_file import StackFile, StackFileError, stack_path
from lync_provider.program.stack_secrets import PASSPHRASE_ENV, PASSPHRASE_FILE_ENV

STACK = "local"
# Documented in stacks/Pulumi.local.yaml: it protects only the emulator's well-known password.
PASSPHRASE = "local-emulator"  # noqa: S105
INSTALL = (
    "./run deploy needs the Pulumi CLI, and `pulumi` is not on PATH: install it "
    "(https://www.pulumi.com/docs/install/, e.g. `curl -fsSL https://get.pulumi.com | sh`), "
    "then run ./run deploy again"
)
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


def run_pulumi(pulumi: str, args: Sequence[str], project_dir: Path, env: Mapping[str, str]) -> None:
    """One Pulumi CLI command in the project, its output straight to the terminal."""
    done = subprocess.run(  # noqa: S603 - the resolved pulumi executable, fixed arguments
        [pulumi, *args], cwd=project_dir, env=dict(env), check=False
    )
    if done.returncode != 0:
        raise DeployError(f"`pulumi {' '.join(args)}` failed with exit status {done.returncode}")


def export_lines(project_dir: Path, environ: Mapping[str, str]) -> str:
    """Shell lines that give a terminal the local stack's environment (``./run env``): the
    file backend, the passphrase, and the project's virtualenv first on PATH."""
    env = pulumi_environment(project_dir, environ)
    venv_bin = project_dir.resolve() / ".venv" / "bin"
    lines = [
        f"export PULUMI_BACKEND_URL={shlex.quote(env['PULUMI_BACKEND_URL'])}",
        f"export {PASSPHRASE_ENV}={shlex.quote(PASSPHRASE)}",
        "unset PULUMI_CONFIG_PASSPHRASE_FILE",
        f'export PATH={shlex.quote(str(venv_bin))}:"$PATH"',
    ]
    return "\n".join(lines)


NEXT_STEPS = (
    "next: ./run pulumi preview --stack local | ./run pulumi refresh --stack local | "
    './run check | ./run pulumi destroy --stack local; or eval "$(./run env)" for plain '
    "pulumi and python -m lync_provider check --stack local"
)


def deploy(pulumi: str, project_dir: Path, environ: Mapping[str, str]) -> int:
    """Steps 2 to 4; the check's exit status."""
    emulator = start_emulator(project_dir, *local_ports(project_dir))
    print(emulator.how_to_stop(), flush=True)
    env = pulumi_environment(project_dir, environ)
    run_pulumi(
        pulumi,
        ["stack", "select", "--create", "--secrets-provider", "passphrase", STACK],
        project_dir,
        env,
    )
    run_pulumi(pulumi, ["up", "--yes", "--stack", STACK], project_dir, env)
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
    pulumi = shutil.which("pulumi", path=env.get("PATH", ""))
    if pulumi is None:
        print(INSTALL.replace("./run deploy", f"./run {command}"), file=sys.stderr)
        return 1
    try:
        if command == "pulumi":
            local = pulumi_environment(args.project_dir, env)
            run_pulumi(pulumi, args.args, args.project_dir, local)
            return 0
        return deploy(pulumi, args.project_dir, env)
    except (DeployError, StackFileError) as err:
        print(f"./run {command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
