"""``./run deploy`` on the Automation API, against a fake ``pulumi`` that answers what
``pulumi.automation`` asks (``version``, ``stack select``/``init``, ``up``, ``stack output``,
``stack history``) and records each call: the emulator it starts, the commands it runs and
their environment, the output it streams, the check it ends with; and how the CLI is found
(PATH, then ``.pulumi-cli/``) or installed there, with the download replaced by a fake
installer (``pulumi.automation._cmd._download_to_file``, the SDK's one network call)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi import _version as sdk
from pulumi.automation import _cmd

from lync_provider.cli import deploy, pulumi_cli
from lync_provider.program.stack_file import StackFile
from lync_provider.remoting import SWITCH, CmdletCall, session_for
from tests.project.stacks import LOCAL_PASSPHRASE, PROJECT_DIR
from tests.provider.helpers import settings_for_url

SDK_VERSION = str(sdk.version)

# The log file and the version are written into the script: `pulumi version`, which
# PulumiCommand runs first, gets this process's environment, not the deploy's.
FAKE_PULUMI = """#!__PYTHON__
import json, os, socket, sys
LOG = __LOG__
argv = sys.argv[1:]
args = [a for a in argv if a != "--non-interactive"]
record = {
    "exe": sys.argv[0],
    "argv": argv,
    "cwd": os.getcwd(),
    "backend": os.environ.get("PULUMI_BACKEND_URL"),
    "passphrase": os.environ.get("PULUMI_CONFIG_PASSPHRASE"),
    "passphrase_file": os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"),
    "automation": os.environ.get("PULUMI_AUTOMATION_API"),
    "path": os.environ.get("PATH", "").split(os.pathsep)[0],
}


def marker(name):
    state = os.environ["PULUMI_BACKEND_URL"].removeprefix("file://")
    return os.path.join(state, "fake-stacks", name)


code = 0
if args == ["version"]:
    print("v" + __VERSION__)
elif args[:2] == ["stack", "select"]:
    name = args[args.index("--stack") + 1]
    if not os.path.exists(marker(name)):
        print(f"error: no stack named '{name}' found", file=sys.stderr)
        code = 255
elif args[:2] == ["stack", "init"] and os.environ.get("FAKE_PULUMI_INIT_ERROR"):
    print("warning: about to fail", file=sys.stderr)
    print(os.environ["FAKE_PULUMI_INIT_ERROR"], file=sys.stderr)
    code = 255
elif args[:2] == ["stack", "init"]:
    os.makedirs(os.path.dirname(marker(args[2])), exist_ok=True)
    open(marker(args[2]), "w").close()
elif args[:1] == ["up"]:
    print("Updating (local)", flush=True)
    print("warning: a fake engine", file=sys.stderr, flush=True)
    # Wait until the test has seen the first line printed: only then the second.
    port = os.environ.get("FAKE_PULUMI_STREAM_PORT")
    if port:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as conn:
            try:
                record["streamed"] = conn.recv(16) == b"printed"
            except TimeoutError:
                record["streamed"] = False
    print("Resources: 6 unchanged", flush=True)
    code = int(os.environ.get("FAKE_PULUMI_EXIT", "0"))
elif args[:3] == ["stack", "output", "--json"]:
    print("{}")
elif args[:3] == ["stack", "history", "--json"]:
    print(json.dumps([{
        "kind": "update", "startTime": "2024-05-01T10:00:00.000Z", "message": "",
        "environment": {}, "config": {}, "result": "succeeded",
        "endTime": "2024-05-01T10:00:05.000Z", "version": 1, "resourceChanges": {"same": 6},
    }]))
with open(LOG, "a", encoding="utf-8") as log:
    log.write(json.dumps(record) + "\\n")
