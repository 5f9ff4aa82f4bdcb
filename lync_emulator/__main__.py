"""``python -m lync_emulator``: serve a front end and an Edge until SIGINT or SIGTERM.

On start it prints one line per role, ``frontend <url>`` and ``edge <url>`` (plus
``ca-bundle <path>`` with ``--tls``), so scripts can read the ephemeral ports it chose.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from lync_emulator.emulator import DEFAULT_USERS, Emulator
from lync_emulator.replication import DEFAULT_REPLICAS, ReplicationSettings
from lync_emulator.versions import DEFAULT_VERSION, ServerVersion


def _ordinal(text: str) -> int:
    """N of "the Nth": a whole number from 1."""
    try:
        nth = int(text)
    except ValueError:
        nth = 0
    if nth < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, not {text!r}")
    return nth


def _cmdlet_and_count(text: str) -> tuple[str, int]:
    """``CMDLET[:N]`` as ``--drop-reply-after`` takes it; N defaults to 1."""
    cmdlet, _, count = text.partition(":")
    if not cmdlet.strip():
        raise argparse.ArgumentTypeError(f"expected CMDLET or CMDLET:N, not {text!r}")
    return cmdlet.strip(), _ordinal(count) if count else 1


def _replica_fqdn(role: str) -> str:
    return next(spec.fqdn for spec in DEFAULT_REPLICAS if spec.role == role)


def _replica(text: str) -> str:
    """A replica's FQDN, refused unless the deployment has it: a typo would flag none."""
    if text.casefold() not in {spec.fqdn.casefold() for spec in DEFAULT_REPLICAS}:
        known = ", ".join(spec.fqdn for spec in DEFAULT_REPLICAS)
        raise argparse.ArgumentTypeError(f"no replica is called {text!r}; use {known}")
    return text


_FRONTEND_FQDN, _EDGE_FQDN = _replica_fqdn("frontend"), _replica_fqdn("edge")
_REPLICAS_EPILOG = (
    f"Replicas: the front end's is {_FRONTEND_FQDN} and the Edge's {_EDGE_FQDN}. "
    "Get-CsManagementStoreReplicationStatus reports them by these FQDNs, and "
    "--broken-replica and --stalled-replica name them the same way (case-insensitively)."
)


def _parser() -> argparse.ArgumentParser:
    default_user, default_password = next(iter(DEFAULT_USERS.items()))
    parser = argparse.ArgumentParser(
        prog="python -m lync_emulator",
        description="A stand-in Lync Server 2013 or Skype for Business Server (front end and "
        "Edge) speaking WS-Management and PowerShell remoting on loopback, for tests, "
        "benchmarks and local deployments.",
        epilog=_REPLICAS_EPILOG,
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--version",
        type=ServerVersion.parse,
        choices=list(ServerVersion),
        default=DEFAULT_VERSION,
        help="the product to impersonate: Lync Server 2013, Skype for Business Server 2015, "
        "2019 or Subscription Edition; decides which parameters exist and the "
        f"ProductVersion reported ({DEFAULT_VERSION})",
    )
    server.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how far the server's clock is ahead of this machine's (negative: behind); "
        "every time the server reports uses it (0)",
    )
    net = parser.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    net.add_argument("--port", type=int, default=0, help="front end port; 0 picks a free one")
    net.add_argument("--edge-port", type=int, default=0, help="Edge port; 0 picks a free one")
    net.add_argument("--no-edge", action="store_true", help="serve the front end only")
    net.add_argument(
        "--auth",
        choices=("basic", "ntlm", "negotiate"),
        default="basic",
        help="HTTP authentication; ntlm/negotiate also seal messages over plain HTTP",
    )
    net.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed cert")
    net.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="with --tls: where to write the certificate for clients to trust "
        "(default: a private temporary directory; the path is printed on start)",
    )
    accounts = parser.add_argument_group("accounts")
    accounts.add_argument("--user", default=default_user, help=f"account ({default_user})")
    accounts.add_argument(
        "--password",
        default=default_password,
        help=f"its password ({default_password}, a well-known lab password: loopback only)",
    )
    accounts.add_argument(
        "--users-file",
        metavar="FILE",
        help=r"accounts instead of --user/--password, one 'DOMAIN\user:password' per line",
    )
    accounts.add_argument(
        "--view-only-user",
        action="append",
        default=[],
        metavar="USER",
        help="account holding CsViewOnlyAdministrator (may only run Get- cmdlets); repeatable",
    )
    state = parser.add_argument_group("state")
    state.add_argument("--state", metavar="FILE", help="persist the store as JSON in FILE")
    state.add_argument("--audit", metavar="FILE", help="append the audit log as JSON lines")
    repl = parser.add_argument_group("replication")
    repl.add_argument(
        "--replication-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="how long a replica takes to apply a change (0)",
    )
    repl.add_argument(
        "--stale-window",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after a write, how long replicas still report UpToDate for the old version (0)",
    )
    repl.add_argument(
        "--broken-replica",
        type=_replica,
        action="append",
        default=[],
        metavar="FQDN",
        help=f"a replica that never catches up and reports blank status, e.g. {_EDGE_FQDN}; "
        "repeatable",
    )
    repl.add_argument(
        "--stalled-replica",
        type=_replica,
        action="append",
        default=[],
        metavar="FQDN",
        help=f"a replica that applies only forced full pushes, e.g. {_FRONTEND_FQDN}; repeatable",
    )
    repl.add_argument(
        "--forced-push-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="delay of the full push Invoke-CsManagementStoreReplication forces (0)",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument(
        "--latency-ms", type=float, default=0, help="added to every HTTP request (0)"
    )
    faults.add_argument(
        "--open-cost-ms",
        type=float,
        default=0,
        help="added to opening a runspace pool, like loading the Lync module (0)",
    )
    faults.add_argument(
        "--fail-requests",
        type=int,
        default=0,
        metavar="N",
        help="answer the first N HTTP requests with 500",
    )
    faults.add_argument(
        "--drop-connections",
        type=int,
        default=0,
        metavar="N",
        help="close the connection without answering the first N requests",
    )
    faults.add_argument(
        "--reject-auth",
        type=int,
        default=0,
        metavar="N",
        help="reject the first N authentications",
    )
    faults.add_argument(
        "--drop-reply-after",
        type=_cmdlet_and_count,
        action="append",
        default=[],
        metavar="CMDLET[:N]",
        help="the Nth invocation of CMDLET (1) runs and commits, but the request that would "
        "carry its outcome gets no answer: the connection is closed; repeatable",
    )
    faults.add_argument(
        "--fail-write",
        type=_ordinal,
        action="append",
        default=[],
        metavar="N",
        help="the Nth invocation of a cmdlet that writes fails with a terminating error and "
        "applies nothing; repeatable",
    )
    faults.add_argument(
        "--hold-replies",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="every cmdlet runs at once but its answer is held this long after it started, "
        "Receive answering WSMan TimedOut meanwhile, as for a slow cmdlet (0: off)",
    )
    faults.add_argument(
        "--outage",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="for this long from start, answer every HTTP request with 503 Service "
        "Unavailable, as HTTP.sys does while IIS's application pool is down (0)",
    )
    return parser


