"""Every stack file is valid for the program, declared in the schema, and keeps secrets secret."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import certifi
import pytest
import yaml

from lync_provider.program.config import IntegrationSettings, load_program_config, split_config
from lync_provider.program.stack_file import StackFile, StackFileError, stack_path
from lync_provider.program.stack_secrets import PASSPHRASE_ENV
from lync_provider.settings.connections import SECRET_KEYS, lookup_from
from tests.project.stacks import PASSPHRASES, PROJECT_DIR, stack_names


@functools.cache
def load(name: str) -> tuple[IntegrationSettings, dict[str, Any]]:
    """The stack's settings and connection keys, as the program would validate them (once:
    each decryption derives a key with a million PBKDF2 rounds)."""
    stack = StackFile.load(stack_path(PROJECT_DIR, name))
    integration, connection = split_config(
        stack.program_config({PASSPHRASE_ENV: PASSPHRASES[name]})
    )
    # The example CA bundle lives on an administrator's machine, and config load checks that
    # the file exists: validate with a PEM bundle that exists here.
    present = (
        {**connection, "caBundle": certifi.where()} if "caBundle" in connection else connection
    )
    lookup = lookup_from({f"lync:{k}": v for k, v in present.items()}, env={})
    return load_program_config(integration, lookup), connection


def test_the_documented_stacks_exist() -> None:
    assert stack_names() == sorted(PASSPHRASES)


@pytest.mark.parametrize("name", stack_names())
def test_every_stack_is_valid(name: str) -> None:
    settings, connection = load(name)
    assert connection["frontEndUrl"]
    assert settings.verifyEdge is True


@pytest.mark.parametrize("name", stack_names())
def test_every_key_is_in_the_schema_and_secrets_are_encrypted(name: str) -> None:
    schema = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    stack = StackFile.load(stack_path(PROJECT_DIR, name))
    for key, value in stack.config.items():
        namespace, _, short = key.partition(":")
        assert namespace == "lync", key
        assert short in schema, f"{key} is not declared in Pulumi.yaml"
        if short in SECRET_KEYS or schema[short].get("secret"):
            assert isinstance(value, dict), f"{key} is in clear text"
            assert set(value) == {"secure"}, key


def test_the_real_environments_use_tls_negotiate_and_a_winrm_edge() -> None:
    for name in ("dev", "prod", "prod-cn"):
        _, c = load(name)
        assert c["frontEndUrl"].startswith("https://"), name
        assert c["frontEndUrl"].endswith("/OcsPowershell"), name
        assert c["auth"] == "negotiate"
        assert c["caBundle"].endswith(".pem")
        assert c.get("skipCertificateValidation") is None
        assert c["edgeUrl"].startswith("https://") and ":5986/wsman" in c["edgeUrl"]
        assert c["importModule"] == "Lync"
        assert c["edgeUsername"].lower() != c["username"].lower()
        assert c["edgePassword"] != c["password"]
        assert "contoso.com" in c["frontEndUrl"]
    assert load("prod-cn")[0].to_args().resolved_proxy_fqdn() == "exap.um.partner.outlook.cn"
    assert load("prod")[0].to_args().resolved_proxy_fqdn() == "exap.um.outlook.com"


def test_the_local_stack_targets_the_emulator_on_loopback() -> None:
    settings, c = load("local")
    assert c["frontEndUrl"] == "http://127.0.0.1:15985/OcsPowershell"
    assert c["edgeUrl"] == "http://127.0.0.1:15986/wsman"
    assert (c["auth"], c["encryption"]) == ("basic", "never")
    assert (c["username"], c["password"]) == ("lab\\admin", "Secret123!")
    assert settings.policyIdentity.startswith("Tag:") and settings.policyUsers


def test_a_wrong_passphrase_or_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    stack = StackFile.load(stack_path(PROJECT_DIR, "local"))
    with pytest.raises(StackFileError, match="incorrect passphrase") as caught:
        stack.program_config({PASSPHRASE_ENV: "not-it"})
    assert "not-it" not in str(caught.value)
    with pytest.raises(StackFileError, match=r"no such stack file \(run from the project"):
        StackFile.load(tmp_path / "Pulumi.nope.yaml")


def test_a_malformed_stack_file_says_where_and_shows_none_of_it(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  lync:password: hunter2\n   lync:auth: basic\n", encoding="utf-8")
    with pytest.raises(StackFileError) as caught:
        StackFile.load(path)
    text = str(caught.value)
    assert "not a readable YAML file (line 3, column 13: mapping values are not allowed" in text
    assert "hunter2" not in text


def test_values_reach_the_program_as_pulumi_passes_them(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(
        "config:\n  lync:verifyEdge: false\n  lync:operationTimeout: 30\n"
        "  lync:replicas: [fe01.contoso.com]\n  lync:cloud: worldwide\n",
        encoding="utf-8",
    )
    assert StackFile.load(path).program_config({}) == {
        "lync:verifyEdge": "false",
        "lync:operationTimeout": "30",
        "lync:replicas": '["fe01.contoso.com"]',
        "lync:cloud": "worldwide",
    }