sys.exit(code)
"""

# What PulumiCommand.install runs as get.pulumi.com/install.sh: puts the fake in place.
FAKE_INSTALLER = """#!__PYTHON__
import json, os, shutil, sys
args = sys.argv[1:]
with open(__LOG__, "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\\n")
bin_dir = os.path.join(args[args.index("--install-root") + 1], "bin")
os.makedirs(bin_dir, exist_ok=True)
shutil.copy(__DIST__, os.path.join(bin_dir, "pulumi"))
"""

# The Automation API's commands, in order, for a stack that does not exist yet.
SELECT = ["--non-interactive", "stack", "select", "--stack", "local"]
INIT = ["--non-interactive", "stack", "init", "local", "--secrets-provider", "passphrase"]
UP = [
    "--non-interactive",
    *["up", "--yes", "--skip-preview", "--color", "never", "--exec-kind", "auto.local"],
    *["--stack", "local"],
]
OUTPUTS = [
    ["--non-interactive", "stack", "output", "--json", "--stack", "local"],
    ["--non-interactive", "stack", "output", "--json", "--show-secrets", "--stack", "local"],
]
HISTORY = ["--non-interactive", "stack", "history", "--json", "--show-secrets"]
HISTORY += ["--page-size", "1", "--page", "1", "--stack", "local"]


def write_script(path: Path, template: str, **values: str) -> Path:
    text = template.replace("__PYTHON__", sys.executable)
    for key, value in values.items():
        text = text.replace(f"__{key}__", repr(value))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


def write_fake_pulumi(path: Path, log: Path, version: str = SDK_VERSION) -> Path:
    return write_script(path, FAKE_PULUMI, LOG=str(log), VERSION=version)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free now: each probe stays bound until all are chosen, so
    the kernel cannot hand one out twice (a later process may still take one; nothing here
    can hold a port for the emulator the deploy starts)."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project's Pulumi.yaml and local stack, on free ports; the emulator a
    test started is stopped (and reaped: this process is its parent) at the end."""
    # The Automation API runs the CLI with this process's environment under the deploy's.
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", raising=False)
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_bytes((PROJECT_DIR / "Pulumi.yaml").read_bytes())
    text = (PROJECT_DIR / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8")
    frontend_port, edge_port = free_ports(2)
    text = text.replace(":15985/", f":{frontend_port}/").replace(":15986/", f":{edge_port}/")
    (tmp_path / "stacks" / "Pulumi.local.yaml").write_text(text, encoding="utf-8")
    yield tmp_path
    pid_file = tmp_path / ".emulator" / "emulator.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text(encoding="utf-8"))
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


@pytest.fixture
def no_pulumi(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds no ``pulumi``; the fakes log to pulumi-calls.jsonl."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return {
        "PATH": str(empty),
        "FAKE_PULUMI_LOG": str(tmp_path / "pulumi-calls.jsonl"),
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "someone-elses-passphrase"),
        "COLUMNS": "200",
    }


@pytest.fixture
def fake_pulumi(tmp_path: Path, no_pulumi: dict[str, str]) -> dict[str, str]:
    """An environment whose PATH holds only a ``pulumi`` that records each call."""
    write_fake_pulumi(tmp_path / "bin" / "pulumi", Path(no_pulumi["FAKE_PULUMI_LOG"]))
    return {**no_pulumi, "PATH": str(tmp_path / "bin")}


Download = Callable[[str, str], None]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Callable[[Download], list[str]]:
    """Replace the SDK's download of get.pulumi.com/install.sh; the URLs asked for."""
    asked: list[str] = []

    def use(fetch: Download) -> list[str]:
        def recording(url: str, path: str) -> None:
            asked.append(url)
            fetch(url, path)

        monkeypatch.setattr(_cmd, "_download_to_file", recording)
        return asked

    return use


def installer_of(dist: Path, log: Path) -> Download:
    """A download that yields an install script putting ``dist`` in ``--install-root``."""

    def fetch(url: str, path: str) -> None:
        write_script(Path(path), FAKE_INSTALLER, LOG=str(log), DIST=str(dist))

    return fetch


def no_download(url: str, path: str) -> None:
    raise AssertionError(f"nothing should be downloaded, but {url} was")


def calls(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["FAKE_PULUMI_LOG"])
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def commands(env: dict[str, str]) -> list[list[str]]:
    return [c["argv"] for c in calls(env)]


def emulator_started(project: Path) -> bool:
    """What ./run deploy's own reuse logic would find: a pid file of a live process."""
    pid_file = project / ".emulator" / "emulator.pid"
    return pid_file.exists() and deploy._alive(int(pid_file.read_text(encoding="utf-8")))


