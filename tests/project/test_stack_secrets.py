"""Pulumi's passphrase secrets provider, checked against a value the Pulumi CLI wrote."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from lync_provider.program.stack_secrets import (
    PASSPHRASE_ENV,
    PASSPHRASE_FILE_ENV,
    IncorrectPassphraseError,
    PassphraseCrypter,
    PassphraseMissingError,
    StackSecretsError,
    read_passphrase,
)

# From pulumi/pulumi pkg/secrets/passphrase/manager_test.go: a salt state made by the Go
# implementation with the passphrase "password" ("password123" must be refused).
PULUMI_STATE = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
PULUMI_BROKEN_STATE = "fozI5u6B030=:v1:F+6ZduL:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
VALUE = re.compile(r"^v1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/=]+$")


@pytest.fixture(scope="module")
def created() -> tuple[str, PassphraseCrypter]:
    return PassphraseCrypter.create("correct horse")


def test_opens_the_salt_state_the_pulumi_cli_wrote() -> None:
    crypter = PassphraseCrypter.from_encryption_salt("password", PULUMI_STATE)
    # The check value is the Go implementation's encryption of "pulumi" under that key.
    assert crypter.decrypt(PULUMI_STATE.split(":", 2)[2]) == "pulumi"


def test_a_wrong_passphrase_is_refused_with_a_clear_message() -> None:
    with pytest.raises(IncorrectPassphraseError) as caught:
        PassphraseCrypter.from_encryption_salt("password123", PULUMI_STATE)
    message = str(caught.value)
    assert message.startswith("incorrect passphrase")
    assert PASSPHRASE_ENV in message
    assert "password123" not in message


def test_a_malformed_salt_state_is_not_mistaken_for_a_wrong_passphrase() -> None:
    with pytest.raises(StackSecretsError) as caught:
        PassphraseCrypter.from_encryption_salt("password", PULUMI_BROKEN_STATE)
    assert not isinstance(caught.value, IncorrectPassphraseError)
    with pytest.raises(StackSecretsError, match="malformed"):
        PassphraseCrypter.from_encryption_salt("password", "v1:only-two")


def test_round_trip_in_the_cli_format(created: tuple[str, PassphraseCrypter]) -> None:
    state, crypter = created
    version, salt, check = state.split(":", 2)
    assert version == "v1"
    assert len(base64.b64decode(salt)) == 8
    assert VALUE.match(check)

    reopened = PassphraseCrypter.from_encryption_salt("correct horse", state)
    first, second = crypter.encrypt("Pa55 wörd:with:colons"), crypter.encrypt("x")
    assert VALUE.match(first)
    assert reopened.decrypt(first) == "Pa55 wörd:with:colons"
    assert reopened.decrypt(second) == "x"
    assert crypter.encrypt("x") != second  # a fresh nonce every time


def test_a_value_from_another_stack_names_no_secret(
    created: tuple[str, PassphraseCrypter],
) -> None:
    _, crypter = created
    foreign = PassphraseCrypter.from_encryption_salt("password", PULUMI_STATE)
    with pytest.raises(StackSecretsError, match="does not decrypt") as caught:
        crypter.decrypt(foreign.encrypt("top secret"))
    assert "top secret" not in str(caught.value)
    for broken in ("v1:abc", "v2:AAAAAAAAAAAAAAAA:AAAA", "v1:AAAA:AAAA", "v1:!!!:AAAA"):
        with pytest.raises(StackSecretsError):
            crypter.decrypt(broken)


def test_the_key_never_shows(created: tuple[str, PassphraseCrypter]) -> None:
    _, crypter = created
    assert repr(crypter) == "PassphraseCrypter(<key hidden>)"
    assert "correct horse" not in repr(vars(crypter))


def test_the_passphrase_is_found_as_the_cli_finds_it(tmp_path: Path) -> None:
    phrase_file = tmp_path / "phrase"
    phrase_file.write_text("  from-file \n", encoding="utf-8")
    assert read_passphrase({PASSPHRASE_FILE_ENV: str(phrase_file)}) == "from-file"
    # The variable wins over the file, and an empty one still counts (as in the CLI).
    assert read_passphrase({PASSPHRASE_ENV: "", PASSPHRASE_FILE_ENV: str(phrase_file)}) == ""
    with pytest.raises(PassphraseMissingError, match=PASSPHRASE_ENV):
        read_passphrase({})
    with pytest.raises(PassphraseMissingError, match="cannot read"):
        read_passphrase({PASSPHRASE_FILE_ENV: str(tmp_path / "absent")})
