"""Get-/Set-CsAccessEdgeConfiguration: defaults, routing switches and routing-only properties."""

from __future__ import annotations

import pytest

from tests.emulator.model_helpers import failed, make_service, ok, one, provider, to_default_route

EDGE_NS = "Microsoft.Rtc.Management.WritableConfig.Settings.Edge."


@pytest.fixture
def service():
    return make_service()


def test_defaults_type_and_display_order(service) -> None:
    (obj,) = ok(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    assert obj.type_names == [EDGE_NS + "DisplayAccessEdgeSettingsDnsSrvRouting"]
    assert obj.to_string == "Global"
    assert list(obj.properties) == [
        "Identity",
        "AllowAnonymousUsers",
        "AllowFederatedUsers",
        "AllowOutsideUsers",
        "BeClearingHouse",
        "EnablePartnerDiscovery",
        "EnableArchivingDisclaimer",
        "EnableUserReplicator",
        "KeepCrlsUpToDateForPeers",
        "MarkSourceVerifiableOnOutgoingMessages",
        "OutgoingTlsCountForFederatedPartners",
        "DiscoveredPartnerStandardRate",
        "EnableDiscoveredPartnerContactsLimit",
        "MaxContactsPerDiscoveredPartner",
        "DiscoveredPartnerReportPeriodMinutes",
        "MaxAcceptedCertificatesStored",
        "MaxRejectedCertificatesStored",
        "CertificatesDeletedPercentage",
        "RoutingMethod",
        # Not in Microsoft's sample (a default view), but a property of the object.
        "DiscoveredPartnerVerificationLevel",
    ]
    props = obj.properties
    assert props["Identity"] == "Global"
    assert props["AllowFederatedUsers"] is False
    assert props["AllowOutsideUsers"] is True
    assert props["OutgoingTlsCountForFederatedPartners"] == 4
    assert props["MaxRejectedCertificatesStored"] == 500
    assert props["RoutingMethod"] == "UseDnsSrvRouting"


def test_identity_global_any_case_filter_and_bad_scope(service) -> None:
    assert (
        one(service.run("frontend", "Get-CsAccessEdgeConfiguration", "gLoBaL"))["Identity"]
        == "Global"
    )
    assert len(ok(service.run("frontend", "Get-CsAccessEdgeConfiguration", Filter="g*"))) == 1
    assert ok(service.run("frontend", "Get-CsAccessEdgeConfiguration", Filter="site:*")) == []
    failed(
        service.run("frontend", "Get-CsAccessEdgeConfiguration", "site:Redmond"), "InvalidIdentity"
    )


def test_set_common_properties_without_identity(service) -> None:
    result = service.run(
        "frontend",
        "Set-CsAccessEdgeConfiguration",
        AllowFederatedUsers=True,
        AllowOutsideUsers=1,
        UseDnsSrvRouting=None,
        EnablePartnerDiscovery=True,
    )
    assert ok(result) == []
    props = one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    assert props["AllowFederatedUsers"] is True
    assert props["EnablePartnerDiscovery"] is True


def test_outgoing_tls_count_range(service) -> None:
    failed(
        service.run(
            "frontend", "Set-CsAccessEdgeConfiguration", OutgoingTlsCountForFederatedPartners=5
        ),
        "ParameterArgumentValidationError",
        "InvalidData",
    )
    ok(
        service.run(
            "frontend", "Set-CsAccessEdgeConfiguration", OutgoingTlsCountForFederatedPartners=2
        )
    )


def test_routing_method_is_not_a_parameter(service) -> None:
    failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", RoutingMethod="UseDefaultRouting"),
        "NamedParameterNotFound",
    )


def test_default_routing_requires_fqdn(service) -> None:
    failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", UseDefaultRouting=None),
        "DefaultRouteFqdnRequired",
        "InvalidArgument",
    )


def test_switch_to_default_route_and_back(service) -> None:
    ok(to_default_route(service, VerificationLevel="AlwaysUnverifiable"))
    (obj,) = ok(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    assert obj.type_names == [EDGE_NS + "DisplayAccessEdgeSettingsDefaultRoute"]
    assert obj.properties["RoutingMethod"] == "UseDefaultRouting"
    assert obj.properties["DefaultRouteFqdn"] == "sip.partner.example"
    assert obj.properties["VerificationLevel"] == "AlwaysUnverifiable"
    assert "EnablePartnerDiscovery" not in obj.properties
    # A DNS-SRV-only property cannot be set under default routing...
    failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", EnablePartnerDiscovery=True),
        "RoutingMethodMismatch",
        "InvalidOperation",
    )
    # ...and the two routing switches are separate parameter sets.
    failed(
        service.run(
            "frontend",
            "Set-CsAccessEdgeConfiguration",
            UseDnsSrvRouting=None,
            UseDefaultRouting=None,
        ),
        "AmbiguousParameterSet",
    )
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", UseDnsSrvRouting=None))
    props = one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    assert props["RoutingMethod"] == "UseDnsSrvRouting"
    assert "DefaultRouteFqdn" not in props


def test_default_route_only_property_refused_under_dns_srv(service) -> None:
    failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", IsPublicProvider=True),
        "RoutingMethodMismatch",
        "InvalidOperation",
    )


def test_default_route_refused_while_hosting_providers_exist(service) -> None:
    ok(service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")))
    failed(
        to_default_route(service),
        "HostingProvidersExist",
        "InvalidOperation",
    )
    assert one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))["RoutingMethod"] == (
        "UseDnsSrvRouting"
    )


def test_no_hosting_provider_is_created_while_default_routing_is_on(service) -> None:
    ok(to_default_route(service))
    failed(
        service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")),
        "HostingProviderRequiresDnsSrvRouting",
        "InvalidOperation",
    )
    assert ok(service.run("frontend", "Get-CsHostingProvider")) == []
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", UseDnsSrvRouting=None))
    ok(service.run("frontend", "New-CsHostingProvider", "P", **provider("p.example")))


def test_set_with_instance_writes_back_a_read_object(service) -> None:
    props = one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    props["AllowAnonymousUsers"] = True
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", Instance=props))
    assert (
        one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))["AllowAnonymousUsers"] is True
    )


def test_get_non_matching_filter_returns_nothing_without_error(service) -> None:
    assert ok(service.run("frontend", "Get-CsAccessEdgeConfiguration", Filter="x*")) == []


def test_discovered_partner_verification_level_is_read_back(service) -> None:
    """Absent from Microsoft's formatted sample, yet a property the object carries."""
    ok(
        service.run(
            "frontend",
            "Set-CsAccessEdgeConfiguration",
            UseDnsSrvRouting=None,
            DiscoveredPartnerVerificationLevel="UseSourceVerification",
        )
    )
    props = one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))
    assert props["DiscoveredPartnerVerificationLevel"] == "UseSourceVerification"
    edge = one(service.run("edge", "Get-CsAccessEdgeConfiguration", LocalStore=None))
    assert edge["DiscoveredPartnerVerificationLevel"] == "UseSourceVerification"


def test_default_route_type_carries_its_own_set_and_not_the_dns_srv_one(service) -> None:
    ok(to_default_route(service))
    names = list(one(service.run("frontend", "Get-CsAccessEdgeConfiguration")))
    assert names[4:7] == ["DefaultRouteFqdn", "IsPublicProvider", "VerificationLevel"]
    assert names[-1] == "RoutingMethod"
    dns_only = {"BeClearingHouse", "EnablePartnerDiscovery", "DiscoveredPartnerVerificationLevel"}
    assert dns_only.isdisjoint(names)
    assert len(names) == 20
