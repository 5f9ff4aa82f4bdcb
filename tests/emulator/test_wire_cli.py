"""``python -m lync_emulator`` as a user starts it: two lines, serves pypsrp, exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan


def test_cli_prints_urls_serves_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# accounts\nLAB\\ops:p:w$d\n", encoding="utf-8")
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
            assert ps.invoke()[0].adapted_properties["Identity"] == "Global"
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
    ]:
        assert option in out
