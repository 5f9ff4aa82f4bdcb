"""``./run deploy``: the one-line message without Pulumi, and with a fake ``pulumi`` the
emulator it starts, the Pulumi commands it runs, and the check it ends with."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lync_provider.cli import deploy
from lync_provider.program.stack_file import StackFile
from lync_provider.remoting import SWITCH, CmdletCall, session_for
from tests.project.stacks import LOCAL_PASSPHRASE, PROJECT_DIR
from tests.provider.helpers import settings_for_url

FAKE_PULUMI = """#!{python}
import json, os, sys
with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "backend": os.environ.get("PULUMI_BACKEND_URL"),
        "passphrase": os.environ.get("PULUMI_CONFIG_PASSPHRASE"),
        "passphrase_file": os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"),
    }}) + "\\n")
sys.exit(int(os.environ.get("FAKE_PULUMI_EXIT", "0")) if sys.argv[1] == "up" else 0)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's Pulumi.yaml and local stack, on free ports; the emulator a
    test started is stopped (and reaped: this process is its parent) at the end."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_bytes((PROJECT_DIR / "Pulumi.yaml").read_bytes())
    text = (PROJECT_DIR / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8")
    text = text.replace(":15985/", f":{free_port()}/").replace(":15986/", f":{free_port()}/")
    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text(text, encoding="utf-8")
    yield tmp_path
    pid_file = tmp_path / ".emulator" / "emulator.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text(encoding="utf-8"))
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds only a ``pulumi`` that records each call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    return {
        "PATH": str(bin_dir),
        "FAKE_PULUMI_LOG": str(tmp_path / "pulumi-calls.jsonl"),
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "someone-elses-passphrase"),
        "COLUMNS": "200",
    }


def calls(env: dict[str, str]) -> list[dict[str, Any]]:
    lines = Path(env["FAKE_PULUMI_LOG"]).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_without_pulumi_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lync_provider.cli.deploy", "--project-dir", str(tmp_path)],
        env={"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "Pulumi CLI" in line and "https://www.pulumi.com/docs/install/" in line
    assert "curl -fsSL https://get.pulumi.com | sh" in line
    assert not (tmp_path / ".emulator").exists()


def test_it_starts_the_emulator_deploys_with_a_file_backend_and_checks(
    project: Path, fake_pulumi: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = deploy.main(["--project-dir", str(project)], fake_pulumi)

    out, err = capsys.readouterr()
    # The fake `up` configured nothing, so the final check finds the integration missing.
    assert status == 1, err
    assert "MISSING" in out and "Secret123!" not in out + err
    pid = int((project / ".emulator" / "emulator.pid").read_text(encoding="utf-8"))
    assert f"stop it with: kill {pid}" in out
    state = project.resolve() / ".pulumi-state"
    assert state.is_dir()
    assert calls(fake_pulumi) == [
        {
            "argv": ["stack", "select", "--create", "--secrets-provider", "passphrase", "local"],
            "cwd": str(project),
            "backend": f"file://{state}",
            "passphrase": LOCAL_PASSPHRASE,
            "passphrase_file": None,
        },
        {
            "argv": ["up", "--yes", "--stack", "local"],
            "cwd": str(project),
            "backend": f"file://{state}",
            "passphrase": LOCAL_PASSPHRASE,
            "passphrase_file": None,
        },
    ]
    # The emulator it left running serves the stack's URLs, and logged its ready lines.
    config = StackFile.load(project / "stacks" / "Pulumi.local.yaml").config
    for key, params in (("lync:frontEndUrl", {}), ("lync:edgeUrl", {"LocalStore": SWITCH})):
        settings = settings_for_url(config[key], operation_timeout=10)
        assert session_for(settings).read(CmdletCall("Get-CsAccessEdgeConfiguration", params))
    log = (project / ".emulator" / "emulator.log").read_text(encoding="utf-8")
    assert f"frontend {config['lync:frontEndUrl']}" in log
    audit = (project / ".emulator" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"cmdlet": "Get-CsHostingProvider"' in audit


def test_a_second_deploy_reuses_the_running_emulator_and_a_failed_up_stops_there(
    project: Path, fake_pulumi: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    deploy.main(["--project-dir", str(project)], fake_pulumi)
    pid = (project / ".emulator" / "emulator.pid").read_text(encoding="utf-8")
    capsys.readouterr()

    status = deploy.main(["--project-dir", str(project)], {**fake_pulumi, "FAKE_PULUMI_EXIT": "3"})

    out, err = capsys.readouterr()
    assert status == 1
    assert f"The emulator is still running (pid {pid}" in out
    assert err.strip() == "./run deploy: `pulumi up --yes --stack local` failed with exit status 3"
    assert [c["argv"][0] for c in calls(fake_pulumi)] == ["stack", "up", "stack", "up"]


def test_the_follow_up_commands_find_the_local_stack(
    project: Path, fake_pulumi: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: after ./run deploy, preview/refresh/destroy/check must reach the same stack."""
    deploy.main(["deploy", "--project-dir", str(project)], fake_pulumi)
    out, _ = capsys.readouterr()
    assert "./run pulumi preview --stack local" in out and "./run check" in out
    state = project.resolve() / ".pulumi-state"

    for argv in (["preview", "--stack", "local"], ["destroy", "--yes", "--stack", "local"]):
        assert deploy.main(["pulumi", "--project-dir", str(project), *argv], fake_pulumi) == 0
    followups = calls(fake_pulumi)[2:]
    assert [c["argv"] for c in followups] == [
        ["preview", "--stack", "local"],
        ["destroy", "--yes", "--stack", "local"],
    ]
    assert {(c["backend"], c["passphrase"], c["passphrase_file"]) for c in followups} == {
        (f"file://{state}", LOCAL_PASSPHRASE, None)
    }

    # The check reads the stack file's secrets with the local passphrase, from any shell.
    status = deploy.main(["check", "--project-dir", str(project)], {"COLUMNS": "200"})
    out, err = capsys.readouterr()
    assert status == 1 and "configuration error" not in err and "MISSING" in out

    assert deploy.main(["env", "--project-dir", str(project)], {}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"export PULUMI_BACKEND_URL=file://{state}" in lines
    assert f"export PULUMI_CONFIG_PASSPHRASE={LOCAL_PASSPHRASE}" in lines
    assert any(line.startswith("export PATH=") and ".venv/bin" in line for line in lines)


def test_run_refuses_a_python_older_than_3_11(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.9.2' && exit 0\nexit 1\n")
    fake.chmod(0o755)
    work = tmp_path / "clone"
    work.mkdir()
    (work / "run").write_bytes((PROJECT_DIR / "run").read_bytes())
    done = subprocess.run(
        ["bash", str(work / "run"), "setup"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "needs Python 3.11 or newer" in done.stderr and "3.9.2" in done.stderr
