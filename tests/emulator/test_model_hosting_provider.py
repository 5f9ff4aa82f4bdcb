"""New-/Set-/Get-/Remove-/Enable-/Disable-CsHostingProvider."""

from __future__ import annotations

import time

import pytest

from lync_emulator.invocation import UInt64
from tests.emulator.model_helpers import errored, failed, make_service, ok, one, provider

EXCHANGE = {
    "ProxyFqdn": "exap.um.outlook.com",
    "Enabled": True,
    "EnabledSharedAddressSpace": True,
    "HostsOCSUsers": False,
    "IsLocal": False,
    "VerificationLevel": "UseSourceVerification",
}

HOSTILE = [
    'it\'s "quoted"',
    "$(Remove-Item C:\\ -Recurse)",
    "back`tick`n",
    "semi;colon; Remove-CsHostingProvider x",
    "new\nline\r\nand\ttab",
    "nön-ÄSCII ✓ 日本語 🙂",
    "x" * 1000,
]


@pytest.fixture
def service():
    return make_service()


def test_new_then_get_returns_every_property_in_display_order(service) -> None:
    assert ok(service.run("frontend", "New-CsHostingProvider", "Exchange Online", **EXCHANGE)) == []
    (obj,) = ok(service.run("frontend", "Get-CsHostingProvider", "exchange online"))
    assert obj.type_names == [
        "Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayHostingProvider"
    ]
    assert obj.to_string == "Exchange Online"
    assert obj.properties == {
        "Identity": "Exchange Online",
        "Name": "Exchange Online",
        "ProxyFqdn": "exap.um.outlook.com",
        "VerificationLevel": "UseSourceVerification",
        "Enabled": True,
        "EnabledSharedAddressSpace": True,
        "HostsOCSUsers": False,
        "IsLocal": False,
        "AutodiscoverUrl": None,
        "SipClientPort": 443,
    }
    assert type(obj.properties["SipClientPort"]) is UInt64


def test_new_applies_documented_defaults(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "Min", **provider("min.example", False)))
    props = one(service.run("frontend", "Get-CsHostingProvider", "Min"))
    assert props["VerificationLevel"] == "AlwaysVerifiable"
    assert props["EnabledSharedAddressSpace"] is False
    assert props["SipClientPort"] == 443


def test_new_missing_mandatory_parameters(service) -> None:
    err = failed(
        service.run("frontend", "New-CsHostingProvider", "X"),
        "MissingMandatoryParameter",
        "InvalidArgument",
    )
    assert err.message == (
        "Cannot process command because of one or more missing mandatory parameters: "
        "ProxyFqdn Enabled EnabledSharedAddressSpace HostsOCSUsers."
    )
    assert service.audit.writes() == []


def test_new_needs_shared_address_space_and_hosts_ocs_users(service) -> None:
    """ODP marks both Required: True, although its prose and Example 1 leave them out."""
    for left_out in ("EnabledSharedAddressSpace", "HostsOCSUsers"):
        given = {k: v for k, v in EXCHANGE.items() if k != left_out}
        err = failed(
            service.run("frontend", "New-CsHostingProvider", "Exchange Online", **given),
            "MissingMandatoryParameter",
        )
        assert err.message.endswith(f"mandatory parameters: {left_out}.")
    assert service.audit.writes() == []


def test_duplicate_identity_and_proxy_fqdn(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "Exchange Online", **EXCHANGE))
    err = failed(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            "EXCHANGE ONLINE",
            **provider("o.example"),
        ),
        "DuplicateIdentity",
        "ResourceExists",
    )
    assert err.fully_qualified_error_id == (
        "DuplicateIdentity,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet"
    )
    failed(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            "Other",
            **provider("EXAP.um.outlook.com"),
        ),
        "DuplicateProxyFqdn",
        "ResourceExists",
    )
    assert len(ok(service.run("frontend", "Get-CsHostingProvider"))) == 1


def test_set_changes_only_given_properties(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "Exchange Online", **EXCHANGE))
    ok(service.run("frontend", "Set-CsHostingProvider", Identity="exchange ONLINE", Enabled=False))
    props = one(service.run("frontend", "Get-CsHostingProvider", "Exchange Online"))
    assert props["Enabled"] is False
    assert props["EnabledSharedAddressSpace"] is True
    assert props["Identity"] == "Exchange Online"


