"""External access policies, Get-CsUser and Grant-CsExternalAccessPolicy."""

from __future__ import annotations

import pytest

from tests.emulator.model_helpers import errored, failed, make_service, ok, one

POLICY_TYPE = "Microsoft.Rtc.Management.WritableConfig.Policy.ExternalAccess.ExternalAccessPolicy"
USER_TYPE = "Microsoft.Rtc.Management.ADConnect.Schema.ADUser"
GRANTED_TYPE = "Microsoft.Rtc.Management.ADConnect.Schema.OCSUserOrAppContact"


@pytest.fixture
def service():
    return make_service()


def _ids(result) -> list[str]:
    return [o.properties["Identity"] for o in ok(result)]


def test_global_policy_exists_with_defaults(service) -> None:
    (obj,) = ok(service.run("frontend", "Get-CsExternalAccessPolicy"))
    assert obj.type_names == [POLICY_TYPE]
    assert obj.properties == {
        "Identity": "Global",
        "Description": None,
        "EnableFederationAccess": False,
        "EnableXmppAccess": False,
        "EnablePublicCloudAccess": False,
        "EnablePublicCloudAudioVideoAccess": False,
        "EnableOutsideAccess": False,
    }


def test_scopes_are_canonicalised_and_matched_case_insensitively(service) -> None:
    created = one(
        service.run(
            "frontend", "New-CsExternalAccessPolicy", "SalesPolicy", EnableOutsideAccess=True
        )
    )
    assert created["Identity"] == "Tag:SalesPolicy"
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "site:Redmond"))
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "TAG:Other"))
    assert one(service.run("frontend", "Get-CsExternalAccessPolicy", "tag:salespolicy"))[
        "EnableOutsideAccess"
    ]
    assert one(service.run("frontend", "Get-CsExternalAccessPolicy", "salespolicy"))[
        "Identity"
    ] == ("Tag:SalesPolicy")
    assert _ids(service.run("frontend", "Get-CsExternalAccessPolicy", Filter="tag:*")) == [
        "Tag:SalesPolicy",
        "Tag:Other",
    ]
    assert _ids(service.run("frontend", "Get-CsExternalAccessPolicy", Filter="site:*")) == [
        "Site:Redmond"
    ]
    failed(
        service.run("frontend", "New-CsExternalAccessPolicy", "service:Registrar:pool"),
        "InvalidIdentity",
    )


def test_new_global_and_duplicates_fail(service) -> None:
    failed(
        service.run("frontend", "New-CsExternalAccessPolicy", "global"),
        "DuplicateIdentity",
        "ResourceExists",
    )
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "tag:A"))
    failed(
        service.run("frontend", "New-CsExternalAccessPolicy", "a"),
        "DuplicateIdentity",
        "ResourceExists",
    )


def test_set_without_identity_edits_global(service) -> None:
    ok(
        service.run(
            "frontend", "Set-CsExternalAccessPolicy", EnableFederationAccess=True, Description="d"
        )
    )
    props = one(service.run("frontend", "Get-CsExternalAccessPolicy", "Global"))
    assert props["EnableFederationAccess"] is True
    assert props["Description"] == "d"


def test_set_missing_policy_is_not_found(service) -> None:
    failed(
        service.run("frontend", "Set-CsExternalAccessPolicy", "tag:nope", EnableOutsideAccess=True),
        "ItemNotFound",
        "ObjectNotFound",
    )


def test_remove_global_resets_with_warning(service) -> None:
    ok(service.run("frontend", "Set-CsExternalAccessPolicy", "global", EnableOutsideAccess=True))
    result = service.run("frontend", "Remove-CsExternalAccessPolicy", "Global")
    assert ok(result) == []
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith(
        'Global configuration for "ExternalAccessPolicy" cannot be removed.'
    )
    assert (
        one(service.run("frontend", "Get-CsExternalAccessPolicy", "Global"))["EnableOutsideAccess"]
        is False
    )
    assert service.audit.entries("remove-csexternalaccesspolicy")[0].wrote is True


def test_remove_site_policy_deletes_it(service) -> None:
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "site:Redmond"))
    ok(service.run("frontend", "Remove-CsExternalAccessPolicy", "SITE:redmond"))
    errored(service.run("frontend", "Get-CsExternalAccessPolicy", "site:Redmond"), "ItemNotFound")


def test_users_are_seeded(service) -> None:
    users = ok(service.run("frontend", "Get-CsUser"))
    assert len(users) == 6
    assert users[0].type_names == [USER_TYPE]
    alice = users[0].properties
    assert alice["SipAddress"] == "sip:alice@contoso.com"
    assert alice["Identity"] == "CN=Alice Adams,OU=Users,DC=contoso,DC=local"
    assert alice["ExternalAccessPolicy"] is None


