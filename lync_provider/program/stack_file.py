"""A stack file, ``Pulumi.<stack>.yaml``, read as the Pulumi CLI hands it to a program.

The ``check`` command and the tests read the same configuration ``pulumi up`` would use
without running the CLI: the ``config:`` block with ``secure:`` values decrypted (see
:mod:`lync_provider.program.stack_secrets`) and every value in the form a program receives it, a
string, with arrays and objects as JSON text (what ``split_config`` expects).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lync_provider.program.stack_secrets import (
    PassphraseCrypter,
    StackSecretsError,
    read_passphrase,
)

SECURE = "secure"


class StackFileError(ValueError):
    """The stack file is missing or not a Pulumi stack file; the message says which."""


def stack_path(project_dir: Path, stack: str) -> Path:
    """Where Pulumi keeps the stack's file: the project's ``stackConfigDir`` or the project."""
    project_file = project_dir / "Pulumi.yaml"
    config_dir = "."
    if project_file.is_file():
        project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
        config_dir = str(project.get("stackConfigDir") or ".")
    return project_dir / config_dir / f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class StackFile:
    """The parts of a stack file that matter here; ``secure:`` values still encrypted."""

    path: Path
    config: Mapping[str, Any]
    encryption_salt: str | None = None

    @classmethod
    def load(cls, path: Path) -> StackFile:
        """Parse ``path``; a missing file or a malformed one is a :class:`StackFileError`."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise StackFileError(
                f"{path}: no such stack file (run from the project directory, or give it "
                "with --project-dir)"
            ) from None
        except (OSError, yaml.YAMLError) as err:
            raise StackFileError(f"{path}: not a readable YAML file ({_where(err)})") from None
        config = document.get("config") if isinstance(document, dict) else None
        if not isinstance(config, dict):
            config = {}
        salt = document.get("encryptionsalt") if isinstance(document, dict) else None
        return cls(path, {str(k): v for k, v in config.items()}, salt)

    def has_secrets(self) -> bool:
        """Whether any value is ``secure:`` (only then is a passphrase needed)."""
        return any(_holds_secret(value) for value in self.config.values())

    def crypter(self, environ: Mapping[str, str] | None = None) -> PassphraseCrypter:
        """The stack's crypter, from the passphrase in the environment."""
        if not self.encryption_salt:
            raise StackFileError(
                f"{self.path}: has secure values but no encryptionsalt; it was not written "
                "by the passphrase secrets provider"
            )
        try:
            return PassphraseCrypter.from_encryption_salt(
                read_passphrase(environ), self.encryption_salt
            )
        except StackSecretsError as err:
            raise StackFileError(f"{self.path}: {err}") from None

    def program_config(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """``{"lync:frontEndUrl": "...", ...}`` with secrets decrypted, as strings."""
        crypter = self.crypter(environ) if self.has_secrets() else None
        result: dict[str, str] = {}
        for key, value in self.config.items():
            try:
                plain = _reveal(value, crypter.decrypt if crypter else _no_secrets)
            except StackSecretsError as err:
                raise StackFileError(f"{self.path}: {key}: {err}") from None
            result[key] = _as_program_value(plain)
        return result


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return SECURE in value or any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _no_secrets(_ciphertext: str) -> str:
    raise StackSecretsError("unexpected secure value")


def _reveal(value: Any, decrypt: Callable[[str], str]) -> Any:
    """The value with every ``{secure: ...}`` replaced by its plaintext."""
    if isinstance(value, dict):
        if set(value) == {SECURE}:
            return decrypt(str(value[SECURE]))
        return {k: _reveal(v, decrypt) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v, decrypt) for v in value]
    return value


def _as_program_value(value: Any) -> str:
    """How Pulumi passes a config value to a program: text, JSON for structures."""
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _where(err: BaseException) -> str:
    """What is wrong and where: the parser's problem and line:column, never its snippet of
    the file (the line could hold a value that must not be shown)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None)
    if isinstance(err, yaml.MarkedYAMLError) and mark is not None and problem:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return type(err).__name__
