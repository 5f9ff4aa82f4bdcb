"""The engine harness itself, exercised through a toy provider in a real provider process.

If these pass, tests written against :mod:`tests.support.engine` see the provider the way
``pulumi up/preview/refresh/destroy`` would: same process, same RPCs, same ``olds``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.support.engine import (
    PROVIDER_KEY,
    UNKNOWN,
    CheckFailedError,
    Declaration,
    Engine,
    ProviderError,
    ProviderProcess,
    Secret,
    declare,
    run_concurrently,
)
from tests.support.toy_provider import Thing, ToyProvider

PROJECT = "harness"
TOKEN = "t0k3n-never-logged"


@pytest.fixture(scope="module")
def proc() -> Iterator[ProviderProcess]:
    """One provider process for the module; tests stay apart through distinct pickles."""
    with ProviderProcess(project=PROJECT) as process:
        yield process


@dataclass
class Toy:
    """A test's engine, its toy provider, and the provider's store (the "live" system)."""

    engine: Engine
    provider: ToyProvider
    store: Path

    def thing(self, name: str, size: Any = 1, **extra: Any) -> Declaration:
        return declare(Thing, name, self.provider, {"name": name, "size": size, **extra})

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.store.read_text())
        return loaded

    @property
    def journal(self) -> list[list[Any]]:
        return self.data["journal"] if self.store.exists() else []

    def tamper(self, **things: dict[str, Any] | None) -> None:
        """Change live objects behind the provider's back (None removes one)."""
        data = self.data
        for name, thing in things.items():
            if thing is None:
                del data["things"][name]
            else:
                data["things"][name] = thing
        self.store.write_text(json.dumps(data))


@pytest.fixture
def toy(proc: ProviderProcess, tmp_path: Path, request: pytest.FixtureRequest) -> Toy:
    store = tmp_path / "store.json"
    config: dict[str, str | Secret] = {
        "toy:storePath": str(store),
        "toy:token": Secret(TOKEN),
        f"{PROJECT}:region": "emea",
    }
    return Toy(Engine(proc, config), ToyProvider(request.node.name), store)


def test_configure_answers_like_the_python_servicer(proc: ProviderProcess) -> None:
    result = proc.configure({"toy:storePath": "/nonexistent", "toy:token": Secret(TOKEN)})
    assert (result.accept_secrets, result.supports_preview) == (False, False)


def test_configure_delivers_namespaced_config_and_unwrapped_secret(
    toy: Toy, proc: ProviderProcess
) -> None:
    toy.engine.up([toy.thing("a")])

    assert toy.data["config"] == {"region": "emea", "token": TOKEN}
    label = toy.provider.label
    assert f"toy[{label}]: configured store store.json" in proc.stderr
    assert f"toy[{label}]: token is set" in proc.stdout
    assert TOKEN not in proc.stderr + proc.stdout


def test_check_failures_come_back_and_stop_the_up(toy: Toy, proc: ProviderProcess) -> None:
    bad = toy.thing("a", size=-1)
    urn = toy.engine.urn(bad)

    checked = proc.check(urn, {}, dict(bad.inputs))
    assert checked.failures == [("size", "must be a non-negative number")]

    with pytest.raises(CheckFailedError) as err:
        toy.engine.up([bad])
    assert err.value.failures == checked.failures
    assert "property size has a problem: must be a non-negative number" in str(err.value)
    assert toy.journal == []
    assert toy.engine.state == {}


def test_up_creates_and_a_second_up_changes_nothing(toy: Toy) -> None:
    program = [toy.thing("a", size=1), toy.thing("b", size=2)]

    first = toy.engine.up(program)
    assert first.ops == {"a": "create", "b": "create"}
    state_a = toy.engine.state[toy.engine.urn(program[0])]
    assert state_a.id == "a"
    assert state_a.outputs[PROVIDER_KEY] == program[0].inputs[PROVIDER_KEY]
    # Numbers cross the wire as protobuf doubles: providers see 1.0, not 1.
    assert toy.engine.outputs("a") == {"name": "a", "size": 1.0}

    journal = toy.journal
    second = toy.engine.up(program)
    assert second.ops == {"a": "same", "b": "same"}
    assert not second.changes
    assert toy.journal == journal


def test_changed_input_is_an_update(toy: Toy) -> None:
    toy.engine.up([toy.thing("a", size=1)])

    plan = toy.engine.up([toy.thing("a", size=5)])

    assert plan.ops == {"a": "update"}
    assert toy.journal[-1] == ["update", "a", 1.0, 5.0]
    assert toy.engine.outputs("a") == {"name": "a", "size": 5.0}


def test_replace_creates_the_new_before_deleting_the_old(toy: Toy) -> None:
    toy.engine.up([toy.thing("a")])

    plan = toy.engine.up([declare(Thing, "a", toy.provider, {"name": "a2", "size": 1})])

    assert [s.op for s in plan.steps] == ["create-replacement", "replace", "delete-replaced"]
    assert toy.journal[-2:] == [["create", "a2"], ["delete", "a"]]
    assert toy.engine.outputs("a")["name"] == "a2"
    assert toy.engine.pending_deletes == []


