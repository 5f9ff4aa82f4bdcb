"""The committed stack files and the passphrases their comments document."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from lync_emulator.emulator import Emulator

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


def local_stack_for(emu: Emulator, project_dir: Path, **changes: Any) -> Path:
    """A project dir whose ``local`` stack is the committed one pointed at ``emu``.

    ``changes`` set (or, given ``None``, remove) keys of the stack's ``config:`` block by
    their short name (``password=None``).
    """
    document = yaml.safe_load((STACKS_DIR / "Pulumi.local.yaml").read_text(encoding="utf-8"))
    config = document["config"]
    assert emu.edge_url is not None
    config["lync:frontEndUrl"] = emu.frontend_url
    config["lync:edgeUrl"] = emu.edge_url
    for key, value in changes.items():
        if value is None:
            config.pop(f"lync:{key}", None)
        else:
            config[f"lync:{key}"] = value
    (project_dir / "stacks").mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project_dir / "Pulumi.yaml")
    path = project_dir / "stacks" / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
