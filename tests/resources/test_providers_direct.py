"""The same providers as plain Python objects: the methods the engine would call, in-process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import Unknown

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.replication import EdgeVerificationProvider
from lync_provider.resources import (
    ExternalAccessPolicyAssignmentProvider,
    ExternalAccessPolicyProvider,
    HostingProviderProvider,
    LyncResourceError,
)
from lync_provider.resources.base import STATUS, LyncProvider
from tests.resources.conftest import PROJECT, plain_config, store_state
from tests.resources.scenarios import EXCHANGE_ONLINE, SCENARIOS, Scenario

Make = Callable[[type[LyncProvider]], LyncProvider]


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_full_lifecycle_on_provider_objects(
    configured: Make, lync_emulator: Emulator, s: Scenario
) -> None:
    s.setup(lync_emulator)
    before = store_state(lync_emulator)
    provider = configured(s.provider)
    checked = provider.check({}, s.inputs)
    assert checked.failures == []
    created = provider.create(checked.inputs)
    assert s.read_live(lync_emulator) == s.desired_live
    assert provider.diff(created.id, created.outs, checked.inputs).changes is False

    cmdlet, positional, named = s.out_of_band
    lync_emulator.run_cmdlet(cmdlet, *positional, **named)
    read = provider.read(created.id, created.outs)
    key, drifted = s.drifted_output
    assert read.outs[key] == drifted
    assert read.inputs is not None and read.inputs[key] == drifted
    assert provider.diff(read.id, read.outs, checked.inputs).changes is True

    updated = provider.update(read.id, read.outs, provider.check({}, s.updated).inputs)
    assert (
        provider.diff(read.id, updated.outs, provider.check({}, s.updated).inputs).changes is False
    )
    provider.delete(read.id, updated.outs or {})
    assert store_state(lync_emulator) == before


def test_deleting_what_is_already_gone_succeeds(configured: Make, lync_emulator: Emulator) -> None:
    provider = configured(HostingProviderProvider)
    created = provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    lync_emulator.run_cmdlet("Remove-CsHostingProvider", "Exchange Online")
    assert provider.read(created.id, created.outs).id == ""
    provider.delete(created.id, created.outs)


def test_a_failed_create_leaves_nothing_behind(configured: Make, lync_emulator: Emulator) -> None:
    provider = configured(HostingProviderProvider)
    # Get- finds nothing, New- succeeds, then the read-back fails: the new provider must be
    # removed again.
    lync_emulator.faults.fail_invocation("Get-CsHostingProvider", nth=2)
    with pytest.raises(LyncResourceError, match="InjectedFault"):
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    assert lync_emulator.run_cmdlet("Get-CsHostingProvider") == []
    cmdlets = [e.cmdlet for e in lync_emulator.audit.writes()]
    assert cmdlets == ["New-CsHostingProvider", "Remove-CsHostingProvider"]


def test_a_create_the_server_went_silent_on_says_what_reading_back_found(
    lync_emulator: Emulator,
) -> None:
    """The resource's error carries the session's notes: here that a read-back found the
    object absent, though the command may yet run (so nothing was sent again)."""
    provider = HostingProviderProvider()
    config = {**plain_config(lync_emulator), "lync:operationTimeout": "2"}
    config["lync:connectTimeout"] = "1"
    provider.configure(ConfigureRequest(Config(config, PROJECT)))
    provider.frontend().read(STATUS)  # the session is open, so the next request is a Command
    lync_emulator.faults.ignore_next_requests(1)
    with pytest.raises(LyncResourceError) as caught:
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    lync_emulator.faults.hear_again()
    text = str(caught.value)
    assert "Connected, but no answer within 3 s during a change" in text
    assert "it had not taken effect yet; the command may still have run" in text
    assert lync_emulator.audit.writes() == []


def test_errors_name_resource_cmdlet_server_words_and_fix(
    configured: Make, lync_emulator: Emulator
) -> None:
    provider = configured(HostingProviderProvider)
    lync_emulator.run_cmdlet(
        "New-CsHostingProvider",
        "Other",
        ProxyFqdn="exap.um.outlook.com",
        Enabled=True,
        EnabledSharedAddressSpace=True,
        HostsOCSUsers=False,
    )
    with pytest.raises(LyncResourceError) as caught:
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    text = str(caught.value)
    assert text.startswith("HostingProvider 'Exchange Online': could not create it.")
    assert "New-CsHostingProvider -Identity 'Exchange Online'" in text
    assert lync_emulator.frontend_url.split("/")[2] in text
    assert "FullyQualifiedErrorId: DuplicateProxyFqdn" in text
    assert "hint:" in text
    assert lync_emulator.password not in text


def test_preview_unknowns_pass_check_and_count_as_changes(configured: Make) -> None:
    provider = configured(HostingProviderProvider)
    news = {**EXCHANGE_ONLINE, "proxy_fqdn": Unknown()}
    checked = provider.check({}, news)
    assert checked.failures == []
    assert isinstance(checked.inputs["proxy_fqdn"], Unknown)
    diff = provider.diff("Exchange Online", {**EXCHANGE_ONLINE}, checked.inputs)
    assert diff.changes is True and diff.replaces == ["proxy_fqdn"]


def test_unset_properties_are_neither_written_nor_compared(
    configured: Make, lync_emulator: Emulator
) -> None:
    provider = configured(HostingProviderProvider)
    minimal = {"identity": "Exchange Online", "proxy_fqdn": "exap.um.outlook.com", "enabled": True}
    created = provider.create(provider.check({}, minimal).inputs)
    lync_emulator.run_cmdlet("Set-CsHostingProvider", "Exchange Online", IsLocal=True)
    read = provider.read(created.id, created.outs)
    assert "is_local" not in read.outs
    assert provider.diff(read.id, read.outs, provider.check({}, minimal).inputs).changes is False
    [new] = lync_emulator.audit.entries("New-CsHostingProvider")
    assert "IsLocal" not in new.parameters and "SipClientPort" not in new.parameters


def test_the_provider_pickles_without_credentials(configured: Make) -> None:
    provider = configured(HostingProviderProvider)
    provider.read("Exchange Online", {})  # configured and connected: a session exists
    blob = dill.dumps(provider, recurse=True)
    assert b"Secret123!" not in blob and len(blob) < 200
    assert "Secret123!" not in repr(vars(provider))


def test_missing_connection_config_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LYNC_FRONTEND_URL", raising=False)
    provider = HostingProviderProvider()
    provider.configure(ConfigureRequest(Config({}, PROJECT)))
    with pytest.raises(LyncResourceError, match=r"pulumi config set lync:frontEndUrl"):
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)


def test_environment_variables_are_the_fallback(
    lync_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    env: dict[str, Any] = {
        "LYNC_FRONTEND_URL": lync_emulator.frontend_url,
        "LYNC_USERNAME": lync_emulator.username,
        "LYNC_PASSWORD": lync_emulator.password,
        "LYNC_AUTH": "basic",
        "LYNC_ENCRYPTION": "never",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    provider = HostingProviderProvider()
    provider.configure(ConfigureRequest(Config({}, PROJECT)))
    provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    assert lync_emulator.run_cmdlet("Get-CsHostingProvider", "Exchange Online")


def test_a_user_who_left_is_skipped_on_read_and_delete(
    configured: Make, lync_emulator: Emulator
) -> None:
    lync_emulator.run_cmdlet("New-CsExternalAccessPolicy", "tag:OWA")
    provider = configured(ExternalAccessPolicyAssignmentProvider)
    inputs = provider.check(
        {}, {"policy_name": "tag:OWA", "users": ["alice@contoso.com", "bob@contoso.com"]}
    ).inputs
    created = provider.create(inputs)
    lync_emulator.run_cmdlet("Disable-CsUser", "bob@contoso.com")
    read = provider.read(created.id, created.outs)
    assert read.outs["users"] == ["alice@contoso.com"]
    with pytest.raises(LyncResourceError, match=r"'bob@contoso\.com' was not found") as caught:
        provider.update(read.id, read.outs, inputs)
    said = str(caught.value)
    assert said.startswith("ExternalAccessPolicyAssignment 'Tag:OWA': ")
    assert f"(Get-CsUser on {lync_emulator.frontend_url})" in said
    assert "enabled for Lync" in said
    provider.delete(read.id, read.outs)
    [alice] = lync_emulator.run_cmdlet("Get-CsUser", "alice@contoso.com")
    assert alice.properties["ExternalAccessPolicy"] is None


def seed_by_hand(emu: Emulator) -> None:
    """Exchange Online made at the server's own shell, with a proxy other than declared."""
    emu.run_cmdlet(
        "New-CsHostingProvider",
        "Exchange Online",
        ProxyFqdn="exap.um.outlook.com",
        Enabled=False,
        EnabledSharedAddressSpace=True,
        HostsOCSUsers=False,
    )


