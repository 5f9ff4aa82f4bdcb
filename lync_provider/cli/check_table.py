"""The ``check`` command's report: the rows as a rich table and a one-line summary.

Only presentation lives here; what each row says is decided in :mod:`check_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from lync_provider.cli.check_rules import Row, Status

STYLES = {
    Status.OK: "green",
    Status.MISSING: "bold yellow",
    Status.DIFFERENT: "bold red",
    Status.ERROR: "bold magenta",
}


def report_table(title: str, rows: Sequence[Row]) -> Table:
    """One row per check, status coloured, the columns an administrator compares."""
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in ("where", "object", "property", "expected", "found", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.where,
            row.subject,
            row.item,
            row.expected,
            row.found,
            Text(row.status.value, style=STYLES[row.status]),
        )
    return table


def summary(rows: Sequence[Row]) -> str:
    """``14 checks: 11 OK, 3 MISSING`` (statuses with no row left out; a row telling
    several users together counts each of them)."""
    parts = [
        f"{count} {status.value}"
        for status in Status
        if (count := sum(row.count for row in rows if row.status == status))
    ]
    return f"{sum(row.count for row in rows)} checks: {', '.join(parts) or 'none'}"
