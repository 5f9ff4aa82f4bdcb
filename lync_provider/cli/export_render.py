"""The files ``export`` writes, as text: the program, its stack file and its project file.

The program is written already formatted as ``ruff format`` formats it (calls exploded, one
argument a line, trailing commas, so neither line length nor a later edit reflows it) and
clean for the project's ``ruff check``. Every value is a Python literal built here, never text
spliced into code: :func:`python_string` escapes backslashes and the quote it uses, picks the
quote ruff would, and writes as an escape every character that is not printable ASCII or a
Latin letter with accents. That keeps control characters, right-to-left marks and letters
that look like ASCII ones (a Cyrillic a, an en dash) out of the source, where they could
break it or mislead a reviewer, and ruff's ambiguous-character rules quiet. Comments
are built the same way.
"""

from __future__ import annotations

import os
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lync_provider.cli.export_plan import Exported, ExportPlan, Reference, Value

# The project's ruff line length (pyproject.toml); a longer line is marked as meant (E501).
LINE_LENGTH = 100
INDENT = "    "
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def readable(char: str) -> bool:
    """Printable ASCII, or a letter that is an ASCII letter with accents (``é``, ``Ü``)."""
    if " " <= char <= "~":
        return True
    decomposed = unicodedata.normalize("NFD", char)
    return (
        len(decomposed) > 1
        and decomposed[0].isascii()
        and decomposed[0].isalpha()
        and all(unicodedata.combining(mark) for mark in decomposed[1:])
    )


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def python_string(text: str) -> str:
    """``text`` as a Python string literal, in the quotes ``ruff format`` would choose
    (double, unless the text holds more double quotes than single ones)."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = "".join(
        "\\" + char if char == quote else char if readable(char) and char != "\\" else _escape(char)
        for char in text
    )
    return f"{quote}{body}{quote}"


def powershell_string(text: str) -> str:
    """``text`` as a PowerShell string literal, for a comment an administrator can paste:
    ``"..."`` when nothing in it is special, ``'...'`` when only quotes or ``$`` are, and
    ``"..."`` with backtick escapes (``\\`u{..}`` for what is not readable) otherwise."""
    special = set('"`$') & set(text)
    if all(readable(char) for char in text):
        if not special:
            return f'"{text}"'
        return "'" + text.replace("'", "''") + "'"
    body = "".join(
        "`" + char if char in '"`$' else char if readable(char) else f"`u{{{ord(char):x}}}"
        for char in text
    )
    return f'"{body}"'


def comment_text(text: str) -> str:
    """Text safe in a comment: one line, unreadable characters as escapes."""
    return "".join(char if readable(char) else _escape(char) for char in text)


def comment(text: str, indent: str = "") -> list[str]:
    """``# text`` wrapped to the line length; each line of ``text`` starts a new one."""
    width = LINE_LENGTH - len(indent) - 2
    lines = []
    for part in text.split("\n"):
        wrapped = textwrap.wrap(comment_text(part), width, break_on_hyphens=False)
        lines += [f"{indent}# {line}".rstrip() for line in wrapped or [""]]
    return lines


def _scalar(value: Value) -> str:
    if isinstance(value, Reference):
        return f"{value.variable}.{value.output}"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return python_string(value)
    raise TypeError(f"not a scalar input: {type(value).__name__}")


def _argument(name: str, value: Value, indent: str) -> list[str]:
    if isinstance(value, list):
        if not value:
            return [f"{indent}{name}=[],"]
        items = [f"{indent}{INDENT}{python_string(item)}," for item in value]
        return [f"{indent}{name}=[", *items, f"{indent}],"]
    return [f"{indent}{name}={_scalar(value)},"]


def source_line(item: Exported) -> str:
    """The read the object came from, as a PowerShell command."""
    source = item.source
    if source.parameter == "Filter":
        condition = f"ExternalAccessPolicy -eq {powershell_string(source.value)}"
        return f"{source.cmdlet} -Filter {{{condition}}}"
    return f"{source.cmdlet} -Identity {powershell_string(source.value)}"


def declaration(item: Exported) -> list[str]:
    """``variable = Resource("name", ResourceArgs(...))`` under its comments."""
    args = item.resource.args_type.__name__
    lines = [f"# {source_line(item)}"]
    for note in item.notes:
        lines += comment(note)
    lines += [
        f"{item.variable} = {item.resource.__name__}(",
        f"{INDENT}{python_string(item.name)},",
        f"{INDENT}{args}(",
    ]
    for name, value in item.inputs.items():
        lines += _argument(name, value, INDENT * 2)
    lines += [f"{INDENT}),", ")"]
    return lines


def _lint_clean(line: str) -> str:
    """Mark a line longer than ruff's limit as meant (ruff ignores one without spaces)."""
    if len(line) > LINE_LENGTH and " " in line.strip():
        return f"{line}  # noqa: E501"
    return line


def program(plan: ExportPlan, header: Sequence[str]) -> str:
    """The Pulumi program declaring ``plan``: ``header`` paragraphs, imports, declarations."""
    lines = [*_header(header).splitlines(), ""]
    used = {item.resource for item in plan.objects}
    names = sorted(
        {r.__name__ for r in used} | {r.args_type.__name__ for r in used},
        key=lambda name: (name.casefold(), name),
    )
    if names:
        lines += ["from lync_provider import (", *[f"{INDENT}{n}," for n in names], ")"]
    for item in plan.objects:
        lines += ["", *declaration(item)]
    return "\n".join(_lint_clean(line) for line in lines).strip("\n") + "\n"


def _yaml(document: Mapping[str, Any]) -> str:
    return str(yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=1000))


def _header(paragraphs: Sequence[str]) -> str:
    """Comment paragraphs, separated by a bare ``#`` line."""
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += [*comment(paragraph), "#"]
    return "".join(f"{line}\n" for line in lines[:-1])


def stack_file(header: Sequence[str], config: Mapping[str, Any]) -> str:
    """``Pulumi.<stack>.yaml``: the comments, then the ``config:`` block."""
    return _header(header) + _yaml({"config": dict(config)})


def project_file(
    header: Sequence[str], document: Mapping[str, Any], project_dir: Path, out_dir: Path
) -> str:
    """``Pulumi.yaml`` for the exported program: ``document`` (name, description, the source
    project's ``runtime``), a relative virtualenv path made relative to ``out_dir``."""
    runtime = document.get("runtime")
    if not isinstance(runtime, dict):
        runtime = {"name": str(runtime or "python")}
    options = runtime.get("options")
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(options, dict) and isinstance(venv, str) and not Path(venv).is_absolute():
        target = (project_dir / venv).resolve()
        options = {**options, "virtualenv": os.path.relpath(target, out_dir.resolve())}
        runtime = {**runtime, "options": options}
    return _header(header) + _yaml({**document, "runtime": runtime})
