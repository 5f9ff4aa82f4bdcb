"""The export command against the emulator: the files it writes, what it never writes, how
it refuses, and that what it writes is valid, lint-clean Python declaring the live values."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from lync_emulator.emulator import Emulator
from lync_provider.__main__ import main
from lync_provider.cli.check import CheckConfigError, load_config
from lync_provider.program.stack_file import StackFile
from lync_provider.program.stack_secrets import PASSPHRASE_ENV, PassphraseCrypter
from tests.project.export_support import (
    AWKWARD_DESCRIPTION,
    AWKWARD_PROVIDER,
    AWKWARD_TAG,
    ENV,
    brownfield,
    registrations,
    run_export,
    without_lync_environment,
)
from tests.project.stacks import LOCAL_PASSPHRASE, PROJECT_DIR, STACKS_DIR, local_stack_for
from tests.reliability.conftest import secret_forms

EDGE_PASSWORD = "Edge-0nly-S3cret!"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    without_lync_environment(monkeypatch)


@pytest.fixture
def server(lync_emulator: Emulator) -> Emulator:
    """The emulator configured by hand, its audit log cleared."""
    brownfield(lync_emulator, federated=True)
    lync_emulator.audit.clear()
    return lync_emulator


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """ruff with the project's configuration (or ``--isolated``), no cache."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_DIR,
    )


def _secure(plaintext: str) -> dict[str, str]:
    """A ``secure:`` value of the local stack, encrypted as `pulumi config set --secret` does."""
    salt = StackFile.load(STACKS_DIR / "Pulumi.local.yaml").encryption_salt
    assert salt is not None
    crypter = PassphraseCrypter.from_encryption_salt(LOCAL_PASSPHRASE, salt)
    return {"secure": crypter.encrypt(plaintext)}


@pytest.mark.parametrize("where", ["secure in the stack file", "plain in the stack file", "env"])
def test_no_secret_reaches_the_files_or_the_output(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    environ = dict(ENV)
    if where == "env":
        local_stack_for(server, tmp_path, password=None)
        environ["LYNC_PASSWORD"] = server.password
    elif where.startswith("plain"):
        local_stack_for(server, tmp_path, password=server.password)
    else:
        local_stack_for(server, tmp_path, edgePassword=_secure(EDGE_PASSWORD))
    source = (tmp_path / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(source)

    exported = run_export(tmp_path, capsys, users=True, environ=environ)

    assert exported.status == 0, exported.err
    assert set(exported.files) == {"__main__.py", "Pulumi.yaml", "Pulumi.local.yaml"}
    haystack = "\n".join([*exported.files.values(), exported.out, exported.err]).encode()
    for secret in (server.password, EDGE_PASSWORD):
        for form in secret_forms(secret):
            assert form not in haystack, f"a secret leaked as {form!r}"
    ciphertexts = [v["secure"] for v in document["config"].values() if isinstance(v, dict)]
    for text in [*ciphertexts, document["encryptionsalt"], "secure:"]:
        assert text.encode() not in haystack
    stack = exported.files["Pulumi.local.yaml"]
    assert "pulumi config set --secret lync:password" in stack
    assert ("pulumi config set --secret lync:edgePassword" in stack) is where.startswith("secure")
    assert "lync:password" not in yaml.safe_load(stack)["config"]


def test_the_program_is_formatted_lint_clean_python(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path)
    exported = run_export(tmp_path, capsys, users=True)
    program = str(exported.program)

    ast.parse(exported.files["__main__.py"])
    config = str(PROJECT_DIR / "pyproject.toml")
    checked = ruff("check", "--config", config, program)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for options in (["--config", config], ["--isolated"]):
        formatted = ruff("format", "--check", *options, program)
        assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_awkward_identities_and_values_come_back_exactly(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path)
    exported = run_export(tmp_path, capsys, users=True)
    registered = {r.name: r.inputs for r in registrations(exported)}

    provider = registered["hosting-provider-fabrikam-lab-o-brien-x-n-zurich"]
    assert provider["identity"] == AWKWARD_PROVIDER
    assert provider["autodiscover_url"] == "https://autodiscover.fabrikam.com/autodiscover.svc"
    assert provider["sip_client_port"] == 5061
    policy = registered["external-access-policy-tag-night-shift-umlaut-s"]
    assert (policy["identity"], policy["description"]) == (AWKWARD_TAG, AWKWARD_DESCRIPTION)
    grant = registered["external-access-policy-assignment-tag-night-shift-umlaut-s"]
    assert (grant["policy_name"], grant["users"]) == (AWKWARD_TAG, ["sip:carol@contoso.com"])
    # Every character outside printable ASCII and accented letters is an escape in the source.
    source = exported.files["__main__.py"]
    assert all(" " <= c <= "~" or c in "\nüÜ" for c in source)
    comments = [line for line in source.splitlines() if line.startswith("# Get-CsHostingProvider")]
    assert '# Get-CsHostingProvider -Identity "Fabrikam `"Lab`" \\ O\'Brien `$(x) ``n' in (
        "\n".join(comments)
    )


def test_existing_files_are_kept_unless_forced(
    server: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_stack_for(server, tmp_path)
    command = ["export", "--stack", "local", "--project-dir", str(tmp_path)]
    monkeypatch.setenv(PASSPHRASE_ENV, LOCAL_PASSPHRASE)
    assert main(command) == 0
    program = tmp_path / "export" / "local" / "__main__.py"
    program.write_text("# reviewed and edited\n", encoding="utf-8")
    capsys.readouterr()
    server.audit.clear()

    status = main(command)

    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    [line] = err.strip().splitlines()
    assert str(program) in line and "--force" in line
    assert program.read_text(encoding="utf-8") == "# reviewed and edited\n"
    assert server.audit.entries() == []  # refused before connecting
    assert main([*command, "--force"]) == 0
    assert "provider_exchange_online = HostingProvider(" in program.read_text("utf-8")
    elsewhere = tmp_path / "review"
    assert main([*command, "--out", str(elsewhere), "--users"]) == 0
    assert "ExternalAccessPolicyAssignment(" in (elsewhere / "__main__.py").read_text("utf-8")


def test_the_project_itself_is_never_overwritten(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path)
    project_file = (tmp_path / "Pulumi.yaml").read_text(encoding="utf-8")

    exported = run_export(tmp_path, capsys, out=tmp_path, force=True)

    assert exported.status == 2
    assert "project's own" in exported.err and str(tmp_path / "Pulumi.yaml") in exported.err
    assert (tmp_path / "Pulumi.yaml").read_text(encoding="utf-8") == project_file
    assert not (tmp_path / "__main__.py").exists()


def test_refused_credentials_are_one_actionable_line_and_exit_2(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path, password="Wr0ng-But-Secret!", verifyEdge=False)

    exported = run_export(tmp_path, capsys)

    assert (exported.status, exported.out) == (2, "")
    [line] = exported.err.strip().splitlines()
    assert line.startswith("lync export: could not read the server's configuration:")
    assert "refused the credentials" in line and "hint:" in line
    assert server.frontend_url.split("/Ocs")[0] in line
    assert "Wr0ng-But-Secret!" not in exported.err and "Traceback" not in exported.err
    assert not exported.directory.exists()


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"frontEndUrl": None}, "lync:frontEndUrl"), ({"serverVersion": "2007"}, "serverVersion")],
)
def test_a_configuration_mistake_exits_2_before_connecting(
    server: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, str | None],
    named: str,
) -> None:
    local_stack_for(server, tmp_path, **changes)

    exported = run_export(tmp_path, capsys)

    assert exported.status == 2
    [line] = exported.err.strip().splitlines()
    assert line.startswith("lync export: configuration error:") and named in line
    assert server.audit.entries() == []
    assert not exported.directory.exists()


