"""The remoting layer against the emulator: the real WS-Management/PSRP path, no mocks."""

from __future__ import annotations

import http.server
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from xml.etree import ElementTree

import pytest
from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell
from pypsrp.wsman import WSMan

from lync_emulator.counters import Counter
from lync_emulator.emulator import Emulator
from lync_provider.remoting import (
    SWITCH,
    AccessDeniedError,
    AlreadyExistsError,
    AuthenticationFailedError,
    CertificateValidationError,
    CmdletCall,
    CommandNotFoundError,
    InvalidArgumentError,
    LyncSession,
    NotFoundError,
    OperationTimeoutError,
    ReadOnlyStoreError,
    RemoteCommandError,
    Secret,
    TransportError,
    UnreadableReplyError,
    WriteOutcomeUnknownError,
    close_all_sessions,
    session_for,
)
from lync_provider.remoting import session as session_module
from lync_provider.settings import endpoint
from lync_provider.settings.connections import load_connections, lookup_from
from tests.provider.helpers import edge_settings, frontend_settings, settings_for_url

HOSTILE = [
    'O\'Brien "quoted"',
    "$(Remove-CsHostingProvider -Identity x)",
    "`n`t back`tick",
    "semi; colon; Remove-Item C:\\",
    "new\nline\r\nand tab\t",
    "Zürich \u2013 Ærø \u2013 東京 \u2013 emoji 🎉",
    "x" * 1000,
]


def new_provider(identity: str, proxy: str = "sip.fabrikam.com") -> CmdletCall:
    return CmdletCall(
        "New-CsHostingProvider",
        {
            "Identity": identity,
            "ProxyFqdn": proxy,
            "Enabled": True,
            "EnabledSharedAddressSpace": False,
            "HostsOCSUsers": False,
        },
    )


@pytest.fixture
def session(lync_emulator: Emulator) -> Iterator[LyncSession]:
    s = LyncSession(frontend_settings(lync_emulator))
    yield s
    s.close()


def test_basic_read_returns_plain_dicts(session: LyncSession) -> None:
    [config] = session.read(CmdletCall("Get-CsAccessEdgeConfiguration"))
    assert config["Identity"] == "Global"
    assert config["AllowFederatedUsers"] is False
    assert config["OutgoingTlsCountForFederatedPartners"] == 4
    assert config["RoutingMethod"] == "UseDnsSrvRouting"


def test_ntlm_with_message_encryption(make_lync_emulator: Callable[..., Emulator]) -> None:
    emu = make_lync_emulator(auth="ntlm")
    s = LyncSession(frontend_settings(emu, auth="ntlm"))
    assert s.read(CmdletCall("Get-CsAccessEdgeConfiguration"))[0]["Identity"] == "Global"
    s.close()


def test_negotiate_with_message_encryption(make_lync_emulator: Callable[..., Emulator]) -> None:
    emu = make_lync_emulator(auth="negotiate")
    s = LyncSession(frontend_settings(emu, auth="negotiate"))
    assert s.read(CmdletCall("Get-CsUser"))
    s.close()


def test_https_with_ca_bundle(make_lync_emulator: Callable[..., Emulator]) -> None:
    emu = make_lync_emulator(tls=True)
    assert emu.frontend_url.startswith("https://")
    s = LyncSession(frontend_settings(emu))
    assert s.read(CmdletCall("Get-CsAccessEdgeConfiguration"))
    s.close()


def test_certificate_that_fails_validation(make_lync_emulator: Callable[..., Emulator]) -> None:
    emu = make_lync_emulator(tls=True)
    s = LyncSession(frontend_settings(emu, ca_bundle=None))  # system CAs do not know it
    started = time.monotonic()
    with pytest.raises(CertificateValidationError) as caught:
        s.read(CmdletCall("Get-CsAccessEdgeConfiguration"))
    assert time.monotonic() - started < 5
    assert "lync:caBundle" in str(caught.value)
    assert emu.password not in str(caught.value)


def test_wrong_password(lync_emulator: Emulator) -> None:
    wrong = "Wr0ng-$(password)"
    s = LyncSession(frontend_settings(lync_emulator, password=wrong))
    with pytest.raises(AuthenticationFailedError) as caught:
        s.read(CmdletCall("Get-CsUser"))
    text = str(caught.value)
    assert "refused the credentials" in text and lync_emulator.frontend_url.split("/")[2] in text
    assert wrong not in text and wrong not in repr(caught.value)
    assert lync_emulator.counters.total(Counter.AUTH_FAILURES) >= 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_host_fails_fast_and_typed() -> None:
    url = f"http://127.0.0.1:{_free_port()}/OcsPowershell"
    s = LyncSession(
        settings_for_url(url, connect_timeout=2),
    )
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        s.read(CmdletCall("Get-CsUser"))
    assert time.monotonic() - started < 5
    assert caught.value.summary.startswith("Could not connect: 127.0.0.1 refused the connection")
    assert "Max retries" not in str(caught.value)  # urllib3's wrapper, not the reason
    assert caught.value.hint.startswith("nothing listens on that port")


