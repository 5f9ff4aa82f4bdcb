"""Replica status as Get-CsManagementStoreReplicationStatus reports it, and when it counts.

A replica has applied a change only if it reports ``UpToDate`` about a configuration snapshot
created after the change was written. ``UpToDate`` alone is not enough: right after a write
the Central Management Store may still show a replica's last report, made before the write,
which said it was up to date with the *previous* version. Every time compared here comes from
the server (LastUpdateCreation, LastStatusReport), never from this machine's clock, so a
front end whose clock is minutes off cannot open the gate early or hold it shut.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from lync_provider.remoting import to_datetime

TROUBLESHOOTING = (
    "What usually causes it: the front end cannot reach the Edge's internal interface on "
    "TCP 4443 (firewall), or the Edge's internal certificate is not trusted by the front end "
    "(look in the front end's 'Lync Server' event log, source 'LS File Transfer Agent "
    "Service', for events 1017 (HTTPS destination unavailable), 1015 (certificate does not "
    "match) and 1034 (access denied to the xds-replica share)). Then run "
    "Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus and "
    "Invoke-CsManagementStoreReplication, and check again."
)


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
            last_status_report=to_datetime(record.get("LastStatusReport")),
            last_update_creation=to_datetime(record.get("LastUpdateCreation")),
            product_version=record.get("ProductVersion") or None,
        )

    def has_applied_change_after(self, marker: datetime) -> bool:
        """Up to date with a snapshot the Central Management Store created after ``marker``
        (a LastUpdateCreation seen before the change: both are the server's clock)."""
        return (
            self.up_to_date
            and self.last_update_creation is not None
            and self.last_update_creation > marker
        )

    def has_reported_since(self, earlier: ReplicaStatus | None) -> bool:
        """Up to date in a report newer than ``earlier`` (this replica's first report seen)."""
        if not self.up_to_date or self.last_status_report is None:
            return False
        previous = earlier.last_status_report if earlier is not None else None
        return previous is None or self.last_status_report > previous

    def as_output(self) -> dict[str, Any]:
        """Plain values for Pulumi outputs."""
        return {
            "fqdn": self.fqdn,
            "up_to_date": self.up_to_date,
            "last_status_report": _iso(self.last_status_report),
            "last_update_creation": _iso(self.last_update_creation),
            "product_version": self.product_version,
        }


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