def replicas(emu: Emulator) -> list[Any]:
    return emu.run_cmdlet("Get-CsManagementStoreReplicationStatus")


@pytest.mark.parametrize(
    ("cls", "inputs"),
    [
        (ExternalAccessPolicyProvider, {"identity": "Global", "enable_outside_access": False}),
        (HostingProviderProvider, {**EXCHANGE_ONLINE, "adopt": True}),
    ],
    ids=["global-policy", "adopted-hosting-provider"],
)
def test_taking_over_what_already_holds_the_declared_values_writes_nothing(
    configured: Make, lync_emulator: Emulator, cls: type[LyncProvider], inputs: dict[str, Any]
) -> None:
    """The first up of an exported program: nothing to write, so the gate need only see the
    newest snapshot (changed_at just before it), and destroy gives back what was there
    without a write."""
    provider = configured(cls)
    if cls is HostingProviderProvider:  # made by hand before Pulumi, exactly as declared
        made = provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
        provider.journal.discard(lync_emulator.frontend_url, provider.kind, made.id)
    before, writes = store_state(lync_emulator), len(lync_emulator.audit.writes())

    created = provider.create(provider.check({}, inputs).inputs)
    provider.delete(created.id, created.outs)

    assert lync_emulator.audit.writes()[writes:] == []
    [newest] = {r.properties["LastUpdateCreation"] for r in replicas(lync_emulator)}
    assert created.outs["changed_at"] < newest.isoformat()  # any replica holding it counts
    assert store_state(lync_emulator) == before