def test_a_stopped_application_pool_gets_its_own_hint(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    lync_emulator.faults.outage_for(60)
    with pytest.raises(TransportError) as caught:
        session.read(CmdletCall("Get-CsUser"))
    lync_emulator.faults.end_outage()
    text = str(caught.value)
    assert "HTTP 503" in text and "application pool" in text and "firewall" not in text


def test_a_wrong_path_gets_the_paths_hint(lync_emulator: Emulator) -> None:
    wrong = lync_emulator.frontend_url.rsplit("/", 1)[0] + "/PowerShell"
    with pytest.raises(TransportError) as caught:
        LyncSession(settings_for_url(wrong)).read(CmdletCall("Get-CsUser"))
    text = str(caught.value)
    assert "HTTP 404" in text and "/OcsPowershell" in text and "firewall" not in text


def test_https_on_a_plain_http_port_gets_the_tls_port_hint(lync_emulator: Emulator) -> None:
    plain = lync_emulator.frontend_url.replace("http://", "https://", 1)
    settings = settings_for_url(plain, encryption="auto", verify_certificate=False)
    with pytest.raises(CertificateValidationError) as caught:
        LyncSession(settings).read(CmdletCall("Get-CsUser"))
    text = str(caught.value)
    assert "did not answer in TLS" in text and "5986" in text and "caBundle" not in text


def test_a_refusal_of_no_known_kind_still_says_where_to_see_the_whole_record(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    lync_emulator.faults.fail_invocation("Get-CsUser")
    with pytest.raises(RemoteCommandError) as caught:
        session.read(CmdletCall("Get-CsUser"))
    assert type(caught.value) is RemoteCommandError
    assert "hint:" in str(caught.value) and "$Error[0] | Format-List * -Force" in str(caught.value)


def test_a_host_that_never_takes_the_connection_is_a_connect_timeout() -> None:
    """A listener whose accept queue is full drops new connections' SYNs, as a firewall
    that drops packets would: the connect itself times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # room for one connection, which the filler takes
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            s = LyncSession(settings_for_url(f"http://127.0.0.1:{port}/x", connect_timeout=1))
            with pytest.raises(OperationTimeoutError) as caught:
                s.read(CmdletCall("Get-CsUser"))
    assert caught.value.summary == "Could not connect within 1 s"
    assert "firewall" in caught.value.hint and "lync:connectTimeout" in caught.value.hint


def test_silent_host_times_out_within_the_connect_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/OcsPowershell"
        s = LyncSession(settings_for_url(url, connect_timeout=1))
        started = time.monotonic()
        with pytest.raises(OperationTimeoutError) as caught:
            s.read(CmdletCall("Get-CsUser"))
        assert time.monotonic() - started < 1 + 1 + 2  # read timeout = receive + connect
    assert caught.value.summary == "Connected, but no answer within 2 s"  # 1 receive + 1 connect
    assert "lync:connectTimeout" in caught.value.hint  # what moves the read timeout


def test_eight_threads_share_at_most_max_pools_pools(lync_emulator: Emulator) -> None:
    settings = frontend_settings(lync_emulator)
    errors: list[BaseException] = []
    results: list[str] = []
    lock = threading.Lock()
    per_thread = 5

    def work(n: int) -> None:
        s = session_for(settings)
        try:
            for i in range(per_thread):
                [user] = s.read(CmdletCall("Get-CsUser", {"Identity": "sip:alice@contoso.com"}))
                with lock:
                    results.append(user["SipAddress"])
                s.write(new_provider(f"p{n}-{i}", f"sip{n}-{i}.fabrikam.com"))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == ["sip:alice@contoso.com"] * (8 * per_thread)
    shared = session_for(settings)
    assert 1 <= shared.stats.pools_opened <= settings.max_pools == 4
    assert lync_emulator.counters[Counter.POOLS_OPENED, "frontend"] == shared.stats.pools_opened
    assert shared.pools_open == shared.stats.pools_opened
    audit = lync_emulator.audit
    assert len(audit.entries("Get-CsUser")) == 8 * per_thread
    assert len(audit.entries("New-CsHostingProvider")) == 8 * per_thread
    assert not audit.failures()
    assert len(session_for(settings).read(CmdletCall("Get-CsHostingProvider"))) == 8 * per_thread


def test_pypsrp_rewrites_elementtrees_namespace_map_only_under_the_lock(
    lync_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WSMan() re-registers pypsrp's prefixes in ElementTree's process-wide map, which is
    not thread-safe (KeyError or "dictionary keys changed during iteration" when two pools
    open at once); every such rewrite while opening a pool happens under the session lock."""
    held: list[bool] = []
    register = ElementTree.register_namespace

    def watched(prefix: str, uri: str) -> None:
        held.append(session_module._WSMAN_CONSTRUCTION.locked())
        register(prefix, uri)

    monkeypatch.setattr(ElementTree, "register_namespace", watched)
    s = LyncSession(frontend_settings(lync_emulator))
    try:
        s.read(CmdletCall("Get-CsUser"))
    finally:
        s.close()
    assert held and all(held)


def test_a_call_during_close_gets_a_pool_of_its_own(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    """close() holds the pools it is closing, as a call would: a call that starts while
    they close opens another instead of sharing one that is going away under it."""
    users = len(session.read(CmdletCall("Get-CsUser")))
    [channel] = session._idle
    assert channel.pool is not None
    closing = channel.pool.connection  # the client that sends the shell's Delete
    delete = closing.delete
    during: list[BaseException | int] = []

    def read_meanwhile() -> None:
        try:
            during.append(len(session.read(CmdletCall("Get-CsUser"))))
        except BaseException as err:  # asserted on the main thread
            during.append(err)

    def delete_with_a_call_in_between(*args: Any, **kwargs: Any) -> Any:
        reader = threading.Thread(target=read_meanwhile)
        reader.start()
        reader.join()
        return delete(*args, **kwargs)

    closing.delete = delete_with_a_call_in_between  # type: ignore[method-assign]
    session.close()
    assert during == [users]
    # The closed pool's slot is back, empty, beside the slot the call opened for itself
    # (had the call taken the slot being closed, there would be one slot).
    assert sorted(c.pool is not None for c in session._idle) == [False, True]
    assert session.stats.pools_opened == 2
    assert lync_emulator.counters[Counter.POOLS_OPENED, "frontend"] == 2


def test_pypsrp_does_not_sleep_between_its_receive_retries(session: LyncSession) -> None:
    """pypsrp re-sends a timed-out Receive up to 5 times, sleeping 2, 6, 14, 30 and 62 s
    between tries by default: nearly two minutes outside every timeout of ours."""
    session.read(CmdletCall("Get-CsUser"))
    [channel] = session._idle
    assert channel.pool is not None
    assert channel.pool.connection.transport.reconnection_backoff == 0


def test_a_long_lived_session_does_not_accumulate_pipelines(session: LyncSession) -> None:
    for _ in range(20):
        session.read(CmdletCall("Get-CsUser", {"Identity": "sip:alice@contoso.com"}))
    with pytest.raises(NotFoundError):
        session.read(CmdletCall("Get-CsUser", {"Identity": "nobody@contoso.com"}))
    assert session.stats.invocations == 21
    assert session.pipelines_held == 0


def test_forgotten_pool_is_reopened_transparently(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    session.read(CmdletCall("Get-CsUser"))
    lync_emulator.faults.forget_shells()
    session.write(new_provider("after-restart"))
    assert session.stats.pools_opened == 2
    assert session.stats.pools_lost == 1
    assert len(lync_emulator.audit.entries("New-CsHostingProvider")) == 1


def test_a_shell_full_of_commands_is_replaced_and_the_call_sent_again(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """WinRM keeps every command until a Terminate signal, which pypsrp never sends; at the
    quota (MaxConcurrentCommandsPerShell) it refuses the next Command before running it."""
    emu = make_lync_emulator(max_commands_per_shell=3)
    session = LyncSession(frontend_settings(emu, max_pools=1))
    try:
        for _ in range(7):
            session.read(CmdletCall("Get-CsUser", {"Identity": "sip:alice@contoso.com"}))
        session.write(new_provider("after-the-quota"))
    finally:
        session.close()
    assert session.stats.pools_opened == 3 == emu.counters[Counter.POOLS_OPENED, "frontend"]
    assert emu.counters[Counter.POOLS_CLOSED, "frontend"] == 3  # two full ones, then ours
    assert len(emu.audit.entries("Get-CsUser")) == 7
    assert len(emu.audit.entries("New-CsHostingProvider")) == 1
    assert session.stats.retries == 0  # a new shell, not a transport retry


def test_a_session_slower_to_open_than_a_receive_wait_is_waited_for(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WinRM answers a Receive TimedOut when the pool has not opened within its
    OperationTimeout; pypsrp's open() gives up there, the session goes on receiving."""
    monkeypatch.setattr(session_module, "_MAX_RECEIVE_SECONDS", 1)  # each Receive waits 1 s
    emu = make_lync_emulator(open_cost_ms=2500)
    session = LyncSession(frontend_settings(emu, operation_timeout=10))
    try:
        assert session.read(CmdletCall("Get-CsUser", {"Identity": "sip:alice@contoso.com"}))
    finally:
        session.close()
    assert session.stats.pools_opened == 1 == emu.counters[Counter.POOLS_OPENED, "frontend"]
    assert session.stats.retries == 0


def test_a_server_that_goes_silent_is_not_blamed_on_the_url(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """A server that answered this session and then takes a request without answering (a
    hung IIS worker) is the server's problem: the hint says so, where for a first contact
    it points at the URL's port and path (test_silent_host_times_out...)."""
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu, operation_timeout=1, connect_timeout=1))
    session.read(CmdletCall("Get-CsUser"))
    emu.faults.ignore_next_requests(1)
    with pytest.raises(OperationTimeoutError) as caught:
        session.read(CmdletCall("Get-CsUser"))
    emu.faults.hear_again()
    assert caught.value.summary == "Connected, but no answer within 2 s"  # 1 receive + 1 connect
    assert caught.value.hint.startswith("the server answered this process before")
    assert "port and path" not in caught.value.hint
    assert len(session.read(CmdletCall("Get-CsUser"))) > 0  # on a new pool: it hears again
    session.close()


def test_a_session_that_does_not_open_in_time_is_an_operation_timeout(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "_MAX_RECEIVE_SECONDS", 1)
    emu = make_lync_emulator(open_cost_ms=60_000)
    session = LyncSession(frontend_settings(emu, operation_timeout=2))
    with pytest.raises(OperationTimeoutError) as caught:
        session.read(CmdletCall("Get-CsUser"))
    assert caught.value.summary == "The session did not open within 2 s"
    assert "lync:operationTimeout" in caught.value.hint
    assert emu.counters[Counter.POOLS_OPENED, "frontend"] == 1  # no blind retry of the open
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0  # deleted, not left to count


def test_a_delete_the_server_does_not_answer_ends_at_its_own_bound(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing asks the server to answer a Delete within _DELETE_SECONDS (pypsrp waits 2 s
    more), not within a whole read timeout (here 20 + 5 s): a server that went silent holds
    up an error, or the process's exit, by that much only."""
    monkeypatch.setattr(session_module, "_DELETE_SECONDS", 1)
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu))
    session.read(CmdletCall("Get-CsUser"))
    emu.faults.ignore_next_requests(1)
    started = time.monotonic()
    session.close()
    elapsed = time.monotonic() - started
    emu.faults.hear_again()
    assert elapsed < 1 + 2 + 5  # the bound and pypsrp's margin, far below the 25 s
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 1  # unanswered, so it stays


def test_a_pipeline_that_ran_out_of_time_leaves_no_shell_behind(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """The pool of a timed-out call is dropped (its state is unknown), and its shell is
    deleted: left, it would count against the user's MaxShellsPerUser for hours."""
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu, operation_timeout=2))
    session.read(CmdletCall("Get-CsUser"))
    emu.faults.hold_replies(30.0, "Get-CsUser")
    with pytest.raises(OperationTimeoutError) as caught:
        session.read(CmdletCall("Get-CsUser"))
    emu.faults.release_replies()
    assert caught.value.summary == "No answer within 2 s"
    assert session.pools_open == 0
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0
    assert emu.counters[Counter.POOLS_CLOSED, "frontend"] == 1


def test_a_write_refused_unread_after_an_idle_connection_closed_is_sent_again(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """NTLM over HTTP: once the server has closed the kept-alive connection, pypsrp logs in
    on a new one and re-sends the body sealed for the old login, which the server cannot
    unseal (HTTP 400). Nothing ran, so the write goes again on a new session."""
    emu = make_lync_emulator(auth="ntlm")
    session = LyncSession(frontend_settings(emu, auth="ntlm"))
    try:
        session.write(new_provider("before", "sip1.fabrikam.com"))
        emu.cut_idle_connections()
        session.write(new_provider("after", "sip2.fabrikam.com"))
    finally:
        session.close()
    made = [e.parameters["Identity"] for e in emu.audit.entries("New-CsHostingProvider")]
    assert made == ["before", "after"]
    assert session.stats.retries == 1 and session.stats.pools_opened == 2


def test_the_shell_of_a_session_refused_unread_is_deleted_not_left_to_count(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """The refused session's shell is alive on the server: it is deleted from a new login,
    or each idle spell would leave one holding a place of the user's MaxShellsPerUser
    until the idle timeout, and the third write here would be refused a session. The
    close at the end meets the same refusal (its connection went idle too) and deletes the
    last shell the same way."""
    emu = make_lync_emulator(auth="ntlm", max_shells_per_user=2)
    session = LyncSession(frontend_settings(emu, auth="ntlm", max_pools=1))
    try:
        for index in range(4):
            session.write(new_provider(f"p{index}", f"sip{index}.fabrikam.com"))
            assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 1
            emu.cut_idle_connections()
    finally:
        session.close()
    assert session.stats.pools_opened == 4 == emu.counters[Counter.POOLS_CLOSED, "frontend"]
    assert emu.counters[Counter.SHELLS_OPEN, "frontend"] == 0
    assert len(emu.audit.entries("New-CsHostingProvider")) == 4


def test_a_session_refused_for_the_users_shell_quota_says_what_holds_it(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    emu = make_lync_emulator(max_shells_per_user=1)
    holder = LyncSession(frontend_settings(emu))
    try:
        holder.read(CmdletCall("Get-CsUser"))
        with pytest.raises(TransportError) as caught:
            LyncSession(frontend_settings(emu, max_pools=1)).read(CmdletCall("Get-CsUser"))
    finally:
        holder.close()
    assert "maximum number of concurrent shells for this user" in caught.value.summary
    assert caught.value.hint.startswith("this account holds as many remote PowerShell sessions")
    assert "lync:poolsPerEndpoint" in caught.value.hint


def test_a_session_that_failed_to_open_leaves_no_client_open(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool that never opened is not yet the session's, so no discard closes its client:
    the open does, or every retry of a refused open would keep a socket."""
    emu = make_lync_emulator(max_shells_per_user=1)
    holder = LyncSession(frontend_settings(emu))
    holder.read(CmdletCall("Get-CsUser"))
    made: list[Any] = []
    build = LyncSession._wsman

    def spied(session: LyncSession) -> Any:
        wsman = build(session)
        close = wsman.transport.close

        def counted() -> None:
            made.append(wsman)
            close()

        wsman.transport.close = counted  # type: ignore[method-assign]
        return wsman

    monkeypatch.setattr(LyncSession, "_wsman", spied)
    refused = LyncSession(frontend_settings(emu, max_pools=1))
    with pytest.raises(TransportError):
        refused.read(CmdletCall("Get-CsUser"))
    holder.close()
    assert refused.stats.retries == 2 and len(made) == 3  # each of the 3 opens closed its own


def test_a_pool_whose_module_would_not_import_is_closed_not_kept(
    lync_emulator: Emulator,
) -> None:
    """A pool without its module would fail each later call as 'not recognized'."""
    session = LyncSession(edge_settings(lync_emulator, import_module="SkypeForBusiness"))
    with pytest.raises(RemoteCommandError):
        session.read(CmdletCall("Get-CsHostingProvider", {"LocalStore": SWITCH}))
    assert session.pools_open == 0
    assert lync_emulator.counters[Counter.SHELLS_OPEN, "edge"] == 0


def test_a_400_after_the_command_ran_is_settled_by_reading_back_not_resent(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection closes between the Command (which runs) and its Receive: the 400 is
    the Receive's, and the write is settled by its read-back, never sent twice."""
    emu = make_lync_emulator(auth="ntlm")
    session = LyncSession(frontend_settings(emu, auth="ntlm"))
    begin = PowerShell.begin_invoke

    def begin_then_cut(ps: PowerShell) -> None:
        begin(ps)
        monkeypatch.setattr(PowerShell, "begin_invoke", begin)  # once
        emu.cut_idle_connections()

    def applied() -> bool:
        return bool(session.read(CmdletCall("Get-CsHostingProvider", {"Identity": "ran"})))

    try:
        session.write(new_provider("before", "sip1.fabrikam.com"))
        monkeypatch.setattr(PowerShell, "begin_invoke", begin_then_cut)
        session.write(new_provider("ran", "sip2.fabrikam.com"), confirm=applied)
    finally:
        session.close()
    made = [e.parameters["Identity"] for e in emu.audit.entries("New-CsHostingProvider")]
    assert made == ["before", "ran"]


def _exists(session: LyncSession, identity: str) -> Callable[[], bool]:
    """A write's read-back: whether the hosting provider is there."""
    return lambda: bool(session.read(CmdletCall("Get-CsHostingProvider", {"Filter": identity})))


def test_a_write_that_took_effect_but_answered_too_late_is_a_success(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    """The New- ran; only its answer was slower than the operation timeout. The call is
    settled by reading back, as a lost reply is, and is not sent twice."""
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu, operation_timeout=2))
    session.read(CmdletCall("Get-CsUser"))
    emu.faults.hold_replies(30.0, "New-CsHostingProvider")
    try:
        assert session.write(new_provider("slow"), confirm=_exists(session, "slow")) == []
    finally:
        emu.faults.release_replies()
        session.close()
    assert [e.parameters["Identity"] for e in emu.audit.entries("New-CsHostingProvider")] == [
        "slow"
    ]


@pytest.mark.parametrize("confirmed", [True, False], ids=["read-back", "no-read-back"])
def test_a_write_the_server_never_took_up_has_an_unknown_outcome(
    make_lync_emulator: Callable[..., Emulator], confirmed: bool
) -> None:
    """The Command got no answer at all (the server ignored it, as a hung worker does):
    the outcome is unknown either way, since the command may yet run, and it is not sent
    again; the read-back's finding is said."""
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu, operation_timeout=2, connect_timeout=1))
    session.read(CmdletCall("Get-CsUser"))
    emu.faults.ignore_next_requests(1)
    confirm = _exists(session, "ignored") if confirmed else None
    with pytest.raises(WriteOutcomeUnknownError) as caught:
        session.write(new_provider("ignored"), confirm=confirm)
    emu.faults.hear_again()
    session.close()
    assert emu.audit.entries("New-CsHostingProvider") == []
    assert caught.value.summary == "Connected, but no answer within 3 s during a change"
    notes = "\n".join(getattr(caught.value, "__notes__", ()))
    assert ("it had not taken effect yet" in notes) is confirmed


def test_transport_failures_on_reads_are_retried(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    session.read(CmdletCall("Get-CsUser"))
    lync_emulator.faults.fail_next_requests(1)
    assert session.read(CmdletCall("Get-CsUser"))
    assert session.stats.retries == 1


def test_persistent_transport_failure_gives_up_with_a_typed_error(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    lync_emulator.faults.fail_next_requests(100)
    with pytest.raises(TransportError, match="HTTP 500"):
        session.read(CmdletCall("Get-CsUser"))
    assert session.stats.retries == 2


def test_a_write_whose_session_fails_to_open_is_sent_once_it_opens(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    """A transport failure while the pool opens means nothing was sent: the write is
    retried without a read-back, and runs once."""
    lync_emulator.faults.fail_next_requests(1)  # the first request of the pool's opening
    session.write(new_provider("after-open"))
    assert session.stats.retries == 1
    assert len(lync_emulator.audit.entries("New-CsHostingProvider")) == 1
    assert not lync_emulator.audit.failures()


# What the server ran after a write lost in transit, in order: the read-back first when the
# request was lost (the New- never ran, so it is sent again), after the New- when its reply
# was lost (it ran, so it is not sent again).
LOST_WRITE_RUNS = {
    "request": ["Get-CsHostingProvider", "New-CsHostingProvider"],
    "reply": ["New-CsHostingProvider", "Get-CsHostingProvider"],
}


@pytest.mark.parametrize("lost", sorted(LOST_WRITE_RUNS))
def test_a_write_lost_in_transit_is_confirmed_before_resending(
    session: LyncSession, lync_emulator: Emulator, lost: str
) -> None:
    session.read(CmdletCall("Get-CsUser"))

    def applied() -> bool:
        return bool(session.read(CmdletCall("Get-CsHostingProvider", {"Filter": "lost*"})))

    if lost == "request":
        lync_emulator.faults.drop_next_connections(1)
    else:
        lync_emulator.faults.drop_reply_after("New-CsHostingProvider")
    session.write(new_provider("lost-write"), confirm=applied)
    ran = [e.cmdlet for e in lync_emulator.audit.entries()[1:]]
    assert ran == LOST_WRITE_RUNS[lost]
    assert not lync_emulator.audit.failures()


def test_a_write_lost_in_transit_without_confirmation_is_not_resent(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    session.read(CmdletCall("Get-CsUser"))
    lync_emulator.faults.drop_next_connections(1)
    with pytest.raises(WriteOutcomeUnknownError, match="pulumi refresh"):
        session.write(new_provider("unknown-outcome"))
    # The request was dropped before it ran, and nothing sent it again.
    assert not lync_emulator.audit.entries("New-CsHostingProvider")


def test_a_write_whose_read_back_fails_too_is_reported_as_unknown(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    session.read(CmdletCall("Get-CsUser"))
    lync_emulator.faults.fail_next_requests(100)  # the write and every read-back attempt

    def applied() -> bool:
        return bool(session.read(CmdletCall("Get-CsHostingProvider", {"Filter": "x*"})))

    with pytest.raises(WriteOutcomeUnknownError) as caught:
        session.write(new_provider("x1"), confirm=applied)
    assert "Reading back failed for" in "\n".join(caught.value.__notes__)


def test_slow_server_hits_the_operation_timeout(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    emu = make_lync_emulator(max_receive_wait_s=0.3)
    s = LyncSession(frontend_settings(emu, operation_timeout=1))
    s.read(CmdletCall("Get-CsUser"))
    emu.faults.latency_ms = 2500
    started = time.monotonic()
    with pytest.raises(OperationTimeoutError):
        s.read(CmdletCall("Get-CsUser"))
    assert time.monotonic() - started < 1 + 5 + 3


@pytest.mark.parametrize(
    ("call", "error", "server_words"),
    [
        (
            CmdletCall("Get-CsHostingProvider", {"Identity": "missing"}),
            NotFoundError,
            "does not exist",
        ),
        (CmdletCall("Get-CsNoSuchThing"), CommandNotFoundError, "is not recognized"),
        (
            CmdletCall("Set-CsHostingProvider", {"Identity": "x", "ProxyFqdn": "a.b"}),
            InvalidArgumentError,
            "ProxyFqdn",
        ),
        (
            CmdletCall(
                "Set-CsAccessEdgeConfiguration", {"Identity": "Global", "VerificationLevel": "x"}
            ),
            InvalidArgumentError,
            "VerificationLevel",
        ),
    ],
)
def test_server_errors_are_typed_with_the_servers_words(
    session: LyncSession, call: CmdletCall, error: type[Exception], server_words: str
) -> None:
    runner = session.read if call.is_read else session.write
    with pytest.raises(error) as caught:
        runner(call)
    text = str(caught.value)
    assert server_words in text
    assert "FullyQualifiedErrorId" in text
    assert call.cmdlet in text
    assert "Secret123!" not in text


def test_already_exists(session: LyncSession) -> None:
    session.write(new_provider("dup"))
    with pytest.raises(AlreadyExistsError, match="adopt=True"):
        session.write(new_provider("dup"))


def test_access_denied_for_a_view_only_administrator(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    emu = make_lync_emulator(
        users={"lab\\admin": "Secret123!", "lab\\viewer": "V1ewer!"},
        view_only_users=["lab\\viewer"],
    )
    s = LyncSession(frontend_settings(emu, username="lab\\viewer", password="V1ewer!"))
    assert s.read(CmdletCall("Get-CsUser"))
    with pytest.raises(AccessDeniedError, match="CsAdministrator"):
        s.write(new_provider("denied"))
    assert not emu.audit.writes()


def test_edge_store_is_read_only(lync_emulator: Emulator) -> None:
    edge = LyncSession(edge_settings(lync_emulator))
    assert edge.read(CmdletCall("Get-CsHostingProvider", {"LocalStore": SWITCH})) == []
    with pytest.raises(ReadOnlyStoreError, match="lync:frontEndUrl"):
        edge.write(new_provider("on-edge"))
    edge.close()


def test_several_statements_in_one_round_trip(
    session: LyncSession, lync_emulator: Emulator
) -> None:
    session.write(new_provider("one"), new_provider("two", "two.fabrikam.com"))
    names = {r["Identity"] for r in session.read(CmdletCall("Get-CsHostingProvider"))}
    assert names == {"one", "two"}
    assert lync_emulator.counters[Counter.PIPELINES_RUN, "frontend"] == 2


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip_byte_for_byte(session: LyncSession, value: str) -> None:
    session.write(
        CmdletCall("New-CsExternalAccessPolicy", {"Identity": "tag:hostile", "Description": value})
    )
    [policy] = session.read(CmdletCall("Get-CsExternalAccessPolicy", {"Identity": "tag:hostile"}))
    assert policy["Description"] == value
    assert policy["Identity"] == "Tag:hostile"


def test_password_never_logged_at_debug(
    lync_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    s = LyncSession(frontend_settings(lync_emulator))
    s.read(CmdletCall("Get-CsUser"))
    with pytest.raises(NotFoundError):
        s.read(CmdletCall("Get-CsHostingProvider", {"Identity": "nope"}))
    s.close()
    assert "Get-CsUser" in caplog.text  # the invocation itself is logged
    assert lync_emulator.password not in caplog.text
    assert lync_emulator.password not in repr(s)


@pytest.mark.parametrize("wrapped", [True, False], ids=["secret", "plain control"])
def test_secret_parameter_values_stay_out_of_pypsrp_debug_logs(
    session: LyncSession, caplog: pytest.LogCaptureFixture, wrapped: bool
) -> None:
    value = "t0ken-$(not-for-logs)"
    caplog.set_level(logging.DEBUG)
    description = Secret(value) if wrapped else value
    call = CmdletCall(
        "New-CsExternalAccessPolicy", {"Identity": "tag:S", "Description": description}
    )
    session.write(call)
    # What this process logged as a client (the emulator's own psrpcore lines are the
    # server's, which a real Lync server keeps to itself).
    client_log = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(("pypsrp", "lync_provider"))
    )
    [policy] = session.read(CmdletCall("Get-CsExternalAccessPolicy", {"Identity": "tag:S"}))
    assert policy["Description"] == value  # it did reach the server
    assert "New-CsExternalAccessPolicy" in client_log
    # The control shows pypsrp would log the value; the Secret wrapper keeps it out.
    assert (value in client_log) is not wrapped


def test_pools_are_closed_at_process_exit(lync_emulator: Emulator) -> None:
    script = (
        "import sys\n"
        "from lync_provider.settings.endpoint import EndpointSettings\n"
        "from lync_provider.remoting import CmdletCall, session_for\n"
        "s = EndpointSettings(url=sys.argv[1], auth='basic', encryption='never',"
        " username=sys.argv[2], password=sys.argv[3])\n"
        "session_for(s).read(CmdletCall('Get-CsUser'))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            lync_emulator.frontend_url,
            lync_emulator.username,
            lync_emulator.password,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert lync_emulator.counters[Counter.POOLS_OPENED, "frontend"] == 1
    assert lync_emulator.counters[Counter.POOLS_CLOSED, "frontend"] == 1
    assert lync_emulator.shells_open() == 0


def test_one_close_that_fails_does_not_keep_the_other_pools_open(
    lync_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At exit every session is closed in turn; a reply pypsrp cannot parse while closing
    the first (a KeyError, say) must not leave the next one's shell open on its server."""
    frontend = session_for(frontend_settings(lync_emulator))
    edge = session_for(edge_settings(lync_emulator))
    frontend.read(CmdletCall("Get-CsUser"))
    edge.read(CmdletCall("Get-CsHostingProvider", {"LocalStore": SWITCH}))
    closes = 0
    real_delete = WSMan.delete

    def delete(wsman: WSMan, *args: Any, **kwargs: Any) -> Any:
        nonlocal closes
        closes += 1
        if closes == 1:
            raise KeyError("ShellId")
        return real_delete(wsman, *args, **kwargs)

    monkeypatch.setattr(WSMan, "delete", delete)
    close_all_sessions()
    assert closes == 2
    assert lync_emulator.counters[Counter.POOLS_CLOSED, "edge"] == 1
    assert frontend.pools_open == edge.pools_open == 0


class _GarblingHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with 200 and a body that is not XML: a broken server or proxy."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>\x07"
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_that_cannot_be_parsed_is_a_typed_error_naming_the_cmdlet() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GarblingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/OcsPowershell"
        session = LyncSession(settings_for_url(url, operation_timeout=5))
        with pytest.raises(UnreadableReplyError) as caught:
            session.read(CmdletCall("Get-CsHostingProvider", {"Identity": "a\x07b"}))
    finally:
        server.shutdown()
        server.server_close()
    text = str(caught.value)
    assert "could not be parsed" in text and "Get-CsHostingProvider" in text
    assert url in text and "control characters" in text
    assert text.startswith("The server's answer could not be parsed")


def test_concurrent_calls_run_in_parallel_on_pools_opened_only_when_needed(
    make_lync_emulator: Callable[..., Emulator],
) -> None:
    emu = make_lync_emulator()
    session = LyncSession(frontend_settings(emu, max_pools=3))
    call = CmdletCall("Get-CsAccessEdgeConfiguration")
    for _ in range(3):
        session.read(call)
    assert session.stats.pools_opened == 1  # one at a time needs one pool

    emu.faults.hold_replies(0.6, "Get-CsAccessEdgeConfiguration")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: session.read(call), range(6)))
    elapsed = time.monotonic() - started
    emu.faults.release_replies()

    assert session.stats.pools_opened == 3 == emu.counters[Counter.POOLS_OPENED, "frontend"]
    # Six held calls on three pools take two rounds, not six: they ran three at a time.
    assert 1.2 <= elapsed < 6 * 0.6
    session.close()
    assert session.pools_open == 0


def test_a_refused_edge_password_names_the_edge_keys(lync_emulator: Emulator) -> None:
    """The Edge has credential keys of its own; the hint names the ones that were used."""
    assert lync_emulator.edge_url is not None
    get = lookup_from(
        {
            "lync:frontEndUrl": lync_emulator.frontend_url,
            "lync:edgeUrl": lync_emulator.edge_url,
            "lync:auth": "basic",
            "lync:encryption": "never",
            "lync:username": lync_emulator.username,
            "lync:password": lync_emulator.password,
            "lync:edgePassword": "not-the-password",
        }
    )
    edge = load_connections(get).require_edge()
    with pytest.raises(AuthenticationFailedError) as caught:
        LyncSession(edge).read(CmdletCall("Get-CsHostingProvider", {"LocalStore": SWITCH}))
    # The Edge's own password key; the user name and auth came from the shared keys.
    assert caught.value.hint.startswith("check lync:username / lync:edgePassword")
    assert "(lync:auth)" in caught.value.hint


def test_a_method_the_server_does_not_offer_is_an_auth_error_naming_the_key(
    make_lync_emulator: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kerberos asked of a server that offers only NTLM: pypsrp refuses with a ValueError
    before any token is made, which is about the method, not an unreadable reply."""
    monkeypatch.setattr(endpoint, "find_spec", lambda name: object())  # as if gssapi were there
    emu = make_lync_emulator(auth="ntlm")
    settings = frontend_settings(emu, auth="kerberos")
    with pytest.raises(AuthenticationFailedError) as caught:
        LyncSession(settings).read(CmdletCall("Get-CsUser"))
    assert "does not take auth=kerberos; it asked for NTLM" in caught.value.summary
    assert caught.value.hint == "set lync:auth to ntlm, or to negotiate (which also does NTLM)"


def test_a_kerberos_only_server_is_not_answered_with_ntlm_advice() -> None:
    """With auth=ntlm, pypsrp refuses only a server that offers Kerberos alone (a Negotiate
    offer it takes with NTLM): the advice is then Kerberos, never the method already set."""
    hint = session_module._method_hint("Kerberos", "lync:auth")
    assert hint.startswith("set lync:auth to kerberos or negotiate")
    assert "ntlm" not in hint


def test_a_pipeline_failed_without_an_error_record_is_a_refusal_not_a_parse_failure(
    lync_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PipelineState Failed may come without an ExceptionAsErrorRecord; the refusal says so
    rather than failing on the missing record (which read as an unreadable reply)."""
    session = LyncSession(frontend_settings(lync_emulator))
    session.read(CmdletCall("Get-CsUser"))  # the pool is open; pypsrp's pipeline is faked

    def failed_without_record(ps: PowerShell) -> None:
        ps.state = PSInvocationState.FAILED
        ps.had_errors = True

    monkeypatch.setattr(PowerShell, "begin_invoke", failed_without_record)
    try:
        with pytest.raises(RemoteCommandError) as caught:
            session.read(CmdletCall("Get-CsUser"))
    finally:
        session.close()
    assert type(caught.value) is RemoteCommandError
    assert "the pipeline failed without an error record" in str(caught.value)