def test_delete_before_replace_deletes_the_old_first(toy: Toy) -> None:
    toy.engine.up([toy.thing("a")])

    renamed = declare(
        Thing, "a", toy.provider, {"name": "a2", "size": 1}, delete_before_replace=True
    )
    plan = toy.engine.up([renamed])

    assert plan.ops == {"a": "replace"}
    assert [s.op for s in plan.steps] == ["delete-replaced", "replace", "create-replacement"]
    assert toy.journal[-2:] == [["delete", "a"], ["create", "a2"]]
    assert toy.engine.state[toy.engine.urn(renamed)].id == "a2"


def test_preview_plans_but_never_creates_updates_or_deletes(toy: Toy) -> None:
    toy.engine.up([toy.thing("a", size=1), toy.thing("b")])
    journal, state = toy.journal, dict(toy.engine.state)

    # "c" takes its size from an output not known until apply: an unknown in preview.
    plan = toy.engine.preview([toy.thing("a", size=2), toy.thing("c", size=UNKNOWN)])

    assert plan.ops == {"a": "update", "c": "create", "b": "delete"}
    assert toy.journal == journal
    assert toy.engine.state == state


def test_refresh_stores_drift_and_drops_what_is_gone(toy: Toy) -> None:
    program = [toy.thing("a", size=1), toy.thing("b")]
    toy.engine.up(program)
    toy.tamper(a={"name": "a", "size": 9}, b=None)

    plan = toy.engine.refresh()

    assert plan.ops == {"a": "update", "b": "delete"}
    (state_a,) = toy.engine.state.values()
    assert state_a.outputs["size"] == 9.0
    assert state_a.inputs["size"] == 9.0  # ReadResult.inputs replaced the stored inputs
    assert PROVIDER_KEY in state_a.inputs

    # The next up puts the program's values back and recreates what vanished.
    assert toy.engine.up(program).ops == {"a": "update", "b": "create"}
    assert toy.journal[-2:] == [["update", "a", 9.0, 1.0], ["create", "b"]]
    assert toy.engine.refresh().ops == {"a": "same", "b": "same"}


def test_removed_declaration_is_deleted_after_the_rest(toy: Toy) -> None:
    toy.engine.up([toy.thing("a"), toy.thing("b")])

    a, c = toy.thing("a", size=3), toy.thing("c")
    plan = toy.engine.up([a, c])

    assert [(s.op, s.urn.rsplit("::", 1)[1]) for s in plan.steps] == [
        ("update", "a"),
        ("create", "c"),
        ("delete", "b"),
    ]
    assert list(toy.engine.state) == [toy.engine.urn(a), toy.engine.urn(c)]


def test_destroy_deletes_everything_in_reverse_order(toy: Toy) -> None:
    toy.engine.up([toy.thing("a"), toy.thing("b")])

    plan = toy.engine.destroy()

    assert plan.ops == {"b": "delete", "a": "delete"}
    assert toy.journal[-2:] == [["delete", "b"], ["delete", "a"]]
    assert toy.engine.state == {}
    assert toy.data["things"] == {}


def test_provider_exception_surfaces_with_its_text(toy: Toy) -> None:
    with pytest.raises(ProviderError) as err:
        toy.engine.up([toy.thing("a"), toy.thing("b", fail="boom")])

    assert err.value.method == "Create"
    assert err.value.code == grpc.StatusCode.UNKNOWN
    assert "Traceback (most recent call last)" in str(err.value)
    assert "RuntimeError: toy create refused: boom" in str(err.value)
    # Steps that completed before the failure stay in state, as in a real snapshot.
    assert [r.id for r in toy.engine.state.values()] == ["a"]


def test_without_a_custom_diff_the_engine_compares_inputs(toy: Toy) -> None:
    plain = ToyProvider(toy.provider.label + "-plain", custom_diff=False)
    program = [declare(Thing, "a", plain, {"name": "a", "size": 1})]
    toy.engine.up(program)

    assert toy.engine.up(program).ops == {"a": "same"}
    # A different pickle is a changed input: the "~__provider" update of pulumi/pulumi#12401.
    repickled = ToyProvider(plain.label + "-v2", custom_diff=False)
    assert toy.engine.up([declare(Thing, "a", repickled, {"name": "a", "size": 1})]).ops == {
        "a": "update"
    }


def test_run_concurrently_puts_more_calls_in_flight_than_the_server_has_workers(
    toy: Toy, proc: ProviderProcess
) -> None:
    proc.configure(toy.engine.config)
    # Four of the six wait inside the provider until all four are there (the servicer's
    # four workers); the other two are queued behind them or done first.
    decls = [toy.thing(f"t{i}", size=i, **({"meet": 4} if i < 4 else {})) for i in range(6)]

    results = run_concurrently(
        [lambda d=d: proc.check(toy.engine.urn(d), {}, dict(d.inputs)) for d in decls]
    )

    assert [r.inputs["size"] for r in results] == [float(i) for i in range(6)]
    assert all(r.failures == [] for r in results)


def test_process_stops_cleanly() -> None:
    with ProviderProcess(project=PROJECT) as process:
        assert process.returncode is None
    assert process.returncode == 0
