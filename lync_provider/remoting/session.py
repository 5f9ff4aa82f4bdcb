"""One pooled remote PowerShell session per endpoint and identity, shared by every thread.

Opening a Lync remote session takes seconds (the server loads the Lync module into the
runspace), so a provider that opened one per call would make ``pulumi up`` crawl. A
:class:`LyncSession` opens its pypsrp ``RunspacePool`` lazily, keeps it for the life of the
process, re-opens it transparently when the server has forgotten it (restart, idle timeout),
and is closed at exit.

Calls from the provider's worker threads (the Pulumi dynamic provider process serves four at
once) run in parallel on up to ``max_pools`` pools per endpoint and identity (default 4),
each opened lazily, the first time every open one is busy. A pool is never shared by two
threads at once: pypsrp's ``RunspacePool`` is not thread-safe (its PSRP fragmenter and
defragmenter are shared, and with NTLM/Negotiate one sealing context whose sequence numbers
must stay in order encrypts every message), so a call takes a pool for itself and gives it
back. Each pool asks the server for a single runspace: parallelism comes from pools, each
with its own connection and sealing context.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, NoReturn
from xml.etree import ElementTree

import requests
from pypsrp.complex_objects import PSInvocationState, RunspacePoolState
from pypsrp.exceptions import (
    AuthenticationError,
    WinRMError,
    WinRMTransportError,
    WSManFaultError,
)
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import SelectorSet, WSMan
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)
from tenacity.retry import retry_base

from lync_provider.remoting.commands import CmdletCall
from lync_provider.remoting.errors import (
    AuthenticationFailedError,
    CertificateValidationError,
    ConnectionFailedError,
    LyncRemotingError,
    OperationTimeoutError,
    ServerError,
    TransportError,
    UnreadableReplyError,
    WriteOutcomeUnknownError,
    classify,
    credentials_hint,
)
from lync_provider.remoting.redaction import SECRET_WINDOW
from lync_provider.remoting.results import to_record
from lync_provider.settings.endpoint import EndpointSettings

log = logging.getLogger(__name__)

# WS-Management fault codes. The shell is unknown to the server (0x8033805B); a Receive's
# OperationTimeout passed with nothing to answer (0x80338029, which pypsrp swallows while
# polling a pipeline but not while opening a pool).
_SHELL_NOT_FOUND = 2150858843
_TIMED_OUT = 2150858793
# The shell's MaxConcurrentCommandsPerShell quota (default 1000) is full: WinRM keeps every
# command until the client's Terminate signal (MS-WSMV 3.1.4.12). The one capture
# (pypsrp#148) has no numeric code, so the reason's words are what identifies it; the
# per-plugin quota's code (0x803381E9) is taken too, should a server send one.
_COMMANDS_PER_SHELL = 2150859241
_COMMANDS_PER_SHELL_TEXT = "maximum number of concurrent commands per shell"
# The user's MaxShellsPerUser quota is full, a Create's wsman:QuotaLimit (MS-WSMV
# 3.1.4.5.2.1): the PowerShell plugin's (0x803381E4) or WinRS's own (0x803381A5), and the
# words both messages share.
_SHELLS_PER_USER = frozenset({2150859236, 2150859173})
_SHELLS_PER_USER_TEXT = "concurrent shells"
_READ_ATTEMPTS = 3
# pypsrp sends a Receive whose answer timed out again, up to 5 more times (hard-wired in
# WSMan.receive), each waiting the Receive's timeout + 2 s; by default it also sleeps 2, 6,
# 14, 30 and 62 s in between, near two minutes that no timeout of ours would bound. No
# backoff, and a Receive timeout of a sixth of the time left, keep a stuck answer within
# about the operation timeout plus 6 x 2 s.
_RECEIVE_TRIES = 6
# The longest single Receive the server is asked to hold, in seconds.
_MAX_RECEIVE_SECONDS = 20

# System.Management.Automation.ErrorCategory, by value.
_ERROR_CATEGORIES = [
    "NotSpecified",
    "OpenError",
    "CloseError",
    "DeviceError",
    "DeadlockDetected",
    "InvalidArgument",
    "InvalidData",
    "InvalidOperation",
    "InvalidResult",
    "InvalidType",
    "MetadataError",
    "NotImplemented",
    "NotInstalled",
    "ObjectNotFound",
    "OperationStopped",
    "OperationTimeout",
    "SyntaxError",
    "ParserError",
    "PermissionDenied",
    "ResourceBusy",
    "ResourceExists",
    "ResourceUnavailable",
    "ReadError",
    "WriteError",
    "FromStdErr",
    "SecurityError",
    "ProtocolError",
    "ConnectionError",
    "AuthenticationError",
    "LimitsExceeded",
    "QuotaExceeded",
    "NotEnabled",
]

# pypsrp's WSMan() re-registers its namespace prefixes in ElementTree's process-wide map
# every time it is built, and ElementTree.register_namespace deletes then re-adds each entry:
# two pools opening at once on two threads (the engine's first four calls do exactly that)
# can fail with a KeyError or "dictionary keys changed during iteration", which would reach
# the user as an unreadable reply. Building one at a time costs microseconds.
_WSMAN_CONSTRUCTION = threading.Lock()

# What pypsrp raises on a message it cannot parse (invalid XML, a fragment of the wrong type).
_PARSE_FAILURES = (
    ElementTree.ParseError,
    AttributeError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
)

# The WS-Man OperationTimeout of a Delete of a shell being dropped; pypsrp waits 2 s more
# for each HTTP answer, so a Delete the server does not answer ends within 7 s.
_DELETE_SECONDS = 5
# What closing a pool may raise. A close is best effort: even pypsrp failing on the reply
# (its parse failures are the built-in exception types) goes to the debug log only, so
# that one pool's close cannot keep the others open at exit.
_CLOSE_FAILURES = (WinRMError, requests.exceptions.RequestException, OSError, *_PARSE_FAILURES)

Records = list[dict[str, Any]]
Confirm = Callable[[], bool]
Counted = Literal["pools_opened", "pools_lost", "invocations", "retries"]


@dataclass(frozen=True)
class Reply:
    """What one pipeline produced: its objects, and the errors that did not stop it.

    A statement's non-terminating error (Get-CsUser for a name nobody has) lets the next
    statements run, so a pipeline of many reads answers for all of them at once; the caller
    decides what such an error means for the statement it came from.
    """

    records: Records
    errors: tuple[ServerError, ...]
    # The pipeline's own answer was lost in transit and a read-back showed its writes in
    # place (:meth:`LyncSession.write_all`): its read statements did not answer.
    settled: bool = False


@dataclass
class SessionStats:
    """Counters a test or benchmark can read to see what the session really did."""

    pools_opened: int = 0
    pools_lost: int = 0
    invocations: int = 0
    # Calls sent again after a transport failure: reads, and writes that failed before
    # anything was sent (while the pool was being opened).
    retries: int = 0


@dataclass
class _Channel:
    """One slot of the session: a pool (None until opened, or after it was lost)."""

    pool: RunspacePool | None = None


class _ShellLostError(Exception):
    """The server no longer knows our shell; the command never ran."""


class LyncSession:
    """A lazily opened RunspacePool to one endpoint as one identity."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        self.stats = SessionStats()
        self._free = threading.Condition()
        self._idle: list[_Channel] = []
        self._made = 0
        self._current = threading.local()

    def __repr__(self) -> str:
        user = self.settings.username or "<default credentials>"
        return f"LyncSession({self.settings.display_url}, user={user!r})"

    # -- public API ---------------------------------------------------------------------

    def read(self, *calls: CmdletCall) -> Records:
        """Run read-only calls, retrying transport failures with bounded backoff; any error
        the server writes is raised."""
        return self._read(calls, tolerate=False).records

    def read_all(self, calls: Sequence[CmdletCall]) -> Reply:
        """Run read-only calls as one pipeline of statements, retried like :meth:`read`.

        Errors that did not stop the pipeline come back in the reply instead of being
        raised, so one missing object does not hide the others' answers; an error that
        failed the pipeline (a terminating one) is raised.
        """
        return self._read(calls, tolerate=True)

    def _read(self, calls: Sequence[CmdletCall], *, tolerate: bool) -> Reply:
        for call in calls:
            if not call.is_read:
                raise ValueError(f"{call.cmdlet} is not a read; use write()")

        return self._retrying(retry_if_exception_type(TransportError), calls)(
            self._run_reopening, calls, tolerate=tolerate
        )

    def _retrying(self, retry: retry_base, calls: Sequence[CmdletCall]) -> Retrying:
        """Bounded backoff for failures ``retry`` accepts (every transport failure for a
        read; for a write, only those before anything was sent)."""

        def note_retry(state: RetryCallState) -> None:
            self._count("retries")
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            log.warning("retrying %s after: %s", _render(calls), error)

        return Retrying(
            retry=retry,
            stop=stop_after_attempt(_READ_ATTEMPTS),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            before_sleep=note_retry,
            reraise=True,
        )

    def write(self, *calls: CmdletCall, confirm: Confirm | None = None) -> Records:
        """Run calls that change the server; never repeat one blindly.

        If the call fails in transit, ``confirm`` (a read-back that returns True when the
        change is in place) decides: applied means success, not applied means it is safe to
        send once more. A call that ran out of its operation timeout is settled the same way,
        but when the read-back finds it not applied its outcome stays unknown (the command
        may still run) and it is not sent again. The read-back is retried
        through transport failures for as long as one operation may take
        (``operation_timeout``): a reply lost in a short outage must not leave the outcome
        unknown after a second. Without ``confirm``, or when the
        server stays unreadable that long, the failure is raised as
        :class:`WriteOutcomeUnknownError`. A shell the server had forgotten is different:
        the command was refused before it ran, so it is re-sent on a fresh pool.
        """
        return self._write(calls, confirm, tolerate=False).records

    def write_all(self, calls: Sequence[CmdletCall], *, confirm: Confirm) -> Reply:
        """Run writes followed by reads as one pipeline, settled in transit like :meth:`write`.

        Errors that did not stop the pipeline come back in the reply, as with
        :meth:`read_all`, for the caller to tell its reads' errors from its writes'. When
        the answer was lost and ``confirm`` found the writes in place, the reply is empty
        and ``settled``: the reads must be sent again.
        """
        return self._write(calls, confirm, tolerate=True)

    def _write(self, calls: Sequence[CmdletCall], confirm: Confirm | None, tolerate: bool) -> Reply:
        unsent = retry_if_exception(lambda e: isinstance(e, TransportError) and e.before_sending)
        try:
            return self._retrying(unsent, calls)(self._run_reopening, calls, tolerate=tolerate)
        except (TransportError, OperationTimeoutError) as err:
            if isinstance(err, WriteOutcomeUnknownError) or err.before_sending:
                raise
            # Ran out of time after the Command went: it may have run (a slow server), so it
            # is settled by reading back, as a lost reply is.
            timed_out = isinstance(err, OperationTimeoutError)
            lost = "Connection lost" if not timed_out else err.summary
            unknown = WriteOutcomeUnknownError(
                f"{lost} during a change",
                endpoint=err.endpoint,
                command=err.command,
                server_errors=err.server_errors,
            )
            if confirm is None:
                raise unknown from err
            try:
                applied = self._settle(confirm)
            except LyncRemotingError as unreadable:
                unknown.add_note(
                    f"Reading back failed for {self.settings.operation_timeout:g} s too: "
                    f"{unreadable.summary}"
                )
                raise unknown from err
            if applied:
                log.warning("%s failed in transit but took effect: %s", _render(calls), err)
                return Reply([], (), settled=True)
            if timed_out:
                # Not sent again: a server this slow would most likely time out once more,
                # and the command, stopped or not, may still take effect.
                unknown.add_note(
                    "Read back afterwards, it had not taken effect yet; the command may still "
                    "have run, so it was not sent again."
                )
                raise unknown from err
            log.warning("%s failed in transit and did not take effect; sending it again", err)
            return self._run_reopening(calls, tolerate=tolerate)

    def _settle(self, confirm: Confirm) -> bool:
        """Run the read-back until it answers or the operation timeout has passed."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransportError),
            stop=stop_before_delay(self.settings.operation_timeout),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )
        return retrying(confirm)

    @property
    def pipelines_held(self) -> int:
        """Pipelines pypsrp still tracks on the idle pools (diagnostics; stays 0 between
        calls, so a long-lived session does not grow)."""
        with self._free:
            return sum(len(c.pool.pipelines) for c in self._idle if c.pool is not None)

    @property
    def pools_open(self) -> int:
        """Idle pools that are open (diagnostics)."""
        with self._free:
            return sum(c.pool is not None for c in self._idle)

    def close(self) -> None:
        """Close every idle pool on the server (best effort) and forget it.

        The channels are taken out of the idle list while they close, as a call would take
        one, so a call starting meanwhile cannot pick a pool that is being closed under it.
        """
        with self._free:
            idle, self._idle = self._idle, []
        try:
            for channel in idle:
                with self._using(channel):
                    self._discard_pool(graceful=True)
        finally:
            with self._free:
                self._idle.extend(idle)
                self._free.notify_all()

    def _count(self, counter: Counted) -> None:
        """Add one to a :class:`SessionStats` counter; calls on several threads count."""
        with self._free:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)

    # -- pools: one per concurrent call, up to max_pools -------------------------------

    @property
    def _pool(self) -> RunspacePool | None:
        """The pool of the channel this thread holds."""
        channel: _Channel = self._current.channel
        return channel.pool

    @_pool.setter
    def _pool(self, pool: RunspacePool | None) -> None:
        self._current.channel.pool = pool

    @contextmanager
    def _channel(self) -> Iterator[None]:
        """Hold a channel for this call: an idle one (an open pool first), a new one while
        fewer than ``max_pools`` exist, or else the next one given back."""
        with self._free:
            while not self._idle and self._made >= self.settings.max_pools:
                self._free.wait()
            if self._idle:
                self._idle.sort(key=lambda c: c.pool is None)
                channel = self._idle.pop(0)
            else:
                channel = _Channel()
                self._made += 1
        try:
            with self._using(channel):
                yield
        finally:
            with self._free:
                self._idle.append(channel)
                self._free.notify()

    @contextmanager
    def _using(self, channel: _Channel) -> Iterator[None]:
        self._current.channel = channel
        try:
            yield
        finally:
            self._current.channel = None

    # -- internals ----------------------------------------------------------------------

    def _run_reopening(self, calls: Sequence[CmdletCall], *, tolerate: bool = False) -> Reply:
        try:
            return self._run(calls, tolerate)
        except _ShellLostError:
            log.info("%s forgot our shell; opening a new one", self.settings.display_url)
            self._count("pools_lost")
            try:
                return self._run(calls, tolerate)
            except _ShellLostError as lost:
                self._raise_transport(calls, "The server keeps dropping the shell", lost)

    def _run(self, calls: Sequence[CmdletCall], tolerate: bool) -> Reply:
        started = time.monotonic()
        outcome = "failed"
        try:
            secret = any(call.has_secrets for call in calls)
            with self._channel(), SECRET_WINDOW.guarding(secret):
                try:
                    pool = self._open_pool(calls)
                except ConnectionFailedError as unsent:
                    unsent.before_sending = True
                    raise
                with self._translated(calls):
                    reply = self._invoke(pool, calls, tolerate)
            outcome = f"{len(reply.records)} object(s), {len(reply.errors)} error(s)"
            return reply
        finally:
            log.debug(
                "%s %s -> %s in %.1f ms",
                self.settings.display_url,
                _render(calls),
                outcome,
                (time.monotonic() - started) * 1000,
            )

    def _open_pool(self, calls: Sequence[CmdletCall]) -> RunspacePool:
        if self._pool is not None:
            return self._pool
        s = self.settings
        with self._translated(calls):
            pool = RunspacePool(self._wsman(), configuration_name=s.configuration_name)
            try:
                self._open_waiting(pool, calls)
            except BaseException:
                # Not the session's pool yet, so no discard closes its client: this does.
                pool.connection.transport.close()
                raise
            self._count("pools_opened")
            self._pool = pool
            if s.import_module:
                module = CmdletCall("Import-Module", {"Name": s.import_module})
                try:
                    self._invoke(pool, [module], tolerate=False)
                except LyncRemotingError:
                    # A pool without its module would fail every later call differently.
                    self._discard_pool(graceful=True)
                    raise
        log.info("opened a remote PowerShell session to %s", s.display_url)
        return pool

    def _wsman(self) -> WSMan:
        """A WS-Management client of its own (its own connections and login) for the
        endpoint."""
        s = self.settings
        receive, read_timeout = _timeouts(s)
        verify: bool | str = str(s.ca_bundle) if s.ca_bundle else s.verify_certificate
        with _WSMAN_CONSTRUCTION:
            return WSMan(
                s.hostname,
                port=s.effective_port,
                path=s.effective_path,
                ssl=s.scheme == "https",
                auth=s.auth,
                encryption=s.encryption,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                cert_validation=verify,  # type: ignore[arg-type]  # pypsrp takes a CA path too
                connection_timeout=math.ceil(s.connect_timeout),
                read_timeout=read_timeout,
                operation_timeout=receive,
                reconnection_backoff=0.0,
            )

    def _open_waiting(self, pool: RunspacePool, calls: Sequence[CmdletCall]) -> None:
        """``pool.open()``, waiting past a Receive's OperationTimeout for as long as one
        operation may take: a Lync session spends seconds loading its module, and pypsrp's
        open() gives up at the first TimedOut answer. It goes on as open() would (its
        private ``_receive``, pypsrp being pinned exactly)."""
        deadline = time.monotonic() + self.settings.operation_timeout
        try:
            pool.open()
            return
        except WSManFaultError as fault:
            # Only a Receive after the Create: a Create answered TimedOut made no pool.
            if fault.code != _TIMED_OUT or pool.state != RunspacePoolState.NEGOTIATION_SENT:
                raise
        while pool.state == RunspacePoolState.NEGOTIATION_SENT:
            if time.monotonic() >= deadline:
                self._delete_shell(pool, afresh=False)  # its client is closed by the caller
                raise OperationTimeoutError(
                    f"The session did not open within {self.settings.operation_timeout:g} s",
                    endpoint=self.settings.display_url,
                    command=_render(calls),
                    hint="the server is slow to start a session (a front end loads the Lync "
                    "module for each one): check its load, or raise lync:operationTimeout",
                )
            try:
                pool._receive()
            except WSManFaultError as fault:
                if fault.code != _TIMED_OUT:
                    raise

    def _invoke(self, pool: RunspacePool, calls: Sequence[CmdletCall], tolerate: bool) -> Reply:
        ps = PowerShell(pool)
        try:
            return self._run_pipeline(ps, calls, tolerate)
        finally:
            # pypsrp keeps every pipeline it ever ran in pool.pipelines; a long-lived pool
            # would grow by one per call. The server has already pruned its side.
            pool.pipelines.pop(ps.id, None)

    def _begin(self, ps: PowerShell, calls: Sequence[CmdletCall]) -> None:
        """Send the Command. A refusal the command never ran past (a forgotten shell, a full
        one, a request refused unread) is raised so that the call is sent again."""
        try:
            ps.begin_invoke()
        except WSManFaultError as fault:
            if fault.code == _SHELL_NOT_FOUND:
                self._discard_pool(graceful=False)
                raise _ShellLostError(str(fault)) from fault
            if fault.code == _COMMANDS_PER_SHELL or _COMMANDS_PER_SHELL_TEXT in str(fault):
                # The shell holds as many finished commands as WinRM allows (pypsrp sends
                # the Terminate signal that releases one only from PowerShell.close(), a
                # round trip per call). Nothing ran: close it, so the server frees them
                # all, and send the call again on a new one; once per ~1000 calls.
                log.info(
                    "%s: the shell's command quota is full; opening a new one",
                    self.settings.display_url,
                )
                self._discard_pool(graceful=True)
                raise _ShellLostError(str(fault)) from fault
            raise
        except WinRMTransportError as err:
            if err.code != 400:
                raise
            # Refused unread, this one request: the Command never ran, so the call may go
            # again. pypsrp causes it itself with NTLM/Negotiate over HTTP once the server
            # has closed a kept-alive connection: it logs in on a new one and re-sends the
            # body sealed for the old login (pypsrp#21). A 400 to a later Receive is not
            # this: the command may have run.
            self._abandon_pool()
            unsent = TransportError(
                _describe(err, self.settings),
                endpoint=self.settings.display_url,
                command=_render(calls),
                hint=_STATUS_HINTS[400],
            )
            unsent.before_sending = True
            raise unsent from err

    def _run_pipeline(self, ps: PowerShell, calls: Sequence[CmdletCall], tolerate: bool) -> Reply:
        for index, call in enumerate(calls):
            if index:
                ps.add_statement()
            ps.add_cmdlet(call.cmdlet)
            for name in call.parameters:
                ps.add_parameter(name, call.wire_value(name))
        self._count("invocations")
        deadline = time.monotonic() + self.settings.operation_timeout
        self._begin(ps, calls)
        while ps.state == PSInvocationState.RUNNING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop_quietly(ps)
                raise OperationTimeoutError(
                    f"No answer within {self.settings.operation_timeout:g} s",
                    endpoint=self.settings.display_url,
                    command=_render(calls),
                )
            wait = math.ceil(remaining / _RECEIVE_TRIES)
            ps.poll_invoke(timeout=max(1, min(_MAX_RECEIVE_SECONDS, wait)))
        for warning in ps.streams.warning:
            log.warning("%s: %s: %s", self.settings.display_url, _render(calls), warning)
        errors = tuple(_server_error(record) for record in ps.streams.error)
        if ps.had_errors or (errors and not tolerate):
            if not errors:
                errors = (ServerError("the pipeline failed without an error record"),)
            # pypsrp appends the error that stopped a failed pipeline last.
            at = len(errors) - 1 if ps.had_errors else 0
            stopping = errors[at]
            refused = classify(stopping)(
                "Lync refused the command",
                endpoint=self.settings.display_url,
                command=_failing_call(calls, ps.streams.error[at : at + 1]),
                # The error that stopped it first: a not-found from an earlier Get- (the
                # existence check before a New-) is the pipeline's, not the cause.
                server_errors=(stopping, *errors[:at], *errors[at + 1 :]),
            )
            if ps.had_errors:
                refused.output = tuple(to_record(obj) for obj in ps.output)
                refused.passed_errors = errors[:-1]
            raise refused
        return Reply([to_record(obj) for obj in ps.output], errors)

    @contextmanager
    def _translated(self, calls: Sequence[CmdletCall]) -> Iterator[None]:
        """Turn pypsrp/requests exceptions into typed errors; drop the pool, whose state is
        unknown after a failure in transit, so the next call starts afresh."""
        try:
            yield
        except (LyncRemotingError, _ShellLostError):
            raise
        except (requests.exceptions.RequestException, WinRMError, OSError) as err:
            self._discard_pool(graceful=False)
            error_type, summary = self._classify(err)
            hint = (
                credentials_hint(*self.settings.credential_keys)
                if error_type is AuthenticationFailedError
                else _specific_hint(err, answered_before=self.stats.pools_opened > 0)
            )
            raise error_type(
                summary,
                endpoint=self.settings.display_url,
                command=_render(calls),
                hint=hint,
            ) from err
        except _PARSE_FAILURES as err:
            offered = _offered_method(err)
            if offered is not None:
                self._discard_pool(graceful=False)
                auth_key = self.settings.credential_keys[2]
                raise AuthenticationFailedError(
                    f"The server does not take auth={self.settings.auth}; it asked for {offered}",
                    endpoint=self.settings.display_url,
                    command=_render(calls),
                    hint=_method_hint(offered, auth_key),
                ) from err
            # pypsrp met a message it cannot read; its own exception says nothing a person
            # can act on (e.g. "'str' object has no attribute 'MESSAGE_TYPE'").
            log.debug("unparseable reply from %s", self.settings.display_url, exc_info=True)
            self._discard_pool(graceful=False)
            raise UnreadableReplyError(
                f"The server's answer could not be parsed ({type(err).__name__}: "
                f"{_first_line(err)})",
                endpoint=self.settings.display_url,
                command=_render(calls),
            ) from err

    def _classify(self, err: BaseException) -> tuple[type[ConnectionFailedError], str]:
        if isinstance(err, AuthenticationError):
            return AuthenticationFailedError, "The server refused the credentials"
        if isinstance(err, requests.exceptions.SSLError):
            return CertificateValidationError, f"TLS failed: {_first_line(err)}"
        if isinstance(err, requests.exceptions.ConnectTimeout):
            return OperationTimeoutError, (
                f"Could not connect within {self.settings.connect_timeout:g} s"
            )
        if isinstance(err, requests.exceptions.Timeout):
            return OperationTimeoutError, (
                f"Connected, but no answer within {_timeouts(self.settings)[1]} s"
            )
        return TransportError, _describe(err, self.settings)

    def _raise_transport(
        self, calls: Sequence[CmdletCall], summary: str, cause: BaseException
    ) -> NoReturn:
        self._discard_pool(graceful=False)
        raise TransportError(
            summary, endpoint=self.settings.display_url, command=_render(calls)
        ) from cause

    def _discard_pool(self, *, graceful: bool) -> None:
        """Forget the current pool and close its connections; ``graceful`` first deletes
        its shell on the server (best effort: a close that fails must not keep the
        process's other pools open at exit, nor a socket)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            if graceful:
                self._delete_shell(pool, afresh=False)
        finally:
            pool.connection.transport.close()

    def _abandon_pool(self) -> None:
        """Forget a pool whose client can no longer speak for it, and delete its shell
        from a new client: the server is up and the shell alive, but this client holds a
        login the server has forgotten (pypsrp#21)."""
        pool = self._pool
        self._discard_pool(graceful=False)
        if pool is not None:
            self._delete_shell(pool, afresh=True)

    def _delete_shell(self, pool: RunspacePool, *, afresh: bool) -> None:
        """Delete the pool's shell, best effort, from its own client unless ``afresh``, and
        from a new one (a connection and login of its own) when that is refused.

        A shell dropped without a Delete holds a place of the user's MaxShellsPerUser (25
        by default) until the idle timeout, hours by default (MS-WSMV 3.1.4.5.2.1): runs
        that keep leaving one would lock the user out of new sessions. The refusal this is
        for is NTLM over HTTP after the server closed an idle connection (an HTTP 400): the
        common end of a run whose pools sat idle while a gate waited. Each Delete asks the
        server for an answer within :data:`_DELETE_SECONDS` (7 s at most on the wire), so a
        slow server delays the error being reported, or the process's exit, by that much
        and not by a whole read timeout; a new login adds its own requests.
        """
        shell_id = pool.shell.id
        if not pool.shell.opened or shell_id is None:  # opened: Create answered
            return
        selectors = SelectorSet()
        selectors.add_option("ShellId", shell_id)
        uri = pool.shell.resource_uri
        if not afresh:
            try:
                pool.connection.delete(uri, selector_set=selectors, timeout=_DELETE_SECONDS)
                return
            except _CLOSE_FAILURES as err:
                log.debug("closing %s: %s", self.settings.display_url, err)
                if not isinstance(err, WinRMTransportError):  # answered and refused: go on
                    return
        fresh = self._wsman()
        try:
            fresh.delete(uri, selector_set=selectors, timeout=_DELETE_SECONDS)
        except _CLOSE_FAILURES as err:
            log.debug("deleting a shell on %s afresh: %s", self.settings.display_url, err)
        finally:
            fresh.close()

    def _stop_quietly(self, ps: PowerShell) -> None:
        """Stop a pipeline that ran out of its operation timeout and drop its pool: its state
        is unknown. Its shell is deleted while the server answers (if slowly), as it would
        count against the user's shell quota until the idle timeout."""
        answered = True
        try:
            ps.stop()
        except (WinRMError, requests.exceptions.RequestException, OSError) as err:
            log.debug("stopping a timed-out pipeline on %s: %s", self.settings.display_url, err)
            # A lost connection: a Delete would wait on it too, so the shell is left.
            answered = isinstance(err, WinRMError)
        self._discard_pool(graceful=answered)


# Statements of a batch shown in logs and errors before the rest are counted instead.
_SHOWN_STATEMENTS = 3


def _render(calls: Sequence[CmdletCall]) -> str:
    """The calls as one line; a batch of a hundred Get-CsUser reads is shown by its first
    statements and a count, so a log line or an error stays readable."""
    shown = "; ".join(call.render() for call in calls[:_SHOWN_STATEMENTS])
    rest = len(calls) - _SHOWN_STATEMENTS
    return f"{shown}; ... ({rest} more statements)" if rest > 0 else shown


def _failing_call(calls: Sequence[CmdletCall], records: Sequence[Any]) -> str:
    """The statement the first of ``records`` came from, when the server says which: by the
    error's target (the identity a batch statement named), else by the command that wrote
    it (CommandInfo_Name when the server sends invocation details; ErrorCategory_Activity,
    by default the cmdlet's name, always)."""
    for record in records:
        target = str(getattr(record, "target_name", None) or "").casefold()
        name = (
            getattr(record, "command_name", None) or getattr(record, "activity", None) or ""
        ).lower()
        named = [call for call in calls if call.cmdlet.lower() == name]
        for call in named:
            if target and str(call.parameters.get("Identity", "")).casefold() == target:
                return call.render()
        if named:
            return named[0].render()
    return _render(calls)


def _server_error(record: Any) -> ServerError:
    category_value = getattr(record, "category", None)
    category = (
        _ERROR_CATEGORIES[category_value]
        if isinstance(category_value, int) and 0 <= category_value < len(_ERROR_CATEGORIES)
        else ""
    )
    return ServerError(
        message=str(record),
        fully_qualified_error_id=getattr(record, "fq_error", None) or "",
        category=category,
        target=getattr(record, "target_name", None) or "",
    )


def _describe(err: BaseException, settings: EndpointSettings) -> str:
    if isinstance(err, WSManFaultError):
        return f"WS-Management fault {err.code}: {err.reason or err.message}"
    if isinstance(err, WinRMTransportError):
        return f"HTTP {err.code} from the server"
    if isinstance(err, requests.exceptions.ConnectionError):
        return f"Could not connect: {_why_not_connected(err, settings)}"
    return f"{type(err).__name__}: {_first_line(err)}"


def _socket_error(err: BaseException) -> OSError | None:
    """The operating system's error under a requests/urllib3 one, if there is one."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause
        reason = getattr(cause, "reason", None)  # urllib3's MaxRetryError holds its cause
        if isinstance(reason, BaseException):
            cause = reason
        else:
            cause = cause.__cause__ or cause.__context__
    return None


def _why_not_connected(err: requests.exceptions.ConnectionError, s: EndpointSettings) -> str:
    """The socket's reason, in a person's words, rather than urllib3's retry wrapper
    ("HTTPConnectionPool(...): Max retries exceeded ... NewConnectionError(<object at 0x..>")."""
    cause = _socket_error(err)
    if isinstance(cause, socket.gaierror):
        return f"the name {s.hostname} does not resolve ({cause.strerror})"
    if isinstance(cause, ConnectionRefusedError):
        return f"{s.hostname} refused the connection on port {s.effective_port}"
    if cause is not None:
        return f"{s.hostname}:{s.effective_port}: {cause.strerror}"
    return _first_line(err)


# What usually fixes an HTTP status, where it says more than the transport's default hint.
_STATUS_HINTS = {
    400: (
        "the server could not read the request; with NTLM or Negotiate over plain HTTP this "
        "follows a connection the server closed while idle, and a new session is opened "
        "for the next try; if it persists, use HTTPS"
    ),
    404: (
        "nothing answers at this URL path: a front end serves remote PowerShell at "
        "/OcsPowershell, an Edge's WinRM at /wsman"
    ),
    503: (
        "the web service behind the URL is not running (503 Service Unavailable comes from "
        "HTTP.sys while IIS's application pool is stopped): on a front end, check that the "
        "Lync services are started and the internal web site's application pools are running; "
        "on an Edge, that the WinRM service is running"
    ),
}


# pypsrp's Negotiate/NTLM/Kerberos handler, when the server's 401 names another method.
_METHOD_REFUSED = re.compile(r"^Server responded with the auth protocol '([^']+)'")


def _offered_method(err: BaseException) -> str | None:
    """The method the server asked for, when ``err`` is pypsrp refusing it (a ValueError)."""
    found = _METHOD_REFUSED.match(str(err)) if isinstance(err, ValueError) else None
    return found.group(1) if found else None


def _method_hint(offered: str, auth_key: str) -> str:
    """What to set ``auth_key`` to for a server that asked for ``offered`` (pypsrp refuses
    only NTLM or Kerberos offers: it takes a Negotiate offer with any method)."""
    if offered.casefold() == "kerberos":
        return (
            f"set {auth_key} to kerberos or negotiate, on a machine that can get a Kerberos "
            "ticket for the server (pypsrp[kerberos])"
        )
    return f"set {auth_key} to ntlm, or to negotiate (which also does NTLM)"


def _timeouts(settings: EndpointSettings) -> tuple[int, int]:
    """Seconds a Receive may wait on the server (WS-Man OperationTimeout), and an HTTP
    request for its answer (that, plus the time to connect)."""
    receive = max(1, min(_MAX_RECEIVE_SECONDS, math.ceil(settings.operation_timeout)))
    return receive, receive + math.ceil(settings.connect_timeout)


def _specific_hint(err: BaseException, *, answered_before: bool) -> str | None:
    """A hint for the failures whose cause the transport's default hint would miss; None
    keeps the error type's own. ``answered_before``: this endpoint opened a session for
    this process, so its URL is right and a silence is the server's."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return (
            "nothing took the connection: check the host name, the port and the firewall; "
            "on a slow network raise lync:connectTimeout"
        )
    if isinstance(err, requests.exceptions.ReadTimeout) and answered_before:
        return (
            "the server answered this process before and now took the request without "
            "answering: it may be overloaded or hung (check its event log and, on a front "
            "end, the IIS application pool)"
        )
    if isinstance(err, requests.exceptions.ReadTimeout):
        return (
            "something at this address took the connection but did not answer as WinRM "
            "does: check the URL's port and path; if the server is only slow, raise "
            "lync:connectTimeout (a request waits that long for its answer, plus the "
            "Receive wait of at most 20 s)"
        )
    if isinstance(err, WinRMTransportError):
        return _STATUS_HINTS.get(err.code)
    if isinstance(err, WSManFaultError) and (
        err.code in _SHELLS_PER_USER or _SHELLS_PER_USER_TEXT in str(err)
    ):
        return (
            "this account holds as many remote PowerShell sessions on the server as it may "
            "(MaxShellsPerUser); sessions other tools or killed runs left open count until "
            "the server's idle timeout: close them, lower lync:poolsPerEndpoint, or raise "
            "the quota"
        )
    cause = _socket_error(err)
    if isinstance(cause, socket.gaierror):
        return (
            "check the host name in the URL: it must be a name DNS knows from this machine "
            "(a pool's or Edge's FQDN), or an address"
        )
    if isinstance(cause, ConnectionRefusedError):
        return (
            "nothing listens on that port: a front end serves OcsPowershell on 443, an Edge's "
            "WinRM listens on 5986 (HTTPS) or 5985 (HTTP); check the port and that the "
            "service is running"
        )
    if isinstance(err, requests.exceptions.SSLError) and "WRONG_VERSION_NUMBER" in str(err):
        return (
            "the server did not answer in TLS: this is an https:// URL on a port that speaks "
            "plain HTTP (WinRM listens for HTTP on 5985 and HTTPS on 5986), or a proxy is in "
            "the way; use the HTTPS port, or http:// with NTLM/Negotiate message encryption"
        )
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


# -- the process-wide registry ----------------------------------------------------------

_SESSIONS: dict[tuple[str, str], LyncSession] = {}
_SESSIONS_LOCK = threading.Lock()


def _identity_key(settings: EndpointSettings) -> tuple[str, str]:
    """Endpoint and identity; the password enters only as a digest, so a rotated password
    gets a new session and no key ever holds the secret itself."""
    secret = settings.password.get_secret_value() if settings.password else ""
    return (
        settings.model_dump_json(exclude={"password"}),
        hashlib.sha256(secret.encode()).hexdigest(),
    )


def session_for(settings: EndpointSettings) -> LyncSession:
    """The process's shared session for this endpoint and identity."""
    key = _identity_key(settings)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = LyncSession(settings)
        return session


@atexit.register
def close_all_sessions() -> None:
    """Close every pool on its server; runs at interpreter exit."""
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
