"""Server versions: which parameters exist where, what Get returns, the ProductVersion."""

from __future__ import annotations

import pytest

from lync_emulator.replication import ReplicationSettings
from lync_emulator.service import LyncService
from lync_emulator.versions import ServerVersion
from tests.emulator.model_helpers import FakeClock, failed, ok, one, to_default_route

SKYPE = ["2015", "2019", "SE"]
EVERY = ["2013", *SKYPE]
SEARCH = "https://skypegraph.skype.com/search/v1.0/"


def _service(version: str) -> LyncService:
    return LyncService(clock=FakeClock(), replication=ReplicationSettings(), version=version)


def _edge(service: LyncService) -> dict:
    return one(service.run("frontend", "Get-CsAccessEdgeConfiguration"))


@pytest.mark.parametrize("name", ["DnsSrvCacheRecordCount", "SkypeSearchUrl"])
def test_lync_2013_has_neither_skype_parameter(name: str) -> None:
    service = _service("2013")
    err = failed(
        service.run("frontend", "Set-CsAccessEdgeConfiguration", **{name: "1"}),
        "NamedParameterNotFound",
        "InvalidArgument",
    )
    assert err.message == f"A parameter cannot be found that matches parameter name '{name}'."
    assert name not in _edge(service)
    assert service.store.version == 1


@pytest.mark.parametrize("version", SKYPE)
def test_skype_versions_have_both_in_every_property_set(version: str) -> None:
    service = _service(version)
    assert (_edge(service)["DnsSrvCacheRecordCount"], _edge(service)["SkypeSearchUrl"]) == (
        None,
        None,
    )
    set_edge = "Set-CsAccessEdgeConfiguration"
    ok(service.run("frontend", set_edge, "Global", DnsSrvCacheRecordCount=50))
    ok(service.run("frontend", set_edge, UseDnsSrvRouting=None, SkypeSearchUrl=SEARCH))
    props = _edge(service)
    assert (props["DnsSrvCacheRecordCount"], props["SkypeSearchUrl"]) == (50, SEARCH)
    assert type(props["DnsSrvCacheRecordCount"]).__name__ == "UInt32"
    # The DefaultRoute set has them too, and so does that routing type's output.
    ok(to_default_route(service, DnsSrvCacheRecordCount=7))
    assert _edge(service)["DnsSrvCacheRecordCount"] == 7
    # ...but not the Instance set.
    failed(
        service.run(
            "frontend",
            "Set-CsAccessEdgeConfiguration",
            Instance={"Identity": "Global"},
            SkypeSearchUrl=SEARCH,
        ),
        "AmbiguousParameterSet",
    )


@pytest.mark.parametrize("version", SKYPE)
def test_skype_properties_go_last_and_round_trip_through_instance(version: str) -> None:
    service = _service(version)
    props = _edge(service)
    assert list(props)[-3:] == [
        "DiscoveredPartnerVerificationLevel",
        "DnsSrvCacheRecordCount",
        "SkypeSearchUrl",
    ]
    props["SkypeSearchUrl"] = SEARCH  # DnsSrvCacheRecordCount stays $null, and may
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", Instance=props))
    assert _edge(service)["SkypeSearchUrl"] == SEARCH
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", DnsSrvCacheRecordCount=None))


def test_an_instance_cannot_smuggle_a_later_versions_property_into_2013() -> None:
    service = _service("2013")
    props = {**_edge(service), "SkypeSearchUrl": SEARCH}
    ok(service.run("frontend", "Set-CsAccessEdgeConfiguration", Instance=props))
    stored = service.store.view().get("AccessEdgeConfiguration", "global")
    assert stored is not None and stored["SkypeSearchUrl"] is None


def test_get_cs_user_on_lync_server_is_2013_only() -> None:
    service = _service("2013")
    assert len(ok(service.run("frontend", "Get-CsUser", OnLyncServer=None))) == 6
    failed(service.run("frontend", "Get-CsUser", OnModernServer=None), "NamedParameterNotFound")


@pytest.mark.parametrize("version", SKYPE)
def test_get_cs_user_on_modern_server_from_2015_with_on_lync_server_as_its_alias(
    version: str,
) -> None:
    service = _service(version)
    assert len(ok(service.run("frontend", "Get-CsUser", OnModernServer=None))) == 6
    assert len(ok(service.run("frontend", "Get-CsUser", OnLyncServer=None))) == 6
    assert service.audit.entries()[-1].parameters == {"OnModernServer": True}


@pytest.mark.parametrize("version", EVERY)
def test_enable_xmpp_access_exists_on_every_version(version: str) -> None:
    service = _service(version)
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "Xmpp", EnableXmppAccess=True))
    ok(service.run("frontend", "Set-CsExternalAccessPolicy", EnableXmppAccess=True))
    assert one(service.run("frontend", "Get-CsExternalAccessPolicy", "Xmpp"))["EnableXmppAccess"]


@pytest.mark.parametrize(
    ("version", "product"),
    [("2013", "5.0.8308.0"), ("2015", "6.0.9319.0"), ("2019", "7.0.2046.0"), ("SE", "7.0.2046.0")],
)
def test_product_version_reported_per_version(version: str, product: str) -> None:
    statuses = ok(_service(version).run("frontend", "Get-CsManagementStoreReplicationStatus"))
    assert {s.properties["ProductVersion"] for s in statuses} == {product}


def test_version_names_parse_case_insensitively_and_unknown_ones_are_refused() -> None:
    assert ServerVersion.parse("se") is ServerVersion.SFB_SE
    assert _service("se").version is ServerVersion.SFB_SE
    with pytest.raises(ValueError, match="'2016' is not a server version; use one of 2013"):
        _service("2016")
