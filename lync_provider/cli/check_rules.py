"""What the ``check`` command compares, without any I/O.

A :class:`Probe` is one read-only cmdlet call and the rule that turns its answer into table
rows. :func:`plan` lists the probes for a configuration; the command runs each call and
hands the answer back to :meth:`Probe.judge`. Keeping the rules apart from the connection
and from the table lets tests feed them records directly.

The expected values are those the ExchangeOnlineIntegration component declares, and DNS SRV
routing, which hosting providers require (ODP New-CsHostingProvider: "you cannot federate
with a hosting provider if your Edge Servers are configured to use default routing"); the
component does not switch routing, a change to all of the Edge's federation, so the check
is where an Edge on default routing shows. They are compared the way the providers compare
them (the specs' ``compare_key``, Lync parameter names from ``lync_name``), so the check and
``pulumi preview`` never disagree on case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from lync_provider.integration import ExchangeOnlineIntegrationArgs
from lync_provider.lync.identities import canonical_policy_identity, policy_scope, same_identity
from lync_provider.lync.versions import ServerVersion, version_mismatch
from lync_provider.remoting import SWITCH, CmdletCall, ParameterValue, Records
from lync_provider.replication.edge_verification import Expectation
from lync_provider.replication.status import ReplicaStatus
from lync_provider.resources.access_edge import GLOBAL, AccessEdgeConfigSpec
from lync_provider.resources.base import lync_name
from lync_provider.resources.directory import NAMED_AT_MOST
from lync_provider.resources.external_access_policy import ExternalAccessPolicySpec
from lync_provider.resources.hosting_provider import HostingProviderSpec

Target = Literal["front end", "Edge"]
NOT_FOUND = "(not found)"


class Status(StrEnum):
    """The verdict of one row."""

    OK = "OK"
    MISSING = "MISSING"
    DIFFERENT = "DIFFERENT"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Row:
    """One line of the report: where, what, expected against found, and the verdict.

    ``count`` is how many checks the line stands for: more than one when users with the
    same finding are told together (:meth:`UsersProbe.judge`)."""

    where: Target
    subject: str
    item: str
    expected: str
    found: str
    status: Status
    count: int = 1


@dataclass(frozen=True)
class Failed:
    """A call that could not be answered. ``reason`` is the full one-line explanation;
    ``unreachable`` when the endpoint itself failed, so its other calls are not sent."""

    reason: str
    unreachable: bool = False

    def brief(self, where: Target) -> str:
        """What the table shows (the reason is printed once, below it)."""
        return f"not checked: no connection to the {where}" if self.unreachable else self.reason


Answer = Records | Failed
# A users probe's answer: each user's Get-CsUser object, None for a name nobody has.
UsersAnswer = Mapping[str, Mapping[str, Any] | None] | Failed


@dataclass(frozen=True)
class Probe:
    """One read and the rule that judges its records (``[]`` when the object is absent)."""

    where: Target
    subject: str
    call: CmdletCall
    rule: Callable[[Records], list[Row]]

    def judge(self, answer: Answer) -> list[Row]:
        """Rows for the answer; a failed call is one ERROR row carrying the reason."""
        if isinstance(answer, Failed):
            return [
                Row(
                    self.where,
                    self.subject,
                    self.call.cmdlet,
                    "-",
                    answer.brief(self.where),
                    Status.ERROR,
                )
            ]
        return self.rule(answer)


# What to do about a finding `pulumi up` will not fix, by the property it is about.
_ADVICE = {
    "RoutingMethod": (
        "RoutingMethod: `pulumi up` never switches the Edge's routing, which changes all of "
        "its federation, and New-CsHostingProvider needs DNS SRV routing; once that change "
        "is agreed, run Set-CsAccessEdgeConfiguration -UseDnsSrvRouting in the Lync Server "
        "Management Shell, then check again"
    ),
}


def advice(rows: Sequence[Row]) -> list[str]:
    """One line per kind of finding that needs an administrator rather than `pulumi up`."""
    items = {row.item for row in rows if row.status is Status.DIFFERENT}
    return [text for item, text in _ADVICE.items() if item in items]


def show(value: Any) -> str:
    """A value as PowerShell prints it (``True``, not ``true``); blanks made visible."""
    if value is None:
        return "(blank)"
    return str(value)


def expectations(args: ExchangeOnlineIntegrationArgs) -> list[Expectation]:
    """The objects the integration declares, with the property values it gives them."""
    policy = canonical_policy_identity(args.policy_identity)
    provider = args.hosting_provider_identity
    return [
        Expectation(
            AccessEdgeConfigSpec,
            GLOBAL,
            {"allow_federated_users": True, "routing_method": "UseDnsSrvRouting"},
        ),
        Expectation(
            HostingProviderSpec,
            provider,
            {
                "identity": provider,
                "enabled": True,
                "enabled_shared_address_space": True,
                "hosts_ocs_users": False,
                "is_local": False,
                "verification_level": "UseSourceVerification",
                "proxy_fqdn": args.resolved_proxy_fqdn(),
            },
        ),
        Expectation(
            ExternalAccessPolicySpec, policy, {"identity": policy, "enable_outside_access": True}
        ),
    ]


def object_probe(item: Expectation, where: Target) -> Probe:
    """Get-<noun> -Identity (with -LocalStore on the Edge), property by property."""
    params: dict[str, ParameterValue] = {"Identity": item.identity}
    if where == "Edge":
        params["LocalStore"] = SWITCH
    call = CmdletCall(f"Get-{item.spec.noun}", params)

    def rule(records: Records) -> list[Row]:
        record = records[0] if records else None
        rows = []
        for name, expected in item.values.items():
            found: Any = NOT_FOUND
            status = Status.MISSING
            if record is not None:
                found = record.get(lync_name(name))
                same = item.spec.compare_key(name, found) == item.spec.compare_key(name, expected)
                status = Status.OK if same else Status.DIFFERENT
            rows.append(
                Row(where, item.label, lync_name(name), show(expected), show(found), status)
            )
        return rows

    return Probe(where, item.label, call, rule)


@dataclass(frozen=True)
class UsersProbe:
    """Get-CsUser for each user of a tag policy, read in batches: each holds the policy
    (Grant-CsExternalAccessPolicy was applied). The answer maps each user to its object, or
    None for a name nobody has."""

    users: tuple[str, ...]
    policy: str
    where: Target = "front end"
    subject: str = "CsUser"

    def judge(self, answer: UsersAnswer) -> list[Row]:
        """One row per user, up to :data:`NAMED_AT_MOST` users; a failed read is one ERROR
        row for them all.

        A department of thousands would drown the few problems in rows of OK, so beyond
        that the users who hold the policy are one row, and of those with the same other
        finding the first :data:`NAMED_AT_MOST` are named and the rest are one row.
        """
        if isinstance(answer, Failed):
            subject = f"CsUser ({len(self.users)} users)"
            return [
                Row(
                    self.where,
                    subject,
                    "Get-CsUser",
                    "-",
                    answer.brief(self.where),
                    Status.ERROR,
                    len(self.users),
                )
            ]
        rows = [self._row(user, answer.get(user)) for user in self.users]
        return rows if len(rows) <= NAMED_AT_MOST else _told_together(rows)

    def _row(self, user: str, record: Mapping[str, Any] | None) -> Row:
        held = record.get("ExternalAccessPolicy") if record else None
        if record is None:
            found, status = "(no such user)", Status.MISSING
        elif not held:
            found, status = "(none)", Status.MISSING
        else:
            found = canonical_policy_identity(str(held))
            status = Status.OK if same_identity(found, self.policy) else Status.DIFFERENT
        return Row(self.where, f"CsUser {user}", "ExternalAccessPolicy", self.policy, found, status)


def _told_together(rows: Sequence[Row]) -> list[Row]:
    """Rows of users grouped by finding (status and value found), in the order each first
    appears: none named for OK, the first :data:`NAMED_AT_MOST` for any other; the rest of
    each group as one row counting them."""
    groups: dict[tuple[Status, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.status, row.found), []).append(row)
    told: list[Row] = []
    for (status, _), members in groups.items():
        named = [] if status is Status.OK else members[:NAMED_AT_MOST]
        rest = len(members) - len(named)
        told += named
        if rest:
            subject = f"CsUser ({rest} {'more ' if named else ''}users)"
            told.append(replace(members[0], subject=subject, count=rest))
    return told


def replication_probe(replicas: Sequence[str] | None, version: ServerVersion) -> Probe:
    """Get-CsManagementStoreReplicationStatus: each replica (the given ones, or every one
    reported) is UpToDate, and the ProductVersion they report is the configured version's."""
    subject = "Replication"

    def rule(records: Records) -> list[Row]:
        statuses = {s.fqdn.casefold(): s for s in map(ReplicaStatus.from_record, records)}
        wanted = list(replicas) if replicas else [s.fqdn for s in statuses.values()]
        if not wanted:
            return [
                Row("front end", subject, "replicas", "UpToDate", "(none reported)", Status.MISSING)
            ]
        rows = [_replica_row(fqdn, statuses.get(fqdn.casefold())) for fqdn in wanted]
        return [_version_row(version, list(statuses.values())), *rows]

    return Probe("front end", subject, CmdletCall("Get-CsManagementStoreReplicationStatus"), rule)