def test_a_stack_of_another_program_without_an_edge_exports(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export reads only the front end: a stack of a program of your own (keys the
    reference program does not know) with no Edge (verifyEdge on, as by default) exports,
    where check, which checks the reference integration, refuses both."""
    local_stack_for(server, tmp_path, edgeUrl=None, department="Sales")

    exported = run_export(tmp_path, capsys)

    assert exported.status == 0, exported.err
    assert "hosting-provider-exchange-online" in exported.files["__main__.py"]
    config = yaml.safe_load(exported.files["Pulumi.local.yaml"])["config"]
    assert "lync:department" not in config and "lync:edgeUrl" not in config
    assert {e.role for e in server.audit.entries()} == {"frontend"}

    with pytest.raises(CheckConfigError) as refused:
        load_config(tmp_path, "local", ENV)
    assert "lync:department: not a key of this project" in str(refused.value)
    assert "lync:edgeUrl: missing, and verifyEdge is on" in str(refused.value)


def test_a_stack_name_is_a_name_not_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--stack", "../local", "--project-dir", str(tmp_path)]) == 2
    assert "not a stack name" in capsys.readouterr().err


def test_the_stack_and_project_files_hold_what_the_program_needs(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path, serverVersion="2013")
    source = yaml.safe_load((tmp_path / "stacks" / "Pulumi.local.yaml").read_text("utf-8"))

    exported = run_export(tmp_path, capsys)

    config = yaml.safe_load(exported.files["Pulumi.local.yaml"])["config"]
    keys = ("frontEndUrl", "edgeUrl", "username", "auth", "encryption", "operationTimeout")
    copied = {f"lync:{key}" for key in (*keys, "serverVersion")}
    assert config == {key: source["config"][key] for key in copied}
    project = yaml.safe_load(exported.files["Pulumi.yaml"])
    assert project["name"] == "lync-export-local"
    assert project["runtime"]["options"]["virtualenv"] == os.path.join("..", "..", ".venv")
    assert exported.stack_config()["lync:serverVersion"] == "2013"


def test_the_summary_lists_the_objects_and_the_next_steps(
    server: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local_stack_for(server, tmp_path)

    exported = run_export(tmp_path, capsys, users=True)

    text = " ".join(exported.out.split())
    for name in (
        "access-edge-config-global",
        "hosting-provider-exchange-online",
        "external-access-policy-site-redmond",
        "external-access-policy-assignment-tag-owa",
    ):
        assert name in text
    assert "Exported 9 objects" in text and "targeting Lync Server 2013" in text
    assert "pulumi config set --secret lync:password" in text
    assert "pulumi up" in text and "pulumi destroy" in text


def test_without_users_no_user_is_read(
    make_lync_emulator: Callable[..., Emulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = make_lync_emulator(version="2019")
    local_stack_for(emu, tmp_path, serverVersion="2019")

    exported = run_export(tmp_path, capsys)

    assert exported.status == 0, exported.err
    assert "Get-CsUser" not in {e.cmdlet for e in emu.audit.entries()}
    assert "ExternalAccessPolicyAssignment" not in exported.files["__main__.py"]
    header = [line[1:] for line in exported.files["__main__.py"].splitlines() if line[:1] == "#"]
    assert "for Skype for Business Server 2019" in " ".join(" ".join(header).split())
