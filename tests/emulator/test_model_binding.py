"""Parameter binding and statement handling shared by every emulated cmdlet."""

from __future__ import annotations

import pytest

from lync_emulator.invocation import Caller, Role, Statement, UInt32, UInt64
from tests.emulator.model_helpers import errored, failed, make_service, ok, one, provider

ADMIN = Caller("CONTOSO\\admin")


@pytest.fixture
def service():
    svc = make_service()
    ok(svc.run("frontend", "New-CsHostingProvider", "P1", **provider("p1.example")))
    return svc


def test_cmdlet_and_parameter_names_are_case_insensitive(service) -> None:
    props = one(service.run("frontend", "get-cshostingprovider", identity="p1"))
    assert props["Identity"] == "P1"


def test_identity_binds_positionally_and_named(service) -> None:
    assert one(service.run("frontend", "Get-CsHostingProvider", "P1"))["ProxyFqdn"] == "p1.example"
    assert one(service.run("frontend", "Get-CsHostingProvider", Identity="P1"))["Identity"] == "P1"


def test_unambiguous_prefix_binds_and_ambiguous_prefix_fails(service) -> None:
    assert one(service.run("frontend", "Get-CsHostingProvider", Ident="P1"))["Identity"] == "P1"
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", Enable=True),
        "AmbiguousParameter",
        "InvalidArgument",
    )
    assert "-Enabled -EnabledSharedAddressSpace" in err.message


def test_unknown_parameter_is_named_parameter_not_found(service) -> None:
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", ProxyFqdn="new.example"),
        "NamedParameterNotFound",
        "InvalidArgument",
    )
    assert err.message == "A parameter cannot be found that matches parameter name 'ProxyFqdn'."
    assert err.fully_qualified_error_id == (
        "NamedParameterNotFound,Microsoft.Rtc.Management.Internal.SetHostingProviderCmdlet"
    )
    assert err.exception_type == "System.Management.Automation.ParameterBindingException"
    assert one(service.run("frontend", "Get-CsHostingProvider", "P1"))["ProxyFqdn"] == "p1.example"


def test_extra_positional_argument_is_refused(service) -> None:
    failed(
        service.run("frontend", "Get-CsHostingProvider", "P1", "P2"), "PositionalParameterNotFound"
    )


def test_parameter_given_twice_is_refused(service) -> None:
    statement = Statement("Get-CsHostingProvider", [("Identity", "P1"), ("identity", "P1")])
    failed(service.invoke(Role.FRONTEND, [statement], ADMIN), "ParameterAlreadyBound")


def test_switch_without_value_is_true_and_non_switch_without_value_is_null(service) -> None:
    statement = Statement("Get-CsHostingProvider", [("LocalStore", None)])
    assert len(ok(service.invoke(Role.FRONTEND, [statement], ADMIN))) == 1
    # AutodiscoverUrl is a string: no value means $null, which clears it.
    ok(service.run("frontend", "Set-CsHostingProvider", "P1", AutodiscoverUrl="https://a"))
    ok(service.run("frontend", "Set-CsHostingProvider", "P1", AutodiscoverUrl=None))
    assert one(service.run("frontend", "Get-CsHostingProvider", "P1"))["AutodiscoverUrl"] is None


def test_null_for_boolean_or_identity_is_refused(service) -> None:
    failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", Enabled=None),
        "ParameterArgumentValidationErrorNullNotAllowed",
        "InvalidData",
    )
    failed(
        service.run("frontend", "Remove-CsHostingProvider", Identity=None),
        "ParameterArgumentValidationErrorNullNotAllowed",
    )
    failed(
        service.run("frontend", "Remove-CsHostingProvider", Identity=""),
        "ParameterArgumentValidationErrorEmptyStringNotAllowed",
    )


def test_string_for_boolean_is_a_transformation_error(service) -> None:
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", Enabled="False"),
        "ParameterArgumentTransformationError",
        "InvalidData",
    )
    assert "Boolean parameters accept only Boolean values and numbers" in err.message
    assert one(service.run("frontend", "Get-CsHostingProvider", "P1"))["Enabled"] is True


def test_numbers_bind_to_booleans(service) -> None:
    ok(service.run("frontend", "Set-CsHostingProvider", "P1", Enabled=0))
    assert one(service.run("frontend", "Get-CsHostingProvider", "P1"))["Enabled"] is False