class StreamProbe(io.TextIOBase):
    """sys.stdout for a deploy: when the first line of `up` is printed, tells the fake
    (waiting on a socket before its second line) that it was printed while it still runs."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = int(self.listener.getsockname()[1])
        self.answered = False

    def write(self, text: str) -> int:
        self.target.write(text)
        if "Updating (local)" in text and not self.answered:
            self.answered = True
            conn, _ = self.listener.accept()
            with conn:
                conn.sendall(b"printed")
        return len(text)

    def flush(self) -> None:
        self.target.flush()


def test_it_starts_the_emulator_deploys_on_the_automation_api_and_checks(
    project: Path,
    fake_pulumi: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = StreamProbe(sys.stdout)
    monkeypatch.setattr(sys, "stdout", probe)
    env = {**fake_pulumi, "FAKE_PULUMI_STREAM_PORT": str(probe.port)}

    status = deploy.main(["--project-dir", str(project)], env)
    probe.listener.close()

    out, err = capsys.readouterr()
    # The fake `up` configured nothing, so the final check finds the integration missing.
    assert status == 1, err
    assert "MISSING" in out and "Secret123!" not in out + err
    pid = int((project / ".emulator" / "emulator.pid").read_text(encoding="utf-8"))
    assert f"stop it with: kill {pid}" in out
    # up's output, printed line by line while it ran, stderr to stderr.
    lines = out.splitlines()
    assert lines.index("Updating (local)") < lines.index("Resources: 6 unchanged")
    assert "warning: a fake engine" in err.splitlines()
    state = project.resolve() / ".pulumi-state"
    assert state.is_dir()
    made = calls(fake_pulumi)
    assert [c["argv"] for c in made] == [["version"], SELECT, INIT, UP, *OUTPUTS, HISTORY]
    assert {c["exe"] for c in made} == {str(Path(fake_pulumi["PATH"]) / "pulumi")}
    for call in made[1:]:
        assert call["cwd"] == str(project.resolve())
        assert call["backend"] == f"file://{state}"
        assert call["passphrase"] == LOCAL_PASSPHRASE
        assert call["passphrase_file"] is None
        assert call["automation"] == "true"
    assert made[3]["streamed"] is True
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
    assert "Resources: 6 unchanged" in out and "MISSING" not in out
    assert err.splitlines() == [
        "warning: a fake engine",
        "./run deploy: `pulumi up` of the local stack failed with exit status 3",
    ]
    # The stack exists now: selected, not created again; no outputs read after the failure.
    first = [["version"], SELECT, INIT, UP, *OUTPUTS, HISTORY]
    assert commands(fake_pulumi) == [*first, ["version"], SELECT, UP]


def test_a_stack_that_cannot_be_created_is_one_line_with_the_clis_reason(
    project: Path, fake_pulumi: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**fake_pulumi, "FAKE_PULUMI_INIT_ERROR": "error: could not create the state folder"}

    assert deploy.main(["--project-dir", str(project)], env) == 1

    assert capsys.readouterr().err.splitlines() == [
        "./run deploy: selecting or creating the local stack failed with exit status 255: "
        "error: could not create the state folder"
    ]
    assert commands(fake_pulumi) == [["version"], SELECT, INIT]


def test_the_follow_up_commands_find_the_local_stack(
    project: Path, fake_pulumi: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: after ./run deploy, preview/refresh/destroy/check must reach the same stack."""
    deploy.main(["deploy", "--project-dir", str(project)], fake_pulumi)
    out, _ = capsys.readouterr()
    assert "./run pulumi preview --stack local" in out and "./run check" in out
    state = project.resolve() / ".pulumi-state"
    deployed = len(calls(fake_pulumi))

    for argv in (["preview", "--stack", "local"], ["destroy", "--yes", "--stack", "local"]):
        assert deploy.main(["pulumi", "--project-dir", str(project), *argv], fake_pulumi) == 0
    followups = calls(fake_pulumi)[deployed:]
    # The CLI is found as deploy finds it (PulumiCommand checks its version), then run plainly.
    assert [c["argv"] for c in followups] == [
        ["version"],
        ["preview", "--stack", "local"],
        ["version"],
        ["destroy", "--yes", "--stack", "local"],
    ]
    assert {
        (c["backend"], c["passphrase"], c["passphrase_file"], c["path"]) for c in followups[1::2]
    } == {(f"file://{state}", LOCAL_PASSPHRASE, None, fake_pulumi["PATH"])}

    failing = {**fake_pulumi, "FAKE_PULUMI_EXIT": "4"}
    assert deploy.main(["pulumi", "--project-dir", str(project), "up", "--yes"], failing) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "./run pulumi: `pulumi up --yes` failed with exit status 4"
    )

    # The check reads the stack file's secrets with the local passphrase, from any shell.
    status = deploy.main(["check", "--project-dir", str(project)], {"COLUMNS": "200"})
    out, err = capsys.readouterr()
    assert status == 1 and "configuration error" not in err and "MISSING" in out

    assert deploy.main(["env", "--project-dir", str(project)], {}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"export PULUMI_BACKEND_URL=file://{state}" in lines
    assert f"export PULUMI_CONFIG_PASSPHRASE={LOCAL_PASSPHRASE}" in lines
    venv_bin, cli_bin = project.resolve() / ".venv" / "bin", project.resolve() / ".pulumi-cli"
    assert f'export PATH={venv_bin}:"$PATH":{cli_bin / "bin"}' in lines


def test_the_cli_installed_is_the_pinned_sdks_version() -> None:
    assert pulumi_cli.sdk_version() == sdk.version


def offline(url: str, path: str) -> None:
    raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))