def test_set_missing_provider_is_item_not_found(service) -> None:
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "ghost", Enabled=True),
        "ItemNotFound",
        "ObjectNotFound",
    )
    assert err.fully_qualified_error_id == (
        "ItemNotFound,Microsoft.Rtc.Management.Internal.SetHostingProviderCmdlet"
    )
    assert err.exception_type == "Microsoft.Rtc.Management.ManagementException"


def test_set_with_instance_and_override(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example", False)))
    instance = one(service.run("frontend", "Get-CsHostingProvider", "P"))
    instance["IsLocal"] = True
    ok(service.run("frontend", "Set-CsHostingProvider", Instance=instance, Enabled=True))
    props = one(service.run("frontend", "Get-CsHostingProvider", "P"))
    assert (props["IsLocal"], props["Enabled"]) == (True, True)


def test_in_memory_new_writes_nothing(service) -> None:
    props = one(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            "Mem",
            **provider("m.example"),
            InMemory=None,
        )
    )
    assert props["Identity"] == "Mem"
    assert ok(service.run("frontend", "Get-CsHostingProvider")) == []
    assert service.audit.writes() == []


def test_what_if_writes_nothing(service) -> None:
    ok(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            "W",
            **provider("w.example"),
            WhatIf=None,
        )
    )
    assert ok(service.run("frontend", "Get-CsHostingProvider")) == []
    assert service.store.version == 1


def test_remove_and_remove_missing(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")))
    ok(service.run("frontend", "Remove-CsHostingProvider", "p", Force=None))
    errored(service.run("frontend", "Get-CsHostingProvider", "P"), "ItemNotFound", "ObjectNotFound")
    failed(
        service.run("frontend", "Remove-CsHostingProvider", "P"), "ItemNotFound", "ObjectNotFound"
    )
    failed(service.run("frontend", "Remove-CsHostingProvider"), "MissingMandatoryParameter")


def test_enable_is_not_idempotent_but_disable_then_enable_works(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")))
    failed(
        service.run("frontend", "Enable-CsHostingProvider", "P"),
        "AlreadyEnabled",
        "InvalidOperation",
    )
    ok(service.run("frontend", "Disable-CsHostingProvider", "P"))
    assert one(service.run("frontend", "Get-CsHostingProvider", "P"))["Enabled"] is False
    ok(service.run("frontend", "Enable-CsHostingProvider", "P"))
    assert one(service.run("frontend", "Get-CsHostingProvider", "P"))["Enabled"] is True


def test_filter_wildcards(service) -> None:
    for name in ("fabrikam.org", "contoso.org", "litware.com"):
        ok(service.run("frontend", "New-CsHostingProvider", name, **provider(f"sip.{name}")))
    found = ok(service.run("frontend", "Get-CsHostingProvider", Filter="*.ORG"))
    assert [o.properties["Identity"] for o in found] == ["fabrikam.org", "contoso.org"]
    found = ok(service.run("frontend", "Get-CsHostingProvider", Filter="?itware.*"))
    assert [o.properties["Identity"] for o in found] == ["litware.com"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_round_trip_exactly(service, text: str) -> None:
    ok(
        service.run(
            "frontend",
            "New-CsHostingProvider",
            text,
            **provider(f"proxy {text}"),
            AutodiscoverUrl=text,
        )
    )
    props = one(service.run("frontend", "Get-CsHostingProvider", text))
    assert props["Identity"] == text
    assert props["ProxyFqdn"] == f"proxy {text}"
    assert props["AutodiscoverUrl"] == text
    assert [
        o.properties["Identity"] for o in ok(service.run("frontend", "Get-CsHostingProvider"))
    ] == [text]


def test_thousand_providers_created_and_listed_quickly(service) -> None:
    started = time.perf_counter()
    for index in range(1000):
        ok(
            service.run(
                "frontend",
                "New-CsHostingProvider",
                f"p{index:04}",
                **provider(f"p{index}.example"),
            )
        )
    listed = ok(service.run("frontend", "Get-CsHostingProvider"))
    elapsed = time.perf_counter() - started
    assert [o.properties["Identity"] for o in listed] == [f"p{i:04}" for i in range(1000)]
    assert service.store.version == 1001
    assert elapsed < 5, f"1,000 creates and a list took {elapsed:.2f}s"
