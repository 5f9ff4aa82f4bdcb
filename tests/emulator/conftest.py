"""Fixtures for the emulator's wire tests: a fake state model and pypsrp client helpers.

The fake :class:`FakeService` stands in for the Lync state model so the protocol front is
tested alone; it has a handful of cmdlets with the shapes the real model returns.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from lync_emulator import pytest_plugin
from lync_emulator.emulator import Emulator
from lync_emulator.invocation import (
    Caller,
    ErrorInfo,
    InvocationResult,
    LyncObject,
    Role,
    Statement,
    UInt32,
    UInt64,
)

# The plugin's fixtures, made visible to this directory's tests.
lync_emulator = pytest_plugin.lync_emulator
make_lync_emulator = pytest_plugin.make_lync_emulator

THING = "Microsoft.Rtc.Management.WritableConfig.Fake.Thing"
# New-CsHostingProvider's mandatory parameters (ODP: Identity, ProxyFqdn, Enabled,
# EnabledSharedAddressSpace, HostsOCSUsers), for wire tests that need one write.
FABRIKAM: dict[str, Any] = {
    "Identity": "Fabrikam",
    "ProxyFqdn": "sip.fabrikam.com",
    "Enabled": True,
    "EnabledSharedAddressSpace": False,
    "HostsOCSUsers": False,
}
# The default account's Basic credentials, for raw HTTP requests.
BASIC_AUTH = "Basic " + base64.b64encode(b"lab\\admin:Secret123!").decode()


class FakeFaults:
    """The fake's injected failures: only the Nth invocation of a cmdlet."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}

    def fail_invocation(self, cmdlet: str, nth: int = 1, *, terminating: bool = True) -> None:
        if not terminating:
            raise NotImplementedError("the fake's injected failures are terminating")
        self.failures[cmdlet.lower()] = nth

    def fail_write(self, nth: int = 1) -> None:
        raise NotImplementedError("the fake has no writing cmdlets")

    def clear(self) -> None:
        self.failures.clear()

    def fails_now(self, name: str) -> bool:
        if name not in self.failures:
            return False
        self.failures[name] -= 1
        if self.failures[name]:
            return False
        del self.failures[name]
        return True


class FakeService:
    """Cmdlets: Get-Thing [-Count n], Set-Thing -Name s, Echo-Thing, Echo-Error -Value v,
    Fail-Thing, Slow-Thing.

    ``calls`` records every invocation (role, statements, caller) for assertions;
    ``gate`` holds Slow-Thing until a test releases it. A restart keeps the fake as it is.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.calls: list[tuple[Role, list[Statement], Caller]] = []
        self.gate = threading.Event()
        self.faults = FakeFaults()

    def restarted(self) -> FakeService:
        return self

    def invoke(self, role: Role, statements: list[Statement], caller: Caller) -> InvocationResult:
        self.calls.append((role, statements, caller))
        statement = statements[0]
        name = statement.command.lower()
        params = {(k or "").lower(): v for k, v in statement.parameters}
        if self.faults.fails_now(name):
            return InvocationResult(
                terminating=ErrorInfo("injected", "Injected,Fake", "NotSpecified")
            )
        if name == "get-thing":
            count = int(params.get("count", 1))
            return InvocationResult(output=[self.thing(i, role, caller) for i in range(count)])
        if name == "set-thing":
            if caller.rbac_role != "CsAdministrator":
                return InvocationResult(
                    terminating=ErrorInfo(
                        "Access denied", "AccessDenied,Set-Thing", "PermissionDenied"
                    )
                )
            self.names.append(params["name"])
            return InvocationResult(output=[self.named(params["name"])])
        if name == "echo-thing":
            return InvocationResult(output=[self.named(params.get("value"), params)])
        if name == "echo-error":
            value = params["value"]
            error = ErrorInfo(f"bad {value}", "Bad,Echo-Error", "InvalidArgument", value)
            return InvocationResult(
                warnings=[f"careful {value}"], errors=[error], terminating=error
            )
        if name == "fail-thing":
            return InvocationResult(
                output=[self.named("before")],
                warnings=["careful"],
                errors=[ErrorInfo("not there", "NotFound,Fail-Thing", "ObjectNotFound", "x")],
                terminating=ErrorInfo("broken", "Broken,Fail-Thing", "InvalidArgument"),
            )
        if name == "slow-thing":
            self.gate.wait(10)
            return InvocationResult(output=[self.named("slow")])
        return InvocationResult(
            terminating=ErrorInfo(
                f"The term '{statement.command}' is not recognized as the name of a cmdlet.",
                "CommandNotFoundException",
                "ObjectNotFound",
                exception_type="System.Management.Automation.CommandNotFoundException",
            )
        )

    @staticmethod
    def thing(i: int, role: Role, caller: Caller) -> LyncObject:
        return LyncObject(
            [THING],
            {
                "Identity": f"thing{i}",
                "Index": i,
                "Port": UInt64(443),
                "Percent": UInt32(20),
                "Enabled": i % 2 == 0,
                "Level": "UseSourceVerification",
                "Nothing": None,
                "Tags": ["a", "b"],
                "When": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                "Role": str(role),
                "Caller": caller.username,
                "RbacRole": caller.rbac_role,
            },
            f"Identity=thing{i}",
        )

    @staticmethod
    def named(value: Any, params: dict[str, Any] | None = None) -> LyncObject:
        props = {"Value": value, "Params": repr(params)} if params is not None else {"Value": value}
        return LyncObject([THING], props, f"Value={value}")


@pytest.fixture
def fake() -> FakeService:
    return FakeService()


@pytest.fixture
def emu(make_lync_emulator: Callable[..., Emulator], fake: FakeService) -> Emulator:
    """Basic over HTTP, fake service, a short Receive wait so TimedOut shows quickly."""
    return make_lync_emulator(service=fake, max_receive_wait_s=0.2)


def client(emu: Emulator, *, role: str = "frontend", **kwargs: Any) -> WSMan:
    """A plain pypsrp WSMan pointed at one role of the emulator."""
    port = emu.frontend_port if role == "frontend" else emu.edge_port
    options: dict[str, Any] = {
        "port": port,
        "path": "OcsPowershell" if role == "frontend" else "wsman",
        "ssl": emu.ca_bundle is not None,
        "auth": "basic",
        "username": emu.username,
        "password": emu.password,
        "cert_validation": emu.ca_bundle or False,
        "connection_timeout": 5,
        "read_timeout": 10,
        "operation_timeout": 5,
    }
    options.update(kwargs)
    if options["auth"] == "basic" and not options["ssl"]:
        options.setdefault("encryption", "never")
    return WSMan("127.0.0.1", **options)


@pytest.fixture
def pool(emu: Emulator) -> Iterator[RunspacePool]:
    with RunspacePool(client(emu)) as opened:
        yield opened


def run(pool: RunspacePool, cmdlet: str, *args: Any, **params: Any) -> PowerShell:
    """Invoke one cmdlet; positional args go with add_argument, named with add_parameter."""
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for arg in args:
        ps.add_argument(arg)
    for name, value in params.items():
        ps.add_parameter(name, value)
    ps.invoke()
    return ps
