"""Pulumi's passphrase secrets provider, so stack files can be read without the Pulumi CLI.

The ``check`` command reads ``stacks/Pulumi.<stack>.yaml`` itself, and that file holds the
passwords as ``secure:`` values encrypted by the passphrase provider. This module does what
the CLI does (``pkg/secrets/passphrase/manager.go`` and ``sdk/go/common/resource/config/
crypt.go`` in pulumi/pulumi), so a value encrypted by one reads in the other:

* the key is PBKDF2-HMAC-SHA256 of the passphrase with the stack's 8-byte salt,
  1,000,000 iterations, 32 bytes;
* a value is AES-256-GCM with a random 12-byte nonce and no associated data, written
  ``v1:<base64 nonce>:<base64 ciphertext and tag>``;
* the stack's ``encryptionsalt`` is ``v1:<base64 salt>:`` followed by the value ``pulumi``
  encrypted that way, which is how a wrong passphrase is told apart from a damaged value.

The passphrase comes from ``PULUMI_CONFIG_PASSPHRASE`` (even when empty, as the CLI reads
it) or else from the file named by ``PULUMI_CONFIG_PASSPHRASE_FILE``, whitespace trimmed.
No message, log line or repr here ever holds a passphrase, a key or a decrypted value.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Names of environment variables, not passwords.
PASSPHRASE_ENV: Final = "PULUMI_CONFIG_PASSPHRASE"  # noqa: S105
PASSPHRASE_FILE_ENV: Final = "PULUMI_CONFIG_PASSPHRASE_FILE"  # noqa: S105
VERSION: Final = "v1"
ITERATIONS: Final = 1_000_000
KEY_BYTES: Final = 32
SALT_BYTES: Final = 8
NONCE_BYTES: Final = 12
# What the encryptionsalt carries, encrypted, to verify a passphrase.
CHECK_PLAINTEXT: Final = "pulumi"
_HOW_TO_SET = f"set {PASSPHRASE_ENV}, or {PASSPHRASE_FILE_ENV} to a file holding it"


class StackSecretsError(ValueError):
    """Secrets of a stack file cannot be read; the message names no secret."""


class PassphraseMissingError(StackSecretsError):
    """Neither passphrase variable is set."""


class IncorrectPassphraseError(StackSecretsError):
    """The passphrase does not open the stack's encryptionsalt."""


class PassphraseCrypter:
    """Encrypts and decrypts config values with one stack's passphrase-derived key.

    Deriving the key costs a million PBKDF2 rounds (a fraction of a second), so one crypter
    serves every value of a stack file.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"AES-256-GCM needs a {KEY_BYTES}-byte key")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "PassphraseCrypter(<key hidden>)"

    @classmethod
    def derive(cls, passphrase: str, salt: bytes) -> PassphraseCrypter:
        """The crypter for this passphrase and salt, as Pulumi derives its key."""
        kdf = PBKDF2HMAC(
            algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, iterations=ITERATIONS
        )
        return cls(kdf.derive(passphrase.encode("utf-8")))

    @classmethod
    def from_encryption_salt(cls, passphrase: str, encryption_salt: str) -> PassphraseCrypter:
        """Open a stack's ``encryptionsalt``; :class:`IncorrectPassphraseError` if it is not
        the passphrase the stack was created with."""
        # The check value itself holds colons: split off only the version and the salt.
        version, salt_text, check_value = _split(encryption_salt, "encryptionsalt", maxsplit=2)
        if version != VERSION:
            raise StackSecretsError(f"encryptionsalt: unknown version {version!r}")
        crypter = cls.derive(passphrase, _b64(salt_text, "encryptionsalt"))
        try:
            verified = crypter.decrypt(check_value) == CHECK_PLAINTEXT
        except StackSecretsError:
            verified = False
        if not verified:
            raise IncorrectPassphraseError(f"incorrect passphrase; {_HOW_TO_SET}")
        return crypter

    @classmethod
    def create(cls, passphrase: str) -> tuple[str, PassphraseCrypter]:
        """A new random salt: the ``encryptionsalt`` to write in the stack file, and its
        crypter (what ``pulumi stack init`` does with the passphrase provider)."""
        salt = os.urandom(SALT_BYTES)
        crypter = cls.derive(passphrase, salt)
        state = f"{VERSION}:{_b64encode(salt)}:{crypter.encrypt(CHECK_PLAINTEXT)}"
        return state, crypter

    def encrypt(self, plaintext: str) -> str:
        """``v1:<nonce>:<ciphertext>``, as ``pulumi config set --secret`` stores a value."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), None)
        return f"{VERSION}:{_b64encode(nonce)}:{_b64encode(sealed)}"

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext of a ``secure:`` value encrypted with this key."""
        version, nonce_text, sealed_text = _split(ciphertext, "secure value")
        if version != VERSION:
            raise StackSecretsError(f"secure value: unknown version {version!r}")
        nonce = _b64(nonce_text, "secure value")
        if len(nonce) != NONCE_BYTES:
            raise StackSecretsError("secure value: the nonce size is incorrect")
        try:
            plain = self._aead.decrypt(nonce, _b64(sealed_text, "secure value"), None)
            return plain.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise StackSecretsError(
                "secure value does not decrypt with this stack's key (was it copied from "
                "another stack?)"
            ) from None


def read_passphrase(environ: Mapping[str, str] | None = None) -> str:
    """The passphrase from the environment, looked up as the Pulumi CLI does."""
    env = os.environ if environ is None else environ
    if PASSPHRASE_ENV in env:
        return env[PASSPHRASE_ENV]
    path = env.get(PASSPHRASE_FILE_ENV)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise PassphraseMissingError(
                f"cannot read {PASSPHRASE_FILE_ENV} ({path}): {err.strerror}"
            ) from None
    raise PassphraseMissingError(f"the stack has secrets but no passphrase is set; {_HOW_TO_SET}")


def _split(text: str, what: str, maxsplit: int = -1) -> list[str]:
    """Three colon-separated parts, as Go's strings.SplitN / strings.Split give them."""
    pieces = text.split(":", maxsplit)
    if len(pieces) != 3:
        raise StackSecretsError(f"{what}: malformed (expected v1:...)")
    return pieces


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise StackSecretsError(f"{what}: malformed base64") from None


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