@pytest.mark.parametrize(
    "identity",
    [
        "sip:alice@contoso.com",
        "alice@contoso.com",
        "ALICE@contoso.local",
        "contoso\\alice",
        "Alice Adams",
        "CN=Alice Adams,OU=Users,DC=contoso,DC=local",
    ],
)
def test_grant_accepts_every_user_identity_form(service, identity: str) -> None:
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "tag:Sales"))
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", identity, "Sales"))
    assert one(service.run("frontend", "Get-CsUser", "sip:alice@contoso.com"))[
        "ExternalAccessPolicy"
    ] == ("Sales")
    assert (
        one(service.run("frontend", "Get-CsUser", "sip:bob@contoso.com"))["ExternalAccessPolicy"]
        is None
    )


def test_grant_with_tag_prefix_pass_thru_and_unassign(service) -> None:
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    (obj,) = ok(
        service.run(
            "frontend",
            "Grant-CsExternalAccessPolicy",
            Identity="bob@contoso.com",
            PolicyName="TAG:sales",
            PassThru=None,
        )
    )
    assert obj.type_names == [GRANTED_TYPE]
    assert obj.properties["ExternalAccessPolicy"] == "Sales"
    ok(
        service.run(
            "frontend", "Grant-CsExternalAccessPolicy", Identity="bob@contoso.com", PolicyName=None
        )
    )
    assert (
        one(service.run("frontend", "Get-CsUser", "bob@contoso.com"))["ExternalAccessPolicy"]
        is None
    )


def test_grant_failures(service) -> None:
    failed(
        service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "global"),
        "PolicyNotUserPolicy",
        "InvalidArgument",
    )
    failed(
        service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "Nope"),
        "ItemNotFound",
        "ObjectNotFound",
    )
    failed(
        service.run(
            "frontend", "Grant-CsExternalAccessPolicy", "nobody@contoso.com", PolicyName=None
        ),
        "ManagementObjectNotFound",
        "ObjectNotFound",
    )
    assert service.audit.writes() == []


def test_grant_wildcard_and_filter_on_policy(service) -> None:
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "sip:*a*@contoso.com", "Sales"))
    granted = ok(service.run("frontend", "Get-CsUser", Filter="{ExternalAccessPolicy -eq 'Sales'}"))
    assert [u.properties["SamAccountName"] for u in granted] == ["alice", "carol", "dave", "frank"]
    # The filter sees what Get-CsUser shows, the bare name, not the stored identity.
    assert (
        ok(service.run("frontend", "Get-CsUser", Filter="{ExternalAccessPolicy -eq 'Tag:Sales'}"))
        == []
    )
    unassigned = ok(
        service.run("frontend", "Get-CsUser", Filter="{ExternalAccessPolicy -eq $Null}")
    )
    assert [u.properties["SamAccountName"] for u in unassigned] == ["bob", "erin"]
    failed(service.run("frontend", "Get-CsUser", Filter="{Foo -gt 3}"), "InvalidFilter")


def test_get_user_not_found_is_non_terminating(service) -> None:
    errored(
        service.run("frontend", "Get-CsUser", "ghost@contoso.com"),
        "ManagementObjectNotFound",
        "ObjectNotFound",
    )


def test_remove_policy_in_use_fails_unless_forced(service) -> None:
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "Sales"))
    err = failed(
        service.run("frontend", "Remove-CsExternalAccessPolicy", "Sales"),
        "PolicyInUse",
        "InvalidOperation",
    )
    assert 'The policy "Tag:Sales" is currently assigned to one or more users.' in err.message
    assert _ids(service.run("frontend", "Get-CsExternalAccessPolicy", "tag:Sales")) == ["Tag:Sales"]
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", None))
    ok(service.run("frontend", "Remove-CsExternalAccessPolicy", "Sales"))
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "Sales"))
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice@contoso.com", "Sales"))
    ok(service.run("frontend", "Remove-CsExternalAccessPolicy", "Sales", Force=None))
    errored(service.run("frontend", "Get-CsExternalAccessPolicy", "Sales"), "ItemNotFound")


def test_disable_user_removes_it_from_lync(service) -> None:
    ok(service.run("frontend", "Disable-CsUser", "sip:erin@contoso.com"))
    errored(service.run("frontend", "Get-CsUser", "erin@contoso.com"), "ManagementObjectNotFound")
    failed(
        service.run("frontend", "Disable-CsUser", "erin@contoso.com"), "ManagementObjectNotFound"
    )
    assert service.audit.entries("Disable-CsUser")[0].wrote is True
