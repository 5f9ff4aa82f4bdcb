"""``python -m lync_emulator`` as a user starts it: two lines, serves pypsrp, exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from pypsrp.exceptions import WinRMTransportError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lync_emulator.__main__ import _parser, emulator_from
from lync_emulator.versions import ServerVersion

from .conftest import client, run

EDGE = "edge01.contoso.local"


def test_cli_prints_urls_serves_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# accounts\nLAB\\ops:p:w$d\n", encoding="utf-8")
    started = time.time()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lync_emulator",
            "--port",
            "0",
            "--users-file",
            str(users),
            "--state",
            str(tmp_path / "state.json"),
            "--replication-delay",
            "0",
            "--version",
            "2015",
            "--clock-skew",
            "-600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        frontend = proc.stdout.readline().split()
        edge = proc.stdout.readline().split()
        assert frontend[0] == "frontend" and frontend[1].endswith("/OcsPowershell")
        assert edge[0] == "edge" and edge[1].endswith("/wsman")
        url = urlsplit(frontend[1])
        wsman = WSMan(
            url.hostname or "",
            port=url.port,
            path="OcsPowershell",
            ssl=False,
            auth="basic",
            username="LAB\\ops",
            password="p:w$d",
            encryption="never",
        )
        with RunspacePool(wsman) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-CsAccessEdgeConfiguration")
            settings = ps.invoke()[0].adapted_properties
            assert settings["Identity"] == "Global"
            assert "DnsSrvCacheRecordCount" in settings  # a 2015 server
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-CsManagementStoreReplicationStatus").add_argument(EDGE)
            status = ps.invoke()[0].adapted_properties
            assert status["ProductVersion"] == "6.0.9319.0"
            reported = datetime.fromisoformat(status["LastStatusReport"]).timestamp()
            assert started - 600 - 1 <= reported <= time.time() - 600  # ten minutes behind
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "state.json").exists()


def test_cli_help_describes_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lync_emulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in [
        "--host",
        "--port",
        "--edge-port",
        "--no-edge",
        "--auth",
        "--tls",
        "--user",
        "--password",
        "--users-file",
        "--state",
        "--audit",
        "--replication-delay",
        "--stale-window",
        "--broken-replica",
        "--stalled-replica",
        "--forced-push-delay",
        "--latency-ms",
        "--open-cost-ms",
        "--version {2013,2015,2019,SE}",
        "--clock-skew SECONDS",
        "--drop-reply-after CMDLET[:N]",
        "--fail-write N",
        "--hold-replies SECONDS",
        "--outage SECONDS",
    ]:
        assert option in out
    assert "(negative: behind)" in out
    # The replicas, by the FQDNs --broken-replica and --stalled-replica take.
    flat = " ".join(out.split())
    assert "front end's is fe01.contoso.local and the Edge's edge01.contoso.local" in flat
    assert "--broken-replica and --stalled-replica name them the same way" in flat


def test_cli_fault_flags_set_the_switches() -> None:
    args = _parser().parse_args(
        [
            "--drop-reply-after",
            "Get-CsHostingProvider:2",
            "--drop-reply-after",
            "Get-CsUser",
            "--fail-write",
            "1",
            "--hold-replies",
            "0.3",
            "--outage",
            "60",
        ]
    )
    assert args.drop_reply_after == [("Get-CsHostingProvider", 2), ("Get-CsUser", 1)]
    with emulator_from(args) as emu:
        with pytest.raises(WinRMTransportError) as info:
            RunspacePool(client(emu)).open()
        assert info.value.code == 503  # --outage
        emu.faults.end_outage()
        with RunspacePool(client(emu)) as pool:
            with pytest.raises(requests.exceptions.ConnectionError):
                run(pool, "Get-CsUser")  # --drop-reply-after Get-CsUser
            started = time.monotonic()
            assert run(pool, "Get-CsHostingProvider").output == []
            assert time.monotonic() - started >= 0.3  # --hold-replies
            with pytest.raises(requests.exceptions.ConnectionError):
                run(pool, "Get-CsHostingProvider")  # its second invocation
            emu.faults.release_replies()
            failed = run(pool, "Set-CsAccessEdgeConfiguration", AllowFederatedUsers=True)
            assert failed.streams.error[0].fq_error.startswith("InjectedFault,")  # --fail-write


@pytest.mark.parametrize(
    "argv",
    [
        ["--broken-replica", "edge01"],
        ["--stalled-replica", "fe02.contoso.local"],
        ["--fail-write", "0"],
        ["--drop-reply-after", "Get-CsUser:0"],
        ["--drop-reply-after", ":2"],
    ],
)
def test_cli_refuses_unknown_replicas_and_bad_counts(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)


def test_cli_parses_versions_case_insensitively_and_negative_skews() -> None:
    args = _parser().parse_args(["--version", "se", "--clock-skew", "-180"])
    assert (args.version, args.clock_skew) == (ServerVersion.SFB_SE, -180.0)
    defaults = _parser().parse_args([])
    assert (defaults.version, defaults.clock_skew) == (ServerVersion.LYNC_2013, 0.0)
    with pytest.raises(SystemExit):
        _parser().parse_args(["--version", "2016"])
