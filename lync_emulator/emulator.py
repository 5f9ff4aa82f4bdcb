"""The emulator as a Python object: one server per role on loopback, one shared state model.

``with Emulator() as emu:`` starts a front end (``/OcsPowershell``) and an Edge (``/wsman``)
on ephemeral ports; both run cmdlets against the same :class:`CmdletService`, and each knows
its role, which is how an Edge's ``-LocalStore`` read sees only what has replicated to it.
:meth:`Emulator.restart` restarts both as a server reboot would, on the same ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from lync_emulator.auth import Authenticator
from lync_emulator.counters import Counters
from lync_emulator.endpoint import RoleEndpoint
from lync_emulator.faults import Faults
from lync_emulator.http import DEFAULT_TIMEOUT_S, WSManHTTPServer
from lync_emulator.invocation import (
    Caller,
    CmdletService,
    InvocationResult,
    LyncObject,
    Role,
    Statement,
)
from lync_emulator.psrp import ShellTable
from lync_emulator.tls import Certificate, make_certificate
from lync_emulator.versions import DEFAULT_VERSION
from lync_emulator.wsman import SHELLS_PER_USER_DEFAULT, WSManEndpoint

if TYPE_CHECKING:
    from lync_emulator.replication import ReplicaSpec, ReplicationSettings

DEFAULT_USERS: Mapping[str, str] = {"lab\\admin": "Secret123!"}
PATHS = {Role.FRONTEND: "/OcsPowershell", Role.EDGE: "/wsman"}
VIEW_ONLY_ROLE = "CsViewOnlyAdministrator"
ADMIN_ROLE = "CsAdministrator"


class LocalCmdletError(Exception):
    """An out-of-band cmdlet (:meth:`Emulator.run_cmdlet`) wrote errors or failed."""

    def __init__(self, result: InvocationResult) -> None:
        errors = [*result.errors, *([result.terminating] if result.terminating else [])]
        super().__init__("; ".join(f"{e.fully_qualified_error_id}: {e.message}" for e in errors))
        self.result = result


class Emulator:
    """A stand-in Lync Server 2013 (or Skype for Business Server) speaking WSMan/PSRP.

    ``service`` replaces the Lync state model (tests of the protocol front pass a fake);
    by default a :class:`lync_emulator.service.LyncService` is built from ``replicas``,
    ``replication``, ``state_path``, ``audit_path``, ``version`` (``"2013"`` default,
    ``"2015"``, ``"2019"``, ``"SE"``) and ``clock_skew_seconds`` (the server clock's offset
    from the real one, either way; ``service.clock_skew_seconds`` changes it at runtime).
    ``max_receive_wait_s`` caps how long a Receive waits before answering TimedOut;
    ``http_timeout_s`` is HTTP.sys's idle, header, body and drain timers (2 minutes each, as
    on Windows; tests of slow clients shorten it); ``ca_bundle_path`` chooses where the TLS
    certificate is written; ``max_commands_per_shell`` is WinRM's
    MaxConcurrentCommandsPerShell (1000), the commands a shell keeps until the client sends
    the Terminate signal; ``max_shells_per_user`` is MaxShellsPerUser (25), the shells one
    user may hold open on a role until each is deleted.
    """

    def __init__(
        self,
        *,
        auth: str = "basic",
        tls: bool = False,
        users: Mapping[str, str] | None = None,
        view_only_users: Iterable[str] = (),
        edge: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        edge_port: int = 0,
        replication: ReplicationSettings | None = None,
        replicas: Iterable[ReplicaSpec] | None = None,
        state_path: str | Path | None = None,
        audit_path: str | Path | None = None,
        version: str = DEFAULT_VERSION,
        clock_skew_seconds: float = 0.0,
        latency_ms: float = 0,
        open_cost_ms: float = 0,
        service: CmdletService | None = None,
        ca_bundle_path: str | None = None,
        max_receive_wait_s: float = 20.0,
        http_timeout_s: float = DEFAULT_TIMEOUT_S,
        max_commands_per_shell: int = 1000,
        max_shells_per_user: int = SHELLS_PER_USER_DEFAULT,
    ) -> None:
        self.users = dict(users if users is not None else DEFAULT_USERS)
        if not self.users:
            raise ValueError("at least one user is needed")
        self.username, self.password = next(iter(self.users.items()))
        self.view_only_users = {u.casefold() for u in view_only_users}
        self.host = host
        self.service: CmdletService = service or _lync_service(
            replicas=replicas,
            replication=replication,
            state_path=state_path,
            audit_path=audit_path,
            version=version,
            clock_skew_seconds=clock_skew_seconds,
        )
        self.counters = Counters()
        self.faults = Faults(
            latency_ms=latency_ms,
            open_cost_ms=open_cost_ms,
            forget_shells=self.forget_shells,
            service_faults=lambda: self.service.faults,
        )
        self._certificate: Certificate | None = (
            make_certificate(host, ca_bundle_path) if tls else None
        )
        self._authenticator = Authenticator(
            auth, self.users, reject=self.faults.take_auth_rejection
        )
        self._max_receive_wait_s = max_receive_wait_s
        self._max_commands_per_shell = max_commands_per_shell
        self._max_shells_per_user = max_shells_per_user
        self._http_timeout_s = http_timeout_s
        self._tables: dict[Role, ShellTable] = {}
        self._servers: dict[Role, WSManHTTPServer] = {}
        self._bind({Role.FRONTEND: port, **({Role.EDGE: edge_port} if edge else {})})
        self._started = False

    def _bind(self, ports: Mapping[Role, int]) -> None:
        """Build each role's shell table, request path and listener, bound to its port."""
        for role, wanted_port in ports.items():
            table = ShellTable(
                role,
                self.service,
                caller_for=self._caller_for,
                counters=self.counters,
                replies=self.faults.replies,
                open_cost_s=self.faults.open_cost_s,
                max_commands=self._max_commands_per_shell,
                max_shells_per_user=self._max_shells_per_user,
            )
            endpoint = WSManEndpoint(
                table, machine=self.host, max_receive_wait_s=self._max_receive_wait_s
            )
            app = RoleEndpoint(
                role,
                PATHS[role],
                endpoint=endpoint,
                authenticator=self._authenticator,
                faults=self.faults,
                counters=self.counters,
            )
            tls_context = self._certificate.server_context() if self._certificate else None
            self._tables[role] = table
            self._servers[role] = WSManHTTPServer(
                (self.host, wanted_port), app, tls=tls_context, timeout_s=self._http_timeout_s
            )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (the servers are bound already, so the URLs are known before)."""
        if not self._started:
            for server in self._servers.values():
                server.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Stop every server and remove private files; safe to call twice."""
        self.faults.hear_again()  # ignored requests end first, their threads freed
        for server in self._servers.values():
            server.stop()
        for table in self._tables.values():
            table.close()
        self._authenticator.close()
        if self._certificate is not None:
            self._certificate.close()
        self._started = False

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def restart(self) -> None:
        """Restart the servers, as a reboot or an IIS reset would, on the same ports.

        Both listeners stop (open connections are cut), cmdlets still running finish, every
        shell is forgotten, and the state model is what the restarted process loads
        (:meth:`CmdletService.restarted`): with a ``state_path``, a fresh service read from the
        file, with the same users, version and replication settings; without one, the store
        in memory goes on. Clients holding a pool get WSMan's "shell not found" fault
        (0x8033805B) on its next use and must open a new one. Counters, fault switches, the
        certificate and the audit log (the tests' instruments) carry over. Only a running
        emulator restarts: :meth:`stop` removed its certificate and NTLM account files.
        """
        if not self._started:
            raise RuntimeError("only a running emulator can restart; start it first")
        ports = {role: server.port for role, server in self._servers.items()}
        for server in self._servers.values():
            server.stop()
        for table in self._tables.values():
            table.close(wait=True)
        self.service = self.service.restarted()
        self._bind(ports)
        for server in self._servers.values():
            server.start()

    def cut_idle_connections(self) -> None:
        """Close every kept-alive client connection of every role, as HTTP.sys does when
        its idle timer runs out; shells stay. Call it between requests."""
        for server in self._servers.values():
            server.cut_connections()

    def forget_shells(self) -> None:
        """Lose every shell while listeners and store stay: clients see faults on next use."""
        for table in self._tables.values():
            table.forget_all()

    # -- addresses ------------------------------------------------------------------------

    def _url(self, role: Role) -> str:
        scheme = "https" if self._certificate else "http"
        return f"{scheme}://{self.host}:{self._servers[role].port}{PATHS[role]}"

    @property
    def frontend_url(self) -> str:
        return self._url(Role.FRONTEND)

    @property
    def edge_url(self) -> str | None:
        return self._url(Role.EDGE) if Role.EDGE in self._servers else None

    @property
    def frontend_port(self) -> int:
        return self._servers[Role.FRONTEND].port

    @property
    def edge_port(self) -> int | None:
        return self._servers[Role.EDGE].port if Role.EDGE in self._servers else None

    @property
    def ca_bundle(self) -> str | None:
        """The certificate file to pass as a client's CA bundle, when TLS is on."""
        return self._certificate.cert_path if self._certificate else None

    @property
    def audit(self) -> Any:
        """The state model's audit log (``service.audit``)."""
        return getattr(self.service, "audit", None)

    def shells_open(self, role: Role | str = Role.FRONTEND) -> int:
        """How many shells the role holds right now."""
        return len(self._tables[Role(role)])

    # -- out of band ----------------------------------------------------------------------

    def run_cmdlet(self, name: str, *positional: Any, **named: Any) -> list[LyncObject]:
        """Run a cmdlet as an administrator at the server's own Management Shell.

        Role ``local``: no RBAC, no wire. Tests use it to seed or change state behind the
        client's back. Raises :class:`LocalCmdletError` if the cmdlet wrote any error.
        """
        statement = Statement(
            name, [*((None, v) for v in positional), *((k, v) for k, v in named.items())]
        )
        result = self.service.invoke(Role.LOCAL, [statement], Caller(self.username))
        if result.errors or result.terminating:
            raise LocalCmdletError(result)
        return result.output

    def _caller_for(self, user: str) -> Caller:
        viewer = user.casefold() in self.view_only_users
        return Caller(user, VIEW_ONLY_ROLE if viewer else ADMIN_ROLE)


def _lync_service(
    *,
    replicas: Iterable[ReplicaSpec] | None,
    replication: ReplicationSettings | None,
    state_path: str | Path | None,
    audit_path: str | Path | None,
    version: str,
    clock_skew_seconds: float,
) -> CmdletService:
    """Build the real state model; imported late so the protocol front stands alone."""
    from lync_emulator.replication import ReplicationSettings  # noqa: PLC0415
    from lync_emulator.service import LyncService  # noqa: PLC0415

    service: CmdletService = LyncService(
        replicas=list(replicas) if replicas is not None else None,
        replication=replication or ReplicationSettings(),
        state_path=state_path,
        audit_path=audit_path,
        version=version,
        clock_skew_seconds=clock_skew_seconds,
    )
    return service
