"""Each role answers at its own URL path only, as IIS and WinRM do; anything else is 404."""

from __future__ import annotations

import http.client

import pytest
from pypsrp.exceptions import WinRMTransportError
from pypsrp.powershell import RunspacePool

from lync_emulator.emulator import Emulator

from .conftest import BASIC_AUTH, client, run


@pytest.mark.parametrize(
    ("role", "path"),
    [("frontend", "PowerShell"), ("frontend", "wsman"), ("edge", "OcsPowershell"), ("edge", "")],
)
def test_a_wrong_path_is_404(emu: Emulator, role: str, path: str) -> None:
    with pytest.raises(WinRMTransportError) as info:
        RunspacePool(client(emu, role=role, path=path)).open()
    assert info.value.code == 404
    assert "HTTP Error 404. The requested resource is not found." in info.value.response_text


@pytest.mark.parametrize(("role", "path"), [("frontend", "ocspowershell"), ("edge", "WSMAN")])
def test_paths_match_case_insensitively(emu: Emulator, role: str, path: str) -> None:
    with RunspacePool(client(emu, role=role, path=path)) as pool:
        assert len(run(pool, "Get-Thing").output) == 1


def test_a_query_string_does_not_change_the_path(emu: Emulator) -> None:
    for path, status in [("/OcsPowershell?PSVersion=5.1", 500), ("/Other?x=/OcsPowershell", 404)]:
        conn = http.client.HTTPConnection("127.0.0.1", emu.frontend_port, timeout=5)
        conn.request("POST", path, b"<not xml", {"Authorization": BASIC_AUTH})
        assert conn.getresponse().status == status, path  # 500: a WSMan fault, so it was served
        conn.close()