def test_unsigned_conversion_range_and_types(service) -> None:
    ok(service.run("frontend", "Set-CsHostingProvider", "P1", SipClientPort="5061"))
    port = one(service.run("frontend", "Get-CsHostingProvider", "P1"))["SipClientPort"]
    assert port == 5061
    assert type(port) is UInt64
    failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", SipClientPort="abc"),
        "CannotConvertArgumentNoMessage",
        "InvalidArgument",
    )
    failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", SipClientPort=-1),
        "CannotConvertArgumentNoMessage",
    )
    count = one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))[
        "OutgoingTlsCountForFederatedPartners"
    ]
    assert type(count) is UInt32


def test_bad_enum_value(service) -> None:
    err = failed(
        service.run("frontend", "Set-CsHostingProvider", "P1", VerificationLevel="Sometimes"),
        "CannotConvertArgumentNoMessage",
        "InvalidArgument",
    )
    assert err.message.startswith("Cannot bind parameter 'VerificationLevel'. Cannot convert value")
    assert "AlwaysVerifiable, AlwaysUnverifiable, UseSourceVerification" in err.message


def test_enum_value_is_case_insensitive_and_canonicalised(service) -> None:
    ok(
        service.run(
            "frontend", "Set-CsHostingProvider", "P1", VerificationLevel="usesourceverification"
        )
    )
    props = one(service.run("frontend", "Get-CsHostingProvider", "P1"))
    assert props["VerificationLevel"] == "UseSourceVerification"


def test_identity_and_filter_together_are_an_ambiguous_parameter_set(service) -> None:
    failed(
        service.run("frontend", "Get-CsHostingProvider", Identity="P1", Filter="*"),
        "AmbiguousParameterSet",
        "InvalidArgument",
    )


def test_error_action_stop_makes_errors_terminating_and_silently_continue_hides_them(
    service,
) -> None:
    failed(
        service.run("frontend", "Get-CsHostingProvider", "nope", ErrorAction="Stop"), "ItemNotFound"
    )
    result = service.run(
        "frontend", "Get-CsHostingProvider", "nope", ErrorAction="SilentlyContinue"
    )
    assert ok(result) == []


def test_script_is_refused_as_no_language(service) -> None:
    statement = Statement("Get-CsHostingProvider | Remove-CsHostingProvider", is_script=True)
    err = failed(service.invoke(Role.FRONTEND, [statement], ADMIN), "ScriptsNotAllowed")
    assert "Only cmdlet invocations are allowed" in err.message
    assert len(ok(service.run("frontend", "Get-CsHostingProvider"))) == 1


def test_piped_commands_are_refused(service) -> None:
    statement = Statement("Get-CsHostingProvider", piped_commands=1)
    failed(service.invoke(Role.FRONTEND, [statement], ADMIN), "PipelineNotSupported")


def test_unknown_cmdlet_has_powershells_exact_text(service) -> None:
    err = failed(
        service.run("frontend", "Get-CsTenant"), "CommandNotFoundException", "ObjectNotFound"
    )
    assert err.message == (
        "The term 'Get-CsTenant' is not recognized as the name of a cmdlet, function, script "
        "file, or operable program. Check the spelling of the name, or if a path was included, "
        "verify that the path is correct and try again."
    )
    assert err.fully_qualified_error_id == "CommandNotFoundException"
    assert err.exception_type == "System.Management.Automation.CommandNotFoundException"


def test_terminating_error_stops_later_statements_but_non_terminating_does_not(service) -> None:
    statements = [
        Statement("Get-CsHostingProvider", [(None, "missing")]),
        Statement("Set-CsHostingProvider", [(None, "P1"), ("Enabled", False)]),
        Statement("Get-CsNothing"),
        Statement("Set-CsHostingProvider", [(None, "P1"), ("IsLocal", True)]),
    ]
    service.audit.clear()
    result = service.invoke(Role.FRONTEND, statements, ADMIN)
    assert [e.fully_qualified_error_id.split(",")[0] for e in result.errors] == ["ItemNotFound"]
    assert result.terminating is not None
    assert [(e.cmdlet, e.outcome) for e in service.audit.entries()] == [
        ("Get-CsHostingProvider", "error"),
        ("Set-CsHostingProvider", "ok"),
        ("Get-CsNothing", "failed"),
    ]
    props = one(service.run("frontend", "Get-CsHostingProvider", "P1"))
    assert props["Enabled"] is False
    assert props["IsLocal"] is False


def test_non_terminating_get_error_record(service) -> None:
    err = errored(
        service.run("frontend", "Get-CsHostingProvider", "ghost"), "ItemNotFound", "ObjectNotFound"
    )
    assert err.message == (
        'Cannot get instance of "HostingProvider" with identity "ghost" because it does not exist.'
    )
