"""The export's promise, through the real provider process: run what it wrote against the
server it read, and the first ``up`` changes nothing, every object is then managed, a second
``up`` is a no-op, and ``destroy`` leaves the server exactly as it was before the export.

A hand-configured (brownfield) emulator is exported; the generated ``__main__.py`` is run
under mocks to capture its registrations (type and inputs, the pickled provider included),
which the engine stand-in then deploys with the exported stack file and the password set.
Each scenario runs once (module fixture); each promise is its own test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lync_emulator.audit import AuditEntry
from lync_emulator.emulator import Emulator
from lync_provider.resources.journal import JOURNAL_ENV
from tests.project.export_support import (
    AWKWARD_PROVIDER,
    AWKWARD_TAG,
    HOLDERS,
    brownfield,
    declarations,
    engine_config,
    registrations,
    run_export,
    without_lync_environment,
)
from tests.project.stacks import local_stack_for
from tests.resources.conftest import PROJECT, store_state
from tests.support.engine import Declaration, Engine, Plan, ProviderProcess, urn_name

READS = {
    "Get-CsAccessEdgeConfiguration",
    "Get-CsHostingProvider",
    "Get-CsExternalAccessPolicy",
    "Get-CsUser",
}


@dataclass(frozen=True)
class Scenario:
    federated: bool
    users: bool


@dataclass
class RoundTrip:
    """Everything one export-and-deploy produced, for the tests to judge."""

    scenario: Scenario
    before: Any
    export_entries: list[AuditEntry]
    program: str
    declared: list[Declaration]
    first_up: Plan
    first_writes: list[AuditEntry]
    state: dict[str, dict[str, Any]]
    second_up: Plan
    second_writes: list[AuditEntry]
    after_destroy: Any


@pytest.fixture(
    scope="module",
    params=[Scenario(federated=True, users=True), Scenario(federated=False, users=False)],
    ids=["federated-with-users", "unfederated-without-users"],
)
def round_trip(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RoundTrip]:
    scenario: Scenario = request.param
    project = tmp_path_factory.mktemp("project")
    journal = tmp_path_factory.mktemp("journal")
    with pytest.MonkeyPatch.context() as env:
        without_lync_environment(env)
        env.setenv(JOURNAL_ENV, str(journal))
        with Emulator() as emu:
            local_stack_for(emu, project)
            brownfield(emu, federated=scenario.federated)
            before = store_state(emu)
            emu.audit.clear()

            exported = run_export(project, None, users=scenario.users)
            assert exported.status == 0, exported.err
            export_entries = emu.audit.entries()
            declared = declarations(registrations(exported))

            with ProviderProcess(project=PROJECT, env={JOURNAL_ENV: str(journal)}) as process:
                engine = Engine(process, engine_config(exported, emu))
                emu.audit.clear()
                first_up = engine.up(declared)
                first_writes = emu.audit.writes()
                state = {urn_name(urn): res.outputs for urn, res in engine.state.items()}
                emu.audit.clear()
                second_up = engine.up(declared)
                second_writes = emu.audit.writes()
                engine.destroy()
            yield RoundTrip(
                scenario,
                before,
                export_entries,
                exported.program.read_text(encoding="utf-8"),
                declared,
                first_up,
                first_writes,
                state,
                second_up,
                second_writes,
                store_state(emu),
            )


def _names(trip: RoundTrip) -> set[str]:
    return {decl.name for decl in trip.declared}


def test_the_export_runs_only_get_cmdlets(round_trip: RoundTrip) -> None:
    entries = round_trip.export_entries
    assert entries
    assert [e for e in entries if e.wrote] == []
    assert {e.cmdlet for e in entries} == READS - (
        set() if round_trip.scenario.users else {"Get-CsUser"}
    )


def test_the_program_declares_every_object_adopting_the_owned_ones(round_trip: RoundTrip) -> None:
    by_name = {decl.name: decl for decl in round_trip.declared}
    assignments = {"external-access-policy-assignment-tag-owa"}
    expected = {
        "access-edge-config-global",
        "hosting-provider-exchange-online",
        "hosting-provider-fabrikam-lab-o-brien-x-n-zurich",
        "external-access-policy-global",
        "external-access-policy-site-redmond",
        "external-access-policy-tag-owa",
        "external-access-policy-tag-night-shift-umlaut-s",
    }
    if round_trip.scenario.users:
        expected |= assignments | {"external-access-policy-assignment-tag-night-shift-umlaut-s"}
    assert set(by_name) == expected
    singletons = {"access-edge-config-global", "external-access-policy-global"}
    for name, decl in by_name.items():
        if "assignment" not in name:
            assert decl.inputs.get("adopt") is (None if name in singletons else True), name
    assert by_name["hosting-provider-fabrikam-lab-o-brien-x-n-zurich"].inputs["identity"] == (
        AWKWARD_PROVIDER
    )
    assert by_name["external-access-policy-tag-night-shift-umlaut-s"].inputs["identity"] == (
        AWKWARD_TAG
    )
    edge = by_name["access-edge-config-global"].inputs
    assert edge["allow_federated_users"] is round_trip.scenario.federated
    assert "dns_srv_cache_record_count" not in edge  # Lync 2013 has no such property
    if round_trip.scenario.users:
        grant = by_name["external-access-policy-assignment-tag-owa"].inputs
        assert grant["policy_name"] == "Tag:OWA"
        assert grant["users"] == [u for u, tag in HOLDERS.items() if tag == "OWA"]


def test_every_exported_object_is_managed_after_the_first_up(round_trip: RoundTrip) -> None:
    assert set(round_trip.first_up.ops.values()) == {"create"}
    assert set(round_trip.state) == _names(round_trip)
    for name, outputs in round_trip.state.items():
        if "assignment" in name:
            assert outputs["users"], name
        elif name in {"access-edge-config-global", "external-access-policy-global"}:
            assert "prior_values" in outputs and not outputs.get("adopted"), name
        else:
            assert outputs.get("adopted") is True, name


def test_the_first_up_writes_nothing(round_trip: RoundTrip) -> None:
    written = [(e.cmdlet, dict(e.parameters)) for e in round_trip.first_writes]
    assert written == [], f"the first up of an exported program changed the server: {written}"


def test_a_second_up_is_a_no_op(round_trip: RoundTrip) -> None:
    assert set(round_trip.second_up.ops.values()) == {"same"}
    assert round_trip.second_writes == []


def test_destroy_gives_back_the_server_as_it_was_before_the_export(round_trip: RoundTrip) -> None:
    assert round_trip.after_destroy == round_trip.before
