"""The committed stack files and the passphrases their comments document."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
STACKS_DIR = PROJECT_DIR / "stacks"
LOCAL_PASSPHRASE = "local-emulator"
EXAMPLE_PASSPHRASE = "contoso-example"
PASSPHRASES = {
    "local": LOCAL_PASSPHRASE,
    "dev": EXAMPLE_PASSPHRASE,
    "prod": EXAMPLE_PASSPHRASE,
    "prod-cn": EXAMPLE_PASSPHRASE,
}


def stack_names() -> list[str]:
    """Every stack that has a file."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stack_files())


def stack_files() -> list[Path]:
    return sorted(STACKS_DIR.glob("Pulumi.*.yaml"))
