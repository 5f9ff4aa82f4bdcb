"""ExternalAccessPolicyAssignment reads and grants users many to a pipeline (lync:batchSize).

Pipelines are counted by the emulator (``PIPELINES_RUN``) and the order of what ran comes
from its audit log, so each test asserts what the server really received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from math import ceil
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.remoting import CmdletCall, LyncSession
from lync_provider.resources import (
    ExternalAccessPolicyAssignment,
    ExternalAccessPolicyAssignmentProvider,
    LyncResourceError,
)
from lync_provider.resources.directory import NAMED_AT_MOST
from tests.provider.helpers import frontend_settings
from tests.resources.conftest import PROJECT, Stack, plain_config, seed_users, store_state
from tests.support.engine import ProviderError, declare

FIVE = [
    "sip:alice@contoso.com",
    "bob@contoso.com",
    "carol@contoso.local",  # a UPN
    "sip:dave@contoso.com",
    "erin@contoso.com",
]
GET, GRANT = "Get-CsUser", "Grant-CsExternalAccessPolicy"


def pipelines(emu: Emulator) -> int:
    return emu.counters[Counter.PIPELINES_RUN, "frontend"]


def frontend_writes(emu: Emulator) -> list[str]:
    """Writes sent over the wire (the seeding done at the server's own shell excluded)."""
    return [e.cmdlet for e in emu.audit.writes() if e.role == "frontend"]


def policy_of(emu: Emulator, user: str) -> str:
    [record] = emu.run_cmdlet(GET, user)
    return str(record.properties["ExternalAccessPolicy"] or "")


@pytest.fixture
def provider(lync_emulator: Emulator) -> Callable[..., ExternalAccessPolicyAssignmentProvider]:
    """A configured provider with the given ``lync:batchSize``; the OWA and Other tag
    policies exist."""
    for tag in ("tag:OWA", "tag:Other"):
        lync_emulator.run_cmdlet("New-CsExternalAccessPolicy", tag, EnableOutsideAccess=True)

    def make(batch: int = 2) -> ExternalAccessPolicyAssignmentProvider:
        config = {**plain_config(lync_emulator), "lync:batchSize": str(batch)}
        made = ExternalAccessPolicyAssignmentProvider()
        made.configure(ConfigureRequest(Config(config, PROJECT)))
        return made

    return make


def inputs(made: ExternalAccessPolicyAssignmentProvider, users: list[str]) -> dict[str, Any]:
    checked = made.check({}, {"policy_name": "tag:OWA", "users": users})
    assert checked.failures == []
    return dict(checked.inputs)


def ran_since(emu: Emulator, audited: int) -> list[tuple[str, str]]:
    """(cmdlet, identity) of each front-end invocation after the first ``audited``."""
    return [
        (e.cmdlet, str(e.parameters.get("Identity")))
        for e in emu.audit.entries()[audited:]
        if e.role == "frontend"
    ]


def test_create_reads_each_batch_before_granting_it_and_grants_ride_with_the_next_reads(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    made = provider(batch=2)
    props = inputs(made, FIVE)
    start, audited = pipelines(lync_emulator), len(lync_emulator.audit.entries())

    created = made.create(props)

    # read 1 | grant 1, read 2 | grant 2, read 3 | grant 3: ceil(5/2) + 1 pipelines.
    assert pipelines(lync_emulator) - start == ceil(len(FIVE) / 2) + 1
    ran = ran_since(lync_emulator, audited)
    steps = [[GET] * 2, [GRANT] * 2 + [GET] * 2, [GRANT] * 2 + [GET], [GRANT]]
    assert [cmdlet for cmdlet, _ in ran] == [cmdlet for step in steps for cmdlet in step]
    for user in FIVE:  # each prior policy is known before that user's grant
        assert ran.index((GET, user)) < ran.index((GRANT, user))
    assert all(policy_of(lync_emulator, user) == "OWA" for user in FIVE)
    assert created.outs["users"] == FIVE


def test_refresh_and_destroy_batch_too_and_give_each_user_its_prior_policy(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    lync_emulator.run_cmdlet(GRANT, "dave@contoso.com", "Other")
    before = store_state(lync_emulator)
    made = provider(batch=2)
    created = made.create(inputs(made, FIVE))
    batches = ceil(len(FIVE) / 2)

    start = pipelines(lync_emulator)
    read = made.read(created.id, created.outs)
    assert pipelines(lync_emulator) - start == batches
    assert read.outs["users"] == FIVE

    start = pipelines(lync_emulator)
    made.delete(created.id, read.outs)
    assert pipelines(lync_emulator) - start == batches + 1
    assert store_state(lync_emulator) == before  # dave holds Other again, the rest nothing


def test_users_who_already_hold_the_policy_are_not_granted_again(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    for user in FIVE[:2]:
        lync_emulator.run_cmdlet(GRANT, user, "OWA")
    before = store_state(lync_emulator)
    made = provider(batch=100)

    created = made.create(inputs(made, FIVE[:2]))
    made.delete(created.id, created.outs)

    assert frontend_writes(lync_emulator) == []  # adopting an assignment in place writes nothing
    assert store_state(lync_emulator) == before


def test_names_that_may_name_several_users_are_read_alone(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    """A display name or DOMAIN\\logon is not matched against a batch's answers."""
    made = provider(batch=100)
    users = ["Alice Adams", "CONTOSO\\bob", "carol@contoso.com", "dave@contoso.com"]
    props = inputs(made, users)
    start = pipelines(lync_emulator)

    created = made.create(props)

    # The batch's reads; Alice read alone with the batch's grants; bob with Alice's grant;
    # bob's grant.
    assert pipelines(lync_emulator) - start == 4
    assert [policy_of(lync_emulator, user) for user in users] == ["OWA"] * 4
    assert [p["user"] for p in created.outs["prior_policies"]] == users


def test_users_nobody_has_are_named_together_and_nothing_is_granted(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    """Get-CsUser's ObjectNotFound names its user, so missing users in the batch being read
    are known before its grants are sent."""
    made = provider(batch=100)
    props = inputs(made, ["alice@contoso.com", "nobody@contoso.com", "ghost@contoso.com"])
    start = pipelines(lync_emulator)

    with pytest.raises(LyncResourceError) as raised:
        made.create(props)

    assert "2 users were not found: 'nobody@contoso.com', 'ghost@contoso.com'" in str(raised.value)
    assert frontend_writes(lync_emulator) == []
    assert pipelines(lync_emulator) - start == 1


def test_many_users_nobody_has_are_named_up_to_a_limit_and_all_logged(
    lync_emulator: Emulator,
    provider: Callable[..., ExternalAccessPolicyAssignmentProvider],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A list in the wrong domain misses every user: the error names the first
    NAMED_AT_MOST and counts the rest, and the log names them all."""
    made = provider(batch=100)
    ghosts = [f"ghost{i:03d}@fabrikam.com" for i in range(NAMED_AT_MOST * 3)]
    props = inputs(made, ghosts)

    with (
        caplog.at_level(logging.WARNING, "lync_provider"),
        pytest.raises(LyncResourceError) as raised,
    ):
        made.create(props)

    listed = ", ".join(map(repr, ghosts[:NAMED_AT_MOST]))
    rest = len(ghosts) - NAMED_AT_MOST
    assert f"{len(ghosts)} users were not found: {listed} and {rest} more" in str(raised.value)
    assert not any(ghost in str(raised.value) for ghost in ghosts[NAMED_AT_MOST:])
    assert all(ghost in caplog.text for ghost in ghosts)
    assert frontend_writes(lync_emulator) == []


def test_a_user_missing_from_a_later_batch_stops_the_grants_and_undoes_those_sent(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    """Batch 1's grants ride with batch 2's reads, so they have run when batch 2 finds a
    user nobody has: no more grants go out, the reads go on to name every missing user,
    and batch 1's users get back what they held."""
    lync_emulator.run_cmdlet(GRANT, "bob@contoso.com", "Other")
    before = store_state(lync_emulator)
    made = provider(batch=2)
    users = ["alice@contoso.com", "bob@contoso.com", "nobody@contoso.com", "carol@contoso.com"]
    users += ["ghost@contoso.com"]
    audited = len(lync_emulator.audit.entries())

    with pytest.raises(LyncResourceError) as raised:
        made.create(inputs(made, users))

    assert "2 users were not found: 'nobody@contoso.com', 'ghost@contoso.com'" in str(raised.value)
    ran = ran_since(lync_emulator, audited)
    granted = [user for cmdlet, user in ran if cmdlet == GRANT]
    assert granted == ["alice@contoso.com", "bob@contoso.com"] * 2  # sent, then given back
    assert (GET, "ghost@contoso.com") in ran
    assert store_state(lync_emulator) == before  # alice holds nothing, bob Other again


def test_a_user_the_server_refuses_is_named_and_the_others_are_given_back(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    lync_emulator.run_cmdlet(GRANT, "carol@contoso.com", "Other")
    before = store_state(lync_emulator)
    made = provider(batch=100)
    props = inputs(made, ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"])
    # bob's grant fails in the batch (stopping it) and again when sent alone.
    lync_emulator.faults.fail_invocation(GRANT, 2)
    lync_emulator.faults.fail_invocation(GRANT, 3)

    with pytest.raises(LyncResourceError) as raised:
        made.create(props)

    text = str(raised.value)
    assert "refused for 1 of 3 user(s)" in text and lync_emulator.frontend_url in text
    lines = text.splitlines()
    [refused] = [i for i, line in enumerate(lines) if "InjectedFault" in line]
    assert lines[refused + 1].strip() == "user: 'bob@contoso.com'"
    assert store_state(lync_emulator) == before  # alice unassigned, carol holds Other again


def test_a_refusal_many_users_share_is_told_once_with_the_first_names_and_a_count(
    lync_emulator: Emulator,
    provider: Callable[..., ExternalAccessPolicyAssignmentProvider],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A policy removed by hand refuses every grant with the same error: it is said once,
    with the first NAMED_AT_MOST users and how many more; the log has every name."""
    users = seed_users(lync_emulator, NAMED_AT_MOST + 7)
    made = provider(batch=100)
    props = inputs(made, users)
    lync_emulator.run_cmdlet("Remove-CsExternalAccessPolicy", "tag:OWA")
    before = store_state(lync_emulator)

    with (
        caplog.at_level(logging.WARNING, "lync_provider"),
        pytest.raises(LyncResourceError) as raised,
    ):
        made.create(props)

    text = str(raised.value)
    assert f"refused for {len(users)} of {len(users)} user(s)" in text
    [refusal] = {e.error_id for e in lync_emulator.audit.entries(GRANT) if e.outcome != "ok"}
    assert text.count(f"FullyQualifiedErrorId: {refusal}") == 1
    assert (
        f"{len(users)} users: " + ", ".join(map(repr, users[:NAMED_AT_MOST])) + " and 7 more"
        in text
    )
    assert not any(user in text for user in users[NAMED_AT_MOST:])
    assert all(user in caplog.text for user in users)
    assert store_state(lync_emulator) == before


def test_a_one_off_refusal_in_a_batch_costs_one_more_grant_not_the_others(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    made = provider(batch=100)
    users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    props = inputs(made, users)
    lync_emulator.faults.fail_invocation(GRANT, 2)

    made.create(props)

    assert [policy_of(lync_emulator, user) for user in users] == ["OWA"] * 3
    grants = [e.parameters["Identity"] for e in lync_emulator.audit.entries(GRANT)]
    # The batch ran alice and stopped at bob; then the two not yet holding it, alone.
    assert grants == [*users[:2], *users[1:]]


def test_a_batch_larger_than_one_envelope_is_sent_in_fragments(lync_emulator: Emulator) -> None:
    """A thousand statements exceed pypsrp's 150 KiB envelope: the pipeline goes out in
    several WS-Management messages, and its thousand error records come back in several."""
    session = LyncSession(frontend_settings(lync_emulator))
    calls = [CmdletCall(GET, {"Identity": f"nobody{i:04d}@contoso.com"}) for i in range(1000)]
    start = pipelines(lync_emulator)
    requests = lync_emulator.counters[Counter.HTTP_REQUESTS, "frontend"]
    try:
        reply = session.read_all(calls)
    finally:
        session.close()
    assert reply.records == [] and len(reply.errors) == 1000
    assert {e.fully_qualified_error_id for e in reply.errors} == {
        lync_emulator.audit.entries(GET)[0].error_id
    }
    assert pipelines(lync_emulator) - start == 1
    assert lync_emulator.counters[Counter.HTTP_REQUESTS, "frontend"] - requests > 4
    assert len(lync_emulator.audit.entries(GET)) == 1000


def test_a_batch_of_reads_the_server_refuses_is_read_one_by_one(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    """Were a missing user's Get-CsUser terminating on a real server (lync-cmdlets.md leaves
    it UNCERTAIN), a batch would stop at it; then each user is read alone, as before."""
    made = provider(batch=100)
    users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    props = inputs(made, users)
    lync_emulator.faults.fail_invocation(GET, 2)  # the batch's second statement
    audited = len(lync_emulator.audit.entries())

    made.create(props)

    reads = [
        (e.parameters["Identity"], e.outcome)
        for e in lync_emulator.audit.entries()[audited:]
        if e.cmdlet == GET
    ]
    assert reads == [
        ("alice@contoso.com", "ok"),
        ("bob@contoso.com", "failed"),  # stopped the batch: carol was never read in it
        *((user, "ok") for user in users),
    ]
    assert [policy_of(lync_emulator, user) for user in users] == ["OWA"] * 3


def test_an_error_the_reads_do_not_explain_has_the_grants_checked_one_by_one(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    """A non-terminating error from a Grant lets the pipeline go on; it is not a Get-CsUser
    ObjectNotFound, so the batch's users are read back and the one lacking the policy is
    granted alone, and the reads that shared the pipeline are sent again."""
    made = provider(batch=2)
    users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    lync_emulator.faults.fail_invocation(GRANT, 2, terminating=False)  # bob's, in batch 1
    audited = len(lync_emulator.audit.entries())

    created = made.create(inputs(made, users))

    assert [policy_of(lync_emulator, user) for user in users] == ["OWA"] * 3
    ran = ran_since(lync_emulator, audited)
    grants = [user for cmdlet, user in ran if cmdlet == GRANT]
    assert grants == [
        "alice@contoso.com",
        "bob@contoso.com",
        "bob@contoso.com",
        "carol@contoso.com",
    ]
    assert [user for cmdlet, user in ran if cmdlet == GET].count("carol@contoso.com") == 2
    assert created.outs["users"] == users


def test_a_lost_answer_of_grants_with_reads_is_settled_and_the_reads_sent_again(
    lync_emulator: Emulator, provider: Callable[..., ExternalAccessPolicyAssignmentProvider]
) -> None:
    made = provider(batch=2)
    users = ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    before = store_state(lync_emulator)
    # The pipeline "grant alice, bob; read carol" runs, but its answer is lost.
    lync_emulator.faults.drop_reply_after(GRANT, 2)
    audited = len(lync_emulator.audit.entries())

    start = pipelines(lync_emulator)

    created = made.create(inputs(made, users))

    assert [policy_of(lync_emulator, user) for user in users] == ["OWA"] * 3
    ran = ran_since(lync_emulator, audited)
    assert [user for cmdlet, user in ran if cmdlet == GRANT] == users  # never sent twice
    # read 1 | grant 1 + read carol (lost) | read 1 back | read carol again | grant carol
    assert [user for cmdlet, user in ran if cmdlet == GET].count("carol@contoso.com") == 2
    assert pipelines(lync_emulator) - start == 5
    assert created.outs["users"] == users
    made.delete(created.id, created.outs)
    assert store_state(lync_emulator) == before


def test_a_department_refused_reaches_the_engine_as_one_readable_error(stack: Stack) -> None:
    """Through the provider process: 300 grants refused alike come back as an error the
    engine can take (gRPC carries it as metadata, which clients cap: 16 KiB for the stand-in's
    channel) and a person can read, not a page per user."""
    users = seed_users(stack.emu, 300)
    stack.emu.run_cmdlet("New-CsExternalAccessPolicy", "tag:OWA", EnableOutsideAccess=True)
    grant = declare(
        ExternalAccessPolicyAssignment,
        "grant",
        ExternalAccessPolicyAssignmentProvider(),
        {"policy_name": "tag:OWA", "users": users},
    )
    stack.emu.run_cmdlet("Remove-CsExternalAccessPolicy", "tag:OWA")  # by hand, before the up
    before = store_state(stack.emu)

    with pytest.raises(ProviderError) as raised:
        stack.engine.up([grant])

    text = str(raised.value)
    assert "Grant-CsExternalAccessPolicy was refused for 100 of 100 user(s)" in text
    assert f"100 users: {users[0]!r}" in text and f"and {100 - NAMED_AT_MOST} more" in text
    assert len(text) < 4096
    assert stack.engine.state == {} and store_state(stack.emu) == before


def test_a_missing_domain_logon_is_named_as_typed_in_the_management_shell(
    provider: Callable[..., ExternalAccessPolicyAssignmentProvider],
) -> None:
    made = provider(batch=100)
    with pytest.raises(LyncResourceError) as raised:
        made.create(inputs(made, ["CONTOSO\\ghost"]))
    # One backslash, as an administrator types it (Python's repr would show two).
    assert "user 'CONTOSO\\ghost' was not found" in str(raised.value)