def failing_installer(url: str, path: str) -> None:
    script = "#!/bin/sh\necho 'curl: (6) Could not resolve host: get.pulumi.com' >&2\nexit 6\n"
    Path(path).write_text(script, encoding="utf-8")


FAILED_INSTALLS = {
    "download-fails": (offline, "(<urlopen error [Errno -2] Name or service not known>)"),
    "install-script-fails": (
        failing_installer,
        "(the installer exited with status 6: curl: (6) Could not resolve host: get.pulumi.com)",
    ),
}


@pytest.mark.parametrize("case", FAILED_INSTALLS)
def test_without_a_cli_a_failed_install_is_one_line_and_nothing_starts(
    project: Path,
    no_pulumi: dict[str, str],
    downloads: Callable[[Download], list[str]],
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    fetch, reason = FAILED_INSTALLS[case]
    asked = downloads(fetch)

    status = deploy.main(["--project-dir", str(project)], no_pulumi)

    out, err = capsys.readouterr()
    assert status == 1 and out == ""
    assert asked == ["https://get.pulumi.com/install.sh"]
    announce, failure = err.splitlines()
    assert announce == (
        "./run deploy: `pulumi` is not on PATH; installing Pulumi CLI "
        f"{SDK_VERSION} (the pinned SDK's version) into .pulumi-cli/ from get.pulumi.com"
    )
    assert failure.startswith(
        f"./run deploy: installing Pulumi CLI {SDK_VERSION} into .pulumi-cli/ failed {reason}; "
    )
    root = project.resolve() / ".pulumi-cli"
    assert (
        f"`curl -fsSL https://get.pulumi.com | sh -s -- --version {SDK_VERSION} "
        f"--install-root {root}`" in failure
    )
    assert "https://www.pulumi.com/docs/install/" in failure
    assert failure.endswith("then run ./run deploy again")
    assert not emulator_started(project)
    assert not (project / ".emulator").exists() and not (project / ".pulumi-state").exists()
    assert calls(no_pulumi) == []


def test_without_a_cli_it_installs_one_into_the_project_and_deploys_with_it(
    project: Path,
    tmp_path: Path,
    no_pulumi: dict[str, str],
    downloads: Callable[[Download], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = Path(no_pulumi["FAKE_PULUMI_LOG"])
    dist = write_fake_pulumi(tmp_path / "dist" / "pulumi", log)
    installs = tmp_path / "installer-calls.jsonl"
    asked = downloads(installer_of(dist, installs))

    status = deploy.main(["--project-dir", str(project)], no_pulumi)

    out, err = capsys.readouterr()
    assert status == 1 and "MISSING" in out  # deployed (by the fake) and checked
    assert err.splitlines()[0].startswith("./run deploy: `pulumi` is not on PATH; installing")
    root = project.resolve() / ".pulumi-cli"
    assert asked == ["https://get.pulumi.com/install.sh"]
    assert [json.loads(line) for line in installs.read_text(encoding="utf-8").splitlines()] == [
        ["--no-edit-path", "--install-root", str(root), "--version", SDK_VERSION]
    ]
    made = calls(no_pulumi)
    assert [c["argv"] for c in made] == [["version"], SELECT, INIT, UP, *OUTPUTS, HISTORY]
    assert {c["exe"] for c in made} == {str(root / "bin" / "pulumi")}
    assert emulator_started(project)

    # The next deploy uses it as it is.
    downloads(no_download)
    assert deploy.main(["--project-dir", str(project)], no_pulumi) == 1
    out, err = capsys.readouterr()
    assert "installing" not in err and "MISSING" in out
    assert asked == ["https://get.pulumi.com/install.sh"]
    assert commands(no_pulumi)[len(made) :] == [["version"], SELECT, UP, *OUTPUTS, HISTORY]


def test_a_cli_in_the_project_folder_is_used_without_an_install(
    project: Path,
    no_pulumi: dict[str, str],
    downloads: Callable[[Download], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    installed = project.resolve() / ".pulumi-cli" / "bin" / "pulumi"
    write_fake_pulumi(installed, Path(no_pulumi["FAKE_PULUMI_LOG"]))
    asked = downloads(no_download)

    argv = ["pulumi", "--project-dir", str(project), "stack", "ls"]
    assert deploy.main(argv, no_pulumi) == 0

    assert capsys.readouterr().err == "" and asked == []
    made = calls(no_pulumi)
    assert [c["argv"] for c in made] == [["version"], ["stack", "ls"]]
    assert {c["exe"] for c in made} == {str(installed)}
    # Its folder first on PATH, as the Automation API puts it: the plugins beside it are used.
    assert made[1]["path"] == str(installed.parent)


def test_a_cli_on_path_comes_before_the_project_folder(
    project: Path, fake_pulumi: dict[str, str], downloads: Callable[[Download], list[str]]
) -> None:
    write_fake_pulumi(
        project / ".pulumi-cli" / "bin" / "pulumi", Path(fake_pulumi["FAKE_PULUMI_LOG"])
    )
    downloads(no_download)

    assert deploy.main(["pulumi", "--project-dir", str(project), "stack", "ls"], fake_pulumi) == 0

    assert {c["exe"] for c in calls(fake_pulumi)} == {str(Path(fake_pulumi["PATH"]) / "pulumi")}


def test_an_older_cli_in_the_project_folder_is_replaced_by_the_sdks_version(
    project: Path,
    tmp_path: Path,
    no_pulumi: dict[str, str],
    downloads: Callable[[Download], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = Path(no_pulumi["FAKE_PULUMI_LOG"])
    write_fake_pulumi(project / ".pulumi-cli" / "bin" / "pulumi", log, version="3.100.0")
    dist = write_fake_pulumi(tmp_path / "dist" / "pulumi", log)
    asked = downloads(installer_of(dist, tmp_path / "installer-calls.jsonl"))

    assert deploy.main(["pulumi", "--project-dir", str(project), "stack", "ls"], no_pulumi) == 0

    [announce] = capsys.readouterr().err.splitlines()
    assert announce.startswith(
        "./run pulumi: the one in .pulumi-cli/ cannot be used (Minimum version requirement "
        f"failed. The minimum CLI version requirement is {SDK_VERSION}, your current CLI "
        "version is 3.100.0."
    )
    assert asked == ["https://get.pulumi.com/install.sh"]
    # The old one answered `version` twice (ours, then install's own first try).
    assert commands(no_pulumi) == [["version"], ["version"], ["version"], ["stack", "ls"]]


def test_an_unusable_cli_on_path_is_one_line_and_nothing_starts(
    project: Path,
    tmp_path: Path,
    no_pulumi: dict[str, str],
    downloads: Callable[[Download], list[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    bin_dir = tmp_path / "bin"
    write_fake_pulumi(bin_dir / "pulumi", Path(no_pulumi["FAKE_PULUMI_LOG"]), version="4.0.0")
    asked = downloads(no_download)

    status = deploy.main(["--project-dir", str(project)], {**no_pulumi, "PATH": str(bin_dir)})

    out, err = capsys.readouterr()
    assert status == 1 and out == "" and asked == []
    [line] = err.splitlines()
    assert line.startswith(f"./run deploy: the `pulumi` on PATH ({bin_dir / 'pulumi'}) cannot")
    assert "Major version mismatch. You are using Pulumi CLI version 4.0.0" in line
    assert not emulator_started(project) and not (project / ".emulator").exists()


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