def _users(args: argparse.Namespace) -> dict[str, str]:
    if not args.users_file:
        return {args.user: args.password}
    users = {}
    with open(args.users_file, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.rstrip("\r\n")
            if line.strip() and not line.lstrip().startswith("#"):
                name, sep, password = line.partition(":")
                if not sep:
                    raise SystemExit(f"{args.users_file}: expected DOMAIN\\user:password")
                users[name.strip()] = password
    return users


def emulator_from(args: argparse.Namespace) -> Emulator:
    """The emulator the parsed command line asks for, its fault switches set, not started.

    The outage window starts here, a moment before the listeners do.
    """
    emulator = Emulator(
        auth=args.auth,
        tls=args.tls,
        ca_bundle_path=args.ca_bundle,
        users=_users(args),
        view_only_users=args.view_only_user,
        edge=not args.no_edge,
        host=args.host,
        port=args.port,
        edge_port=args.edge_port,
        replication=ReplicationSettings(
            delay_seconds=args.replication_delay,
            stale_window_seconds=args.stale_window,
            broken=frozenset(args.broken_replica),
            stalled=frozenset(args.stalled_replica),
            forced_push_delay_seconds=args.forced_push_delay,
        ),
        state_path=args.state,
        audit_path=args.audit,
        version=args.version,
        clock_skew_seconds=args.clock_skew,
        latency_ms=args.latency_ms,
        open_cost_ms=args.open_cost_ms,
    )
    emulator.faults.fail_next_requests(args.fail_requests)
    emulator.faults.drop_next_connections(args.drop_connections)
    emulator.faults.reject_next_authentications(args.reject_auth)
    for cmdlet, nth in args.drop_reply_after:
        emulator.faults.drop_reply_after(cmdlet, nth)
    for nth in args.fail_write:
        emulator.faults.fail_write(nth)
    if args.hold_replies > 0:
        emulator.faults.hold_replies(args.hold_replies)
    if args.outage > 0:
        emulator.faults.outage_for(args.outage)
    return emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Run until a signal arrives; exit status 0 on a clean stop."""
    emulator = emulator_from(_parser().parse_args(argv))
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with emulator:
        print(f"frontend {emulator.frontend_url}", flush=True)
        if emulator.edge_url:
            print(f"edge {emulator.edge_url}", flush=True)
        if emulator.ca_bundle:
            print(f"ca-bundle {emulator.ca_bundle}", flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
