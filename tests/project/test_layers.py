"""The folders of ``lync_provider`` are layers, and imports point only downward.

docs/architecture.md draws them bottom to top: ``lync`` (facts about Lync), ``settings``,
``remoting``, ``resources``, ``replication``, ``integration`` (the component), ``program``,
``cli``. A module may import its own layer and the ones below; an import of a higher layer,
or of the package root (whose ``__init__`` pulls in the component), fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lync_provider"
LAYERS = [
    "lync",
    "settings",
    "remoting",
    "resources",
    "replication",
    "integration",
    "program",
    "cli",
]
# Entry points above every layer: the package's public names and `python -m lync_provider`.
TOPS = {"__init__", "__main__"}


def layer_of(module: str) -> str:
    """``lync_provider.resources.base`` → ``resources``; the root itself → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported(path: Path, package: tuple[str, ...]) -> list[str]:
    """The absolute names ``path`` imports; ``package`` is its package, for relative ones
    (``from ..resources import x`` in ``lync_provider.remoting`` is ``lync_provider.resources``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            if node.module:
                names.append(".".join([*base, node.module]))
            else:  # from .. import resources: each name is a module of the base package
                names += [".".join([*base, alias.name]) for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return [name for name in names if name.split(".")[0] == "lync_provider"]


def package_of(path: Path) -> tuple[str, ...]:
    """``lync_provider/remoting/session.py`` → ``("lync_provider", "remoting")``."""
    return path.relative_to(PACKAGE.parent).parts[:-1]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.stem not in TOPS or p.parent != PACKAGE)


def test_every_module_is_in_a_layer() -> None:
    for path in MODULES:
        relative = path.relative_to(PACKAGE)
        name = relative.parts[0].removesuffix(".py")
        assert name in LAYERS, f"{relative}: not in a layer of {LAYERS}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downward(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    for module in imported(path, package_of(path)):
        target = layer_of(module)
        assert target, f"{path.name} imports the package root ({module}), which is the top"
        assert LAYERS.index(target) <= LAYERS.index(own), (
            f"{path.relative_to(PACKAGE)} ({own}) imports {module} ({target}), a higher layer"
        )


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule itself: a remoting module importing a resource would be reported."""
    upward = tmp_path / "bad.py"
    upward.write_text(
        "from lync_provider.resources.base import LyncProvider\n"
        "from ..resources.base import LyncProvider\n"
        "from .. import resources\n",
        encoding="utf-8",
    )
    modules = imported(upward, ("lync_provider", "remoting"))
    assert modules == ["lync_provider.resources.base"] * 2 + ["lync_provider.resources"]
    assert all(LAYERS.index(layer_of(m)) > LAYERS.index("remoting") for m in modules)