def _version_row(version: ServerVersion, statuses: Sequence[ReplicaStatus]) -> Row:
    """lync:serverVersion against the ProductVersion the replicas report."""
    reported = sorted({s.product_version for s in statuses if s.product_version})
    expected = f"{version.label} (lync:serverVersion {version.value})"
    if not reported:
        return Row(
            "front end", "Server version", "ProductVersion", expected, "(blank)", Status.MISSING
        )
    verdict = Status.DIFFERENT if version_mismatch(version, reported) else Status.OK
    return Row(
        "front end", "Server version", "ProductVersion", expected, ", ".join(reported), verdict
    )


def _replica_row(fqdn: str, status: ReplicaStatus | None) -> Row:
    subject = f"Replica {fqdn}"
    if status is None:
        return Row("front end", subject, "UpToDate", "True", NOT_FOUND, Status.MISSING)
    found = show(status.up_to_date)
    if not status.up_to_date:
        report = status.last_status_report
        found += f" (last report {report.isoformat() if report else '(blank)'})"
    verdict = Status.OK if status.up_to_date else Status.DIFFERENT
    return Row("front end", subject, "UpToDate", "True", found, verdict)


def plan(
    args: ExchangeOnlineIntegrationArgs, version: ServerVersion, *, include_edge: bool
) -> list[Probe | UsersProbe]:
    """Every probe for this configuration, front end first, then the Edge's local store."""
    objects = expectations(args)
    probes: list[Probe | UsersProbe] = [object_probe(item, "front end") for item in objects]
    policy = canonical_policy_identity(args.policy_identity)
    if policy_scope(policy) == "Tag":
        probes.append(UsersProbe(tuple(args.policy_users), policy))
    probes.append(replication_probe(args.replicas, version))
    if include_edge:
        probes += [object_probe(item, "Edge") for item in objects]
    return probes


def exit_code(rows: Sequence[Row]) -> int:
    """0 when everything is in place, 1 when something is missing or different, 2 when
    something could not be checked."""
    statuses = {row.status for row in rows}
    if Status.ERROR in statuses:
        return 2
    return 1 if statuses & {Status.MISSING, Status.DIFFERENT} else 0