def test_a_new_object_is_created_in_one_pipeline_dated_before_its_write(
    configured: Make, lync_emulator: Emulator
) -> None:
    """Replication status, Get-, New- and its read-back in one pipeline: the marker is the
    newest snapshot before New-, so the snapshot New- makes is newer than it."""
    provider = configured(HostingProviderProvider)
    [before] = {r.properties["LastUpdateCreation"] for r in replicas(lync_emulator)}
    start = lync_emulator.counters[Counter.PIPELINES_RUN, "frontend"]
    audited = len(lync_emulator.audit.entries())

    created = provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)

    assert lync_emulator.counters[Counter.PIPELINES_RUN, "frontend"] - start == 1
    ran = [e.cmdlet for e in lync_emulator.audit.entries()[audited:]]
    assert ran == [
        "Get-CsManagementStoreReplicationStatus",
        "Get-CsHostingProvider",  # absent: a non-terminating ObjectNotFound, New- runs
        "New-CsHostingProvider",
        "Get-CsHostingProvider",
    ]
    assert created.outs["changed_at"] == before.isoformat()
    assert provider.journal.find(lync_emulator.frontend_url, provider.kind, created.id) is None


def test_an_object_that_exists_is_refused_as_a_duplicate_then_read_and_adopted(
    configured: Make, lync_emulator: Emulator
) -> None:
    """New- refused as a duplicate wrote nothing; the object is read and, with adopt, taken
    over (its Enabled set) and given back, never removed, on delete."""
    provider = configured(HostingProviderProvider)
    seed_by_hand(lync_emulator)
    before, writes = store_state(lync_emulator), len(lync_emulator.audit.writes())
    audited = len(lync_emulator.audit.entries())

    created = provider.create(provider.check({}, {**EXCHANGE_ONLINE, "adopt": True}).inputs)

    ran = [(e.cmdlet, e.outcome) for e in lync_emulator.audit.entries()[audited:]]
    assert ran[:5] == [
        ("Get-CsManagementStoreReplicationStatus", "ok"),
        ("Get-CsHostingProvider", "ok"),
        ("New-CsHostingProvider", "failed"),  # a duplicate: nothing written
        ("Get-CsManagementStoreReplicationStatus", "ok"),
        ("Get-CsHostingProvider", "ok"),
    ]
    assert created.outs["adopted"] is True
    provider.delete(created.id, created.outs)
    assert [e.cmdlet for e in lync_emulator.audit.writes()[writes:]] == [
        "Set-CsHostingProvider"
    ] * 2
    assert store_state(lync_emulator) == before


