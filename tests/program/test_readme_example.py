"""The README's library example is a working program (run under mocks), so it cannot rot."""

from __future__ import annotations

import re

from tests.program.mocks import REPO, run_program


def test_readme_example_registers_what_it_says() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Using the resources in your own program", 1)[1].split("\n## ")[0]
    source = "\n".join(re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL))
    assert "ReplicationGate(" in source

    def program() -> None:
        exec(compile(source, "README.md", "exec"), {})  # noqa: S102 - our own documentation

    monitor = run_program({}, program=program)
    names = {r.name for r in monitor.registrations}
    assert {"owa", "fabrikam", "fabrikam-replicated", "owa-replication"} <= names
    fabrikam = next(r for r in monitor.registrations if r.name == "fabrikam")
    owa_gate = next(r for r in monitor.registrations if r.name == "owa-replication")
    assert owa_gate.urn in fabrikam.dependencies
