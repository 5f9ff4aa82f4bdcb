"""Auth, TLS, concurrency and fault injection, seen through plain pypsrp."""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import SelectorSet, WSMan

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator

from .conftest import FakeService, client, run

Make = Callable[..., Emulator]


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_ntlm_and_negotiate_with_message_encryption(
    make_lync_emulator: Make, fake: FakeService, auth: str
) -> None:
    emu = make_lync_emulator(service=fake, auth=auth)
    wsman = client(emu, auth=auth, encryption="always")
    replies: list[str] = []
    with RunspacePool(wsman) as pool:
        # pypsrp would also accept a plain reply, so look at what came back on the wire.
        session = wsman.transport.session
        assert session is not None
        session.hooks["response"].append(
            lambda response, **_: replies.append(response.headers["Content-Type"])
        )
        assert run(pool, "Echo-Thing", Value="sealed ü").output[0].adapted_properties["Value"] == (
            "sealed ü"
        )
    assert replies
    assert all(kind.startswith("multipart/encrypted;") for kind in replies), replies


def test_ntlm_leaves_the_environment_keys_as_they_were(
    make_lync_emulator: Make, fake: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyspnego's acceptor reads NTLM_USER_FILE, which the emulator sets per step; it puts
    back an empty value rather than deleting the key, because a client thread of the same
    process reading os.environ (requests does on every send) fails when a key vanishes."""
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)
    emu = make_lync_emulator(service=fake, auth="ntlm")
    with RunspacePool(client(emu, auth="ntlm")) as pool:
        assert len(run(pool, "Get-Thing").output) == 1
    assert os.environ["NTLM_USER_FILE"] == ""  # pyspnego takes "" for "not set"


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_https_with_the_generated_certificate_as_ca_bundle(
    make_lync_emulator: Make, fake: FakeService, auth: str
) -> None:
    emu = make_lync_emulator(service=fake, auth=auth, tls=True)
    assert emu.ca_bundle is not None and emu.frontend_url.startswith("https://127.0.0.1:")
    with RunspacePool(client(emu, auth=auth)) as pool:
        assert len(run(pool, "Get-Thing").output) == 1
    # And for a client that does not trust the certificate, validation fails.
    with pytest.raises(requests.exceptions.SSLError):
        RunspacePool(client(emu, auth=auth, cert_validation=True)).open()


@pytest.mark.parametrize("auth", ["basic", "ntlm", "negotiate"])
def test_wrong_password_is_an_authentication_error(
    make_lync_emulator: Make, fake: FakeService, auth: str
) -> None:
    emu = make_lync_emulator(service=fake, auth=auth)
    with pytest.raises(AuthenticationError):
        RunspacePool(client(emu, auth=auth, password="wrong")).open()
    assert emu.counters[Counter.AUTH_FAILURES, "frontend"] >= 1


def test_unknown_user_and_other_accounts(make_lync_emulator: Make, fake: FakeService) -> None:
    emu = make_lync_emulator(
        service=fake,
        users={"lab\\admin": "a:b$c", "lab\\viewer": "v"},
        view_only_users=["LAB\\viewer"],
    )
    with pytest.raises(AuthenticationError):
        RunspacePool(client(emu, username="lab\\nobody", password="x")).open()
    with RunspacePool(client(emu, username="lab\\viewer", password="v")) as pool:
        thing = run(pool, "Get-Thing").output[0].adapted_properties
        assert (thing["Caller"], thing["RbacRole"]) == ("lab\\viewer", "CsViewOnlyAdministrator")
    with RunspacePool(client(emu, password="a:b$c")) as pool:
        assert run(pool, "Get-Thing").output[0].adapted_properties["RbacRole"] == "CsAdministrator"


def test_another_users_shell_is_refused(make_lync_emulator: Make, fake: FakeService) -> None:
    emu = make_lync_emulator(service=fake, users={"a": "1", "b": "2"})
    with RunspacePool(client(emu, username="a", password="1")) as pool:
        selectors = SelectorSet()
        selectors.add_option("ShellId", str(pool.shell.id))
        intruder = client(emu, username="b", password="2")
        with pytest.raises(WSManFaultError) as info:
            intruder.get(
                "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
                None,
                selector_set=selectors,
            )
        assert info.value.code == 5  # access denied, as WinRM answers


def test_eight_threads_with_their_own_pools(emu: Emulator) -> None:
    errors: list[str] = []
    # Built here, not in the threads: pypsrp's WSMan() re-registers ElementTree's
    # process-wide namespace prefixes, and two threads doing that at once can fail with a
    # KeyError or "dictionary keys changed during iteration" before the emulator sees a byte.
    clients = [client(emu) for _ in range(8)]

    def work(wsman: WSMan) -> None:
        try:
            with RunspacePool(wsman) as pool:
                for i in range(10):
                    assert len(run(pool, "Get-Thing", Count=i + 1).output) == i + 1
        except BaseException as exc:  # asserted on the main thread, with where it was raised
            errors.append("".join(traceback.format_exception(exc)))

    threads = [threading.Thread(target=work, args=(wsman,)) for wsman in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors[0]
    assert emu.counters[Counter.POOLS_OPENED, "frontend"] == 8
    assert emu.counters[Counter.PIPELINES_RUN, "frontend"] == 80


def test_latency_is_added_to_every_request(emu: Emulator, pool: RunspacePool) -> None:
    emu.faults.latency_ms = 100
    start = time.perf_counter()
    run(pool, "Get-Thing")
    assert time.perf_counter() - start >= 0.2  # Command + Receive, 100 ms each
    emu.faults.clear()
    start = time.perf_counter()
    run(pool, "Get-Thing")
    assert time.perf_counter() - start < 0.2


def test_open_cost_slows_opening_a_pool_only(make_lync_emulator: Make, fake: FakeService) -> None:
    emu = make_lync_emulator(service=fake, open_cost_ms=300)
    start = time.perf_counter()
    with RunspacePool(client(emu)) as pool:
        opened = time.perf_counter() - start
        start = time.perf_counter()
        run(pool, "Get-Thing")
        invoked = time.perf_counter() - start
    assert opened >= 0.3 and invoked < 0.3


def test_an_open_slower_than_the_receive_wait_times_out_that_receive(emu: Emulator) -> None:
    """WinRM answers Create at once; the pool's opening messages come by Receive when the
    session is up, and a Receive that waits longer than its OperationTimeout (here the
    fixture's 0.2 s cap) is answered TimedOut, which pypsrp's open() does not retry."""
    emu.faults.open_cost_ms = 600
    with pytest.raises(WSManFaultError) as info:
        RunspacePool(client(emu)).open()
    assert info.value.code == 2150858793  # TimedOut
    assert emu.counters[Counter.POOLS_OPENED, "frontend"] == 1  # the shell itself was made


def test_http_500_for_the_next_requests(emu: Emulator, pool: RunspacePool) -> None:
    emu.faults.fail_next_requests(1)
    with pytest.raises(WinRMTransportError) as info:
        run(pool, "Get-Thing")
    assert info.value.code == 500
    assert len(run(pool, "Get-Thing").output) == 1  # the 500 came before the Command ran


def test_dropped_connection(emu: Emulator) -> None:
    emu.faults.drop_next_connections(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        RunspacePool(client(emu)).open()
    with RunspacePool(client(emu)) as pool:
        assert len(run(pool, "Get-Thing").output) == 1


def test_an_ignored_request_gets_no_answer_until_the_client_gives_up(emu: Emulator) -> None:
    """A hung worker: the request is read, and nothing comes back before the client's read
    timeout; once freed, the server answers again."""
    emu.faults.ignore_next_requests(1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        RunspacePool(client(emu, read_timeout=1)).open()
    emu.faults.hear_again()
    with RunspacePool(client(emu)) as pool:
        assert len(run(pool, "Get-Thing").output) == 1


def test_forgotten_shells_fault_on_next_use(emu: Emulator) -> None:
    pool = RunspacePool(client(emu))
    pool.open()
    run(pool, "Get-Thing")
    emu.faults.forget_shells()
    assert emu.shells_open() == 0
    with pytest.raises(WSManFaultError) as info:
        run(pool, "Get-Thing")
    assert info.value.code == 2150858843
    with RunspacePool(client(emu)) as fresh:
        assert len(run(fresh, "Get-Thing").output) == 1


def test_auth_failures_next_n_and_all(emu: Emulator) -> None:
    emu.faults.reject_next_authentications(1)
    with pytest.raises(AuthenticationError):
        RunspacePool(client(emu)).open()
    with RunspacePool(client(emu)) as pool:
        run(pool, "Get-Thing")
        emu.faults.reject_all_authentications()
        with pytest.raises(AuthenticationError):
            run(pool, "Get-Thing")  # Basic authenticates every request
        emu.faults.reject_all_authentications(False)


def test_failing_the_nth_invocation_is_delegated_to_the_service(
    emu: Emulator, pool: RunspacePool
) -> None:
    emu.faults.fail_invocation("Get-Thing", 2)
    assert not run(pool, "Get-Thing").had_errors
    assert run(pool, "Get-Thing").streams.error[0].fq_error == "Injected,Fake"
    assert not run(pool, "Get-Thing").had_errors