def test_a_refused_status_read_costs_the_one_pipeline_not_the_create(
    configured: Make, lync_emulator: Emulator
) -> None:
    """The refusal stopped the pipeline before New-, so nothing is removed; the object is
    read, and created, with each read alone (dated_get's fallback)."""
    provider = configured(HostingProviderProvider)
    lync_emulator.faults.fail_invocation("Get-CsManagementStoreReplicationStatus")
    audited = len(lync_emulator.audit.entries())

    created = provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)

    ran = [(e.cmdlet, e.outcome) for e in lync_emulator.audit.entries()[audited:]]
    assert ran == [
        ("Get-CsManagementStoreReplicationStatus", "failed"),  # stopped the one pipeline
        ("Get-CsManagementStoreReplicationStatus", "ok"),
        ("Get-CsHostingProvider", "error"),  # absent: a non-terminating ObjectNotFound
        ("New-CsHostingProvider", "ok"),
        ("Get-CsHostingProvider", "ok"),
    ]
    assert created.outs["changed_at"] is not None


def test_a_refused_status_read_never_removes_an_object_that_was_there(
    configured: Make, lync_emulator: Emulator
) -> None:
    """New- never ran, so the object that exists is not this create's: without adopt the
    create is refused, and the object stays as it was."""
    provider = configured(HostingProviderProvider)
    seed_by_hand(lync_emulator)
    before = store_state(lync_emulator)
    lync_emulator.faults.fail_invocation("Get-CsManagementStoreReplicationStatus")

    with pytest.raises(LyncResourceError, match="already exists"):
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)

    assert store_state(lync_emulator) == before
    assert (
        provider.journal.find(lync_emulator.frontend_url, provider.kind, "Exchange Online") is None
    )


def test_a_lost_answer_to_the_one_pipeline_is_settled_by_the_declared_values(
    configured: Make, lync_emulator: Emulator
) -> None:
    """The object holds what was declared, so New- took effect: it is not sent again, and
    with no marker the gate falls back to its own start."""
    provider = configured(HostingProviderProvider)
    lync_emulator.faults.drop_reply_after("New-CsHostingProvider")

    created = provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)

    assert [e.outcome for e in lync_emulator.audit.entries("New-CsHostingProvider")] == ["ok"]
    assert "changed_at" not in created.outs
    assert created.outs["proxy_fqdn"] == EXCHANGE_ONLINE["proxy_fqdn"]


def test_edge_verification_without_an_edge_url_names_itself_and_the_key(
    lync_emulator: Emulator,
) -> None:
    config = {k: v for k, v in plain_config(lync_emulator).items() if k != "lync:edgeUrl"}
    provider = EdgeVerificationProvider()
    provider.configure(ConfigureRequest(Config(config, PROJECT)))
    props = {"access_edge": {"allow_federated_users": True}, "timeout_seconds": 1}
    with pytest.raises(LyncResourceError) as caught:
        provider.create(provider.check({}, props).inputs)
    said = str(caught.value)
    assert said.startswith("EdgeVerification 'the Edge': could not verify the Edge.")
    assert "pulumi config set lync:edgeUrl" in said


def test_a_configured_provider_pickles_without_its_connections(
    configured: Make, lync_emulator: Emulator
) -> None:
    """As the SDK's serialize_provider pickles it; unpickled, it is configured afresh."""
    provider = configured(HostingProviderProvider)
    assert provider.connections().frontend is not None
    pickled = dill.dumps(provider, recurse=True)
    assert lync_emulator.password.encode() not in pickled
    assert lync_emulator.password.encode("utf-16-le") not in pickled
    restored = dill.loads(pickled)  # noqa: S301 - pickled by this test
    assert type(restored) is HostingProviderProvider
    assert "_connections" not in vars(restored)


def test_a_refused_create_names_the_refused_cmdlet_and_its_error_first(
    configured: Make, lync_emulator: Emulator
) -> None:
    """A create sends the existence check and the New- in one pipeline; when the New- is
    refused, the message names it, and the expected not-found of the check comes after."""
    lync_emulator.run_cmdlet(
        "Set-CsAccessEdgeConfiguration", UseDefaultRouting=True, DefaultRouteFqdn="sip.isp.example"
    )
    provider = configured(HostingProviderProvider)
    with pytest.raises(LyncResourceError) as caught:
        provider.create(provider.check({}, EXCHANGE_ONLINE).inputs)
    text = str(caught.value)
    lines = text.splitlines()
    [command_line] = [line for line in lines if "Lync refused the command" in line]
    assert "New-CsHostingProvider -Identity 'Exchange Online'" in command_line
    assert "Get-CsManagementStoreReplicationStatus" not in command_line
    said = [line.strip() for line in lines if "said:" in line]
    assert said[0].startswith("server said:") and "HostingProviderRequiresDnsSrvRouting" in said[0]
    assert all(line.startswith("server also said:") for line in said[1:])
