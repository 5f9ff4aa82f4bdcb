"""Fixtures for the emulator's wire tests: a fake state model and pypsrp client helpers.

The fake :class:`FakeService` stands in for the Lync state model so the protocol front is
tested alone; it has a handful of cmdlets with the shapes the real model returns.
"""

from __future__ import annotations

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


class FakeService:
    """Cmdlets: Get-Thing [-Count n] [-Name s], Set-Thing -Name s, Fail-Thing, Slow-Thing.

    ``calls`` records every invocation (role, statements, caller) for assertions;
    ``gate`` holds Slow-Thing until a test releases it.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.calls: list[tuple[Role, list[Statement], Caller]] = []
        self.gate = threading.Event()
        self.failures: dict[str, int] = {}

    def fail_invocation(self, cmdlet: str, nth: int) -> None:
        self.failures[cmdlet.lower()] = nth

    def invoke(self, role: Role, statements: list[Statement], caller: Caller) -> InvocationResult:
        self.calls.append((role, statements, caller))
        statement = statements[0]
        name = statement.command.lower()
        params = {(k or "").lower(): v for k, v in statement.parameters}
        if name in self.failures:
            self.failures[name] -= 1
            if self.failures[name] == 0:
                del self.failures[name]
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
