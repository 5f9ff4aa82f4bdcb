"""The check's rules on records fed directly: no server, no table."""

from __future__ import annotations

from lync_provider.cli.check_rules import (
    Failed,
    Row,
    Status,
    UsersProbe,
    exit_code,
    expectations,
    object_probe,
    plan,
    replication_probe,
)
from lync_provider.cli.check_table import summary
from lync_provider.integration import ExchangeOnlineIntegrationArgs
from lync_provider.lync.versions import ServerVersion
from lync_provider.resources.directory import NAMED_AT_MOST

V2013 = ServerVersion.LYNC_2013

EXO = {
    "Identity": "exchange online",
    "ProxyFqdn": "EXAP.UM.OUTLOOK.COM",
    "Enabled": True,
    "EnabledSharedAddressSpace": True,
    "HostsOCSUsers": False,
    "IsLocal": False,
    "VerificationLevel": "UseSourceVerification",
}


def statuses(rows: list[Row]) -> dict[str, Status]:
    return {row.item: row.status for row in rows}


def test_values_compare_as_the_providers_compare_them() -> None:
    probe = object_probe(expectations(ExchangeOnlineIntegrationArgs())[1], "front end")
    assert set(statuses(probe.judge([EXO])).values()) == {Status.OK}
    rows = probe.judge([{**EXO, "HostsOCSUsers": True, "VerificationLevel": None}])
    assert statuses(rows)["HostsOCSUsers"] == Status.DIFFERENT
    [level] = [r for r in rows if r.item == "VerificationLevel"]
    assert (level.found, level.status) == ("(blank)", Status.DIFFERENT)


def test_an_absent_object_is_missing_property_by_property() -> None:
    args = ExchangeOnlineIntegrationArgs(cloud="21vianet")
    probe = object_probe(expectations(args)[1], "Edge")
    assert probe.call.render() == "Get-CsHostingProvider -Identity 'Exchange Online' -LocalStore"
    rows = probe.judge([])
    assert {r.status for r in rows} == {Status.MISSING}
    assert ("ProxyFqdn", "exap.um.partner.outlook.cn") in {(r.item, r.expected) for r in rows}


