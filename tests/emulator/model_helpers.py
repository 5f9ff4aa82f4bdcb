"""Helpers for the state-model tests: a fake clock and terse assertions on results."""

from __future__ import annotations

from typing import Any

from lync_emulator.invocation import ErrorInfo, InvocationResult, LyncObject
from lync_emulator.replication import ReplicationSettings
from lync_emulator.service import LyncService

START = 1_700_000_000.0


class FakeClock:
    """A settable clock, so replication timing is tested without sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_service(clock: FakeClock | None = None, **settings: Any) -> LyncService:
    """A service on a fake clock; keyword arguments become ReplicationSettings."""
    return LyncService(clock=clock or FakeClock(), replication=ReplicationSettings(**settings))


def provider(proxy_fqdn: str, enabled: bool = True, **more: Any) -> dict[str, Any]:
    """New-CsHostingProvider's mandatory parameters besides Identity (ODP: ProxyFqdn,
    Enabled, EnabledSharedAddressSpace, HostsOCSUsers), plus any others."""
    return {
        "ProxyFqdn": proxy_fqdn,
        "Enabled": enabled,
        "EnabledSharedAddressSpace": False,
        "HostsOCSUsers": False,
        **more,
    }


def to_default_route(service: LyncService, **more: Any) -> InvocationResult:
    """Set-CsAccessEdgeConfiguration switching to default routing via sip.partner.example."""
    return service.run(
        "frontend",
        "Set-CsAccessEdgeConfiguration",
        UseDefaultRouting=None,
        DefaultRouteFqdn="sip.partner.example",
        **more,
    )


def ok(result: InvocationResult) -> list[LyncObject]:
    """The output of a call that must have succeeded without any error record."""
    assert result.terminating is None, result.terminating
    assert result.errors == [], result.errors
    return result.output


def one(result: InvocationResult) -> dict[str, Any]:
    """The properties of the single object a successful call returned."""
    output = ok(result)
    assert len(output) == 1, output
    return output[0].properties


def failed(result: InvocationResult, error_id: str, category: str | None = None) -> ErrorInfo:
    """The terminating error, checked by FQID prefix (and category when given)."""
    assert result.terminating is not None, result
    assert result.terminating.fully_qualified_error_id.split(",")[0] == error_id, result.terminating
    if category is not None:
        assert result.terminating.category == category
    return result.terminating


def errored(result: InvocationResult, error_id: str, category: str | None = None) -> ErrorInfo:
    """The single non-terminating error of a call that otherwise completed."""
    assert result.terminating is None, result.terminating
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error.fully_qualified_error_id.split(",")[0] == error_id, error
    if category is not None:
        assert error.category == category
    return error
