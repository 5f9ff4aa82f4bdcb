"""Replica status as Get-CsManagementStoreReplicationStatus reports it, and when it counts.

A replica has applied a change only if it reports ``UpToDate`` in a status report made after
the change was written. ``UpToDate`` alone is not enough: right after a write the Central
Management Store may still show a replica's last report, made before the write, which said
it was up to date with the *previous* version.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

TROUBLESHOOTING = (
    "What usually causes it: the front end cannot reach the Edge's internal interface on "
    "TCP 4443 (firewall), or the Edge's internal certificate is not trusted by the front end "
    "(look in the front end's 'Lync Server' event log, source 'LS File Transfer Agent "
    "Service', for events 1017 (HTTPS destination unavailable), 1015 (certificate does not "
    "match) and 1034 (access denied to the xds-replica share)). Then run "
    "Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus and "
    "Invoke-CsManagementStoreReplication, and check again."
)


_FRACTION = re.compile(r"(\.\d+)")


@dataclass(frozen=True)
class ReplicaStatus:
    """One row of Get-CsManagementStoreReplicationStatus."""

    fqdn: str
    up_to_date: bool
    last_status_report: datetime | None
    last_update_creation: datetime | None
    product_version: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ReplicaStatus:
        """Parse a ReplicaState record (datetimes made timezone-aware, UTC if naive)."""
        return cls(
            fqdn=str(record.get("ReplicaFqdn") or ""),
            up_to_date=bool(record.get("UpToDate")),
            last_status_report=_aware(record.get("LastStatusReport")),
            last_update_creation=_aware(record.get("LastUpdateCreation")),
            product_version=record.get("ProductVersion") or None,
        )

    def has_applied_since(self, moment: datetime) -> bool:
        """Up to date according to a report made after ``moment``."""
        return (
            self.up_to_date
            and self.last_status_report is not None
            and self.last_status_report > moment
        )

    def as_output(self) -> dict[str, Any]:
        """Plain values for Pulumi outputs."""
        return {
            "fqdn": self.fqdn,
            "up_to_date": self.up_to_date,
            "last_status_report": _iso(self.last_status_report),
            "last_update_creation": _iso(self.last_update_creation),
            "product_version": self.product_version,
        }


def _aware(value: Any) -> datetime | None:
    """A CLIXML DateTime (pypsrp leaves ``<DT>`` as its ISO text) as an aware datetime."""
    if isinstance(value, str) and value.strip():
        # .NET writes up to 7 fractional digits; Python reads at most 6.
        value = datetime.fromisoformat(_FRACTION.sub(lambda m: m.group(1)[:7], value.strip()))
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def render_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table for error messages (the CLI shows them in a terminal)."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console = Console(width=160, no_color=True, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text().rstrip()


def replica_table(statuses: Sequence[ReplicaStatus]) -> str:
    """The lagging replicas, one row each."""
    return render_table(
        "Replicas that have not applied the change",
        ("replica", "UpToDate", "LastStatusReport", "LastUpdateCreation"),
        [
            (
                s.fqdn,
                s.up_to_date,
                _iso(s.last_status_report) or "(blank)",
                _iso(s.last_update_creation) or "(blank)",
            )
            for s in statuses
        ],
    )