def test_each_user_must_hold_the_tag_policy() -> None:
    users = ("sip:alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "nobody@x.com")
    probe = UsersProbe(users, "Tag:OWA")
    rows = probe.judge(
        {
            "sip:alice@contoso.com": {"ExternalAccessPolicy": "owa"},
            "bob@contoso.com": {"ExternalAccessPolicy": "Tag:Other"},
            "carol@contoso.com": {"ExternalAccessPolicy": None},
            "nobody@x.com": None,
        }
    )
    assert [(r.subject, r.status) for r in rows] == [
        ("CsUser sip:alice@contoso.com", Status.OK),
        ("CsUser bob@contoso.com", Status.DIFFERENT),
        ("CsUser carol@contoso.com", Status.MISSING),
        ("CsUser nobody@x.com", Status.MISSING),
    ]
    assert rows[3].found == "(no such user)"
    [failed] = probe.judge(Failed("no connection", unreachable=True))
    assert failed.status == Status.ERROR and failed.subject == "CsUser (4 users)"
    assert summary([failed]) == "4 checks: 4 ERROR"  # not one check: four users unchecked


def test_a_department_is_told_by_finding_with_only_the_problems_named() -> None:
    """Beyond NAMED_AT_MOST users, the OK ones are one row; of each other finding the first
    NAMED_AT_MOST users are named and the rest are one row; the summary counts every user."""
    held = {"ExternalAccessPolicy": "Tag:OWA"}
    bare = {"ExternalAccessPolicy": None}
    other = {"ExternalAccessPolicy": "Tag:Other"}
    answer: dict[str, dict[str, object] | None] = {}
    for i in range(30):  # interleaved, as a real list would be
        answer[f"ok{i}@contoso.com"] = held
        if i < NAMED_AT_MOST + 5:
            answer[f"bare{i}@contoso.com"] = bare
    answer["moved@contoso.com"] = other
    answer["gone@contoso.com"] = None
    rows = UsersProbe(tuple(answer), "Tag:OWA").judge(answer)

    bare_users = [f"bare{i}@contoso.com" for i in range(NAMED_AT_MOST + 5)]
    assert [(r.subject, r.found, r.status, r.count) for r in rows] == [
        ("CsUser (30 users)", "Tag:OWA", Status.OK, 30),
        *[(f"CsUser {u}", "(none)", Status.MISSING, 1) for u in bare_users[:NAMED_AT_MOST]],
        ("CsUser (5 more users)", "(none)", Status.MISSING, 5),
        ("CsUser moved@contoso.com", "Tag:Other", Status.DIFFERENT, 1),
        ("CsUser gone@contoso.com", "(no such user)", Status.MISSING, 1),
    ]
    assert summary(rows) == f"{len(answer)} checks: 30 OK, 26 MISSING, 1 DIFFERENT"
    assert exit_code(rows) == 1
    # Up to NAMED_AT_MOST users, each has a row of its own, OK or not.
    few = dict(list(answer.items())[:NAMED_AT_MOST])
    assert len(UsersProbe(tuple(few), "Tag:OWA").judge(few)) == NAMED_AT_MOST


def test_replicas_are_the_configured_ones_or_every_one_reported() -> None:
    records = [
        {"ReplicaFqdn": "fe01.contoso.com", "UpToDate": True},
        {"ReplicaFqdn": "edge01.contoso.com", "UpToDate": False, "LastStatusReport": None},
    ]
    every = replication_probe(None, V2013).judge(records)[1:]
    assert [(r.subject, r.status) for r in every] == [
        ("Replica fe01.contoso.com", Status.OK),
        ("Replica edge01.contoso.com", Status.DIFFERENT),
    ]
    assert every[1].found == "False (last report (blank))"
    chosen = replication_probe(["FE01.contoso.com", "fe02.contoso.com"], V2013).judge(records)
    assert [r.status for r in chosen[1:]] == [Status.OK, Status.MISSING]
    assert replication_probe(None, V2013).judge([])[0].status == Status.MISSING


def test_the_reported_product_version_is_checked_against_the_configured_one() -> None:
    def version_row(version: ServerVersion, *products: str | None) -> Row:
        records = [
            {"ReplicaFqdn": f"s{i}.contoso.com", "UpToDate": True, "ProductVersion": product}
            for i, product in enumerate(products)
        ]
        [row] = [
            r
            for r in replication_probe(None, version).judge(records)
            if r.subject == "Server version"
        ]
        return row

    row = version_row(V2013, "5.0.8308.0", None)
    assert (row.status, row.found) == (Status.OK, "5.0.8308.0")
    assert "Lync Server 2013" in row.expected and "lync:serverVersion 2013" in row.expected
    assert version_row(ServerVersion.SFB_2019, "7.0.2046.0").status == Status.OK
    assert version_row(ServerVersion.SFB_SE, "7.0.2046.889").status == Status.OK
    assert version_row(ServerVersion.SFB_2015, "6.0.9319.0").status == Status.OK
    mismatch = version_row(V2013, "7.0.2046.0", "7.0.2046.0")
    assert (mismatch.status, mismatch.found) == (Status.DIFFERENT, "7.0.2046.0")
    assert version_row(ServerVersion.SFB_2019, "6.0.9319.0").status == Status.DIFFERENT
    assert version_row(V2013, None).status == Status.MISSING


def test_a_failed_read_is_an_error_row() -> None:
    probe = replication_probe(None, V2013)
    [row] = probe.judge(Failed("Could not connect (http://x)", unreachable=True))
    assert (row.status, row.found) == (Status.ERROR, "not checked: no connection to the front end")
    [row] = probe.judge(Failed("Lync refused the command: access denied"))
    assert row.found == "Lync refused the command: access denied"


def test_exit_code_and_summary() -> None:
    def row(status: Status) -> Row:
        return Row("front end", "x", "y", "a", "b", status)

    assert exit_code([row(Status.OK)]) == 0
    assert exit_code([row(Status.OK), row(Status.MISSING)]) == 1
    assert exit_code([row(Status.DIFFERENT)]) == 1
    assert exit_code([row(Status.MISSING), row(Status.ERROR)]) == 2
    assert summary([row(Status.OK), row(Status.OK), row(Status.MISSING)]) == (
        "3 checks: 2 OK, 1 MISSING"
    )


def test_the_plan_follows_the_configuration_and_only_reads() -> None:
    tag = ExchangeOnlineIntegrationArgs(policy_identity="tag:OWA", policy_users=["a", "b"])
    probes = plan(tag, V2013, include_edge=True)
    [users] = [p for p in probes if isinstance(p, UsersProbe)]
    assert (users.users, users.policy) == (("a", "b"), "Tag:OWA")
    calls = [p.call for p in probes if not isinstance(p, UsersProbe)]
    assert all(call.is_read for call in calls)
    assert sum(p.where == "Edge" for p in probes) == 3
    plain = plan(ExchangeOnlineIntegrationArgs(), V2013, include_edge=False)
    assert not any(isinstance(p, UsersProbe) for p in plain)
    assert [p.call.cmdlet for p in plain if not isinstance(p, UsersProbe)] == [
        "Get-CsAccessEdgeConfiguration",
        "Get-CsHostingProvider",
        "Get-CsExternalAccessPolicy",
        "Get-CsManagementStoreReplicationStatus",
    ]
