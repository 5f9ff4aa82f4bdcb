"""Strings that XML cannot carry raw travel CLIXML-encoded in every record the client reads.

Control characters (BEL, ESC, NUL) in an identity used to reach the client raw inside an
error record's ``<ToString>``, invalid XML that crashed pypsrp with "'str' object has no
attribute 'MESSAGE_TYPE'", and a literal ``_x0041_`` read back as ``A`` (MS-PSRP 2.2.5.2.4
and 2.2.5.3.2: ToString is encoded like any string).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pypsrp.powershell import PSInvocationState, RunspacePool

from lync_emulator.emulator import Emulator

from .conftest import FABRIKAM, FakeService, client, run

AWKWARD = ["a\x07b", "a\x1bb", "a\x00b", "a_x0041_b", "_X0041_ upper", "tab\tnew\nline\r"]


# One server of each kind for the whole module: these tests only read, or write an
# identity no other test uses.


@pytest.fixture(scope="module")
def lync_pool() -> Iterator[RunspacePool]:
    with Emulator() as emu, RunspacePool(client(emu)) as opened:
        yield opened


@pytest.fixture(scope="module")
def pool() -> Iterator[RunspacePool]:
    with Emulator(service=FakeService()) as emu, RunspacePool(client(emu)) as opened:
        yield opened


@pytest.mark.parametrize("value", AWKWARD)
def test_a_missing_identity_comes_back_as_a_normal_error_record(
    lync_pool: RunspacePool, value: str
) -> None:
    ps = run(lync_pool, "Get-CsHostingProvider", Identity=value)
    assert ps.state == PSInvocationState.COMPLETED and ps.output == []
    (error,) = ps.streams.error
    assert str(error) == (
        f'Cannot get instance of "HostingProvider" with identity "{value}" because it does '
        "not exist."
    )
    assert error.target_name == value
    assert error.fq_error.startswith("ItemNotFound,")


@pytest.mark.parametrize("value", AWKWARD)
def test_a_terminating_error_and_its_warning_carry_the_value(
    pool: RunspacePool, value: str
) -> None:
    ps = run(pool, "Echo-Error", Value=value)
    assert ps.state == PSInvocationState.FAILED
    assert [w.message for w in ps.streams.warning] == [f"careful {value}"]
    non_terminating, terminating = ps.streams.error
    for error in (non_terminating, terminating):
        assert str(error) == f"bad {value}"
        assert error.target_name == value


@pytest.mark.parametrize("value", AWKWARD)
def test_output_objects_round_trip_property_and_to_string(pool: RunspacePool, value: str) -> None:
    (echoed,) = run(pool, "Echo-Thing", Value=value).output
    assert echoed.adapted_properties["Value"] == value
    assert str(echoed) == f"Value={value}"


def test_a_lync_object_named_with_control_characters_reads_back(
    lync_pool: RunspacePool,
) -> None:
    identity = "bell\x07esc\x1bnul\x00_x0041_"
    new = {**FABRIKAM, "Identity": identity}
    assert not run(lync_pool, "New-CsHostingProvider", **new).had_errors
    (provider,) = run(lync_pool, "Get-CsHostingProvider", Identity=identity).output
    assert provider.adapted_properties["Identity"] == identity
    assert str(provider) == identity  # a hosting provider shows as its identity
