"""Endpoint validation, cmdlet-call values and identity canonicalization (no server needed)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from lync_provider.lync.identities import (
    IdentityError,
    canonical_policy_identity,
    same_identity,
    tag_name,
)
from lync_provider.remoting import SWITCH, CmdletCall, Secret
from lync_provider.settings.endpoint import EndpointSettings

PASSWORD = "S3cr3t$(Get-Date)`'\""


def test_url_parts_are_derived() -> None:
    s = EndpointSettings(
        url="https://pool01.contoso.com/OcsPowershell", username="lab\\a", password=PASSWORD
    )
    assert (s.scheme, s.hostname, s.effective_port, s.effective_path) == (
        "https",
        "pool01.contoso.com",
        443,
        "OcsPowershell",
    )
    assert s.display_url == "https://pool01.contoso.com:443/OcsPowershell"


def test_host_form_defaults_to_winrm_ports() -> None:
    s = EndpointSettings(host="edge01", username="u", password="p")
    assert (s.effective_port, s.effective_path) == (5986, "wsman")
    plain = EndpointSettings(host="edge01", use_tls=False, auth="ntlm", username="u", password="p")
    assert plain.effective_port == 5985


def test_password_never_in_repr_or_dump() -> None:
    s = EndpointSettings(url="https://pool/OcsPowershell", username="u", password=PASSWORD)
    assert PASSWORD not in repr(s)
    assert PASSWORD not in str(s)
    assert PASSWORD not in s.model_dump_json()


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"url": "http://pool/OcsPowershell", "auth": "basic"}, "clear text"),
        ({"url": "ftp://pool/x"}, "not an http(s) URL"),
        ({"url": "https://pool:99999/x"}, "invalid port"),
        ({"url": "https://pool/x", "host": "pool"}, "either 'url' or 'host'"),
        ({"url": "https://pool/x", "password": None}, "needs a username and a password"),
        ({"url": "https://pool/x", "auth": "certificate"}, "Input should be"),
        ({"url": "https://pool/x", "verify_certificate": False, "ca_bundle": "/x.pem"}, "choose"),
        ({"url": "https://pool/x", "colour": "blue"}, "Extra inputs"),
        ({"url": "https://lab%5Cadmin:p@pool/x"}, "must not carry a user name or password"),
        ({"url": "p@pool/x"}, "must not carry a user name or password"),
        ({"url": "https://pool/x", "auth": "basic", "password": "Sommer€p"}, "Latin-1"),
    ],
)
def test_insecure_or_broken_settings_are_refused(kwargs: dict[str, object], reason: str) -> None:
    base: dict[str, object] = {"username": "lab\\admin", "password": "p"}
    with pytest.raises(ValidationError, match=re.escape(reason)) as caught:
        EndpointSettings.model_validate(base | kwargs)
    assert "'p'" not in str(caught.value) and "p@" not in str(caught.value)
    assert "€" not in str(caught.value)


def test_basic_takes_a_latin_1_password_and_ntlm_any() -> None:
    """requests sends Basic credentials as Latin-1: 'ä' goes, '€' does not, except by NTLM."""
    url = "https://pool/OcsPowershell"
    assert EndpointSettings(url=url, auth="basic", username="u", password="Kühl-ä").auth == "basic"
    assert EndpointSettings(url=url, auth="ntlm", username="u", password="Sommer€").auth == "ntlm"


def test_validation_errors_do_not_echo_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        EndpointSettings(url="http://pool/x", auth="basic", username="u", password=PASSWORD)
    assert PASSWORD not in str(caught.value)


def test_basic_over_http_only_when_encryption_never_is_chosen() -> None:
    s = EndpointSettings(
        url="http://127.0.0.1:1/OcsPowershell",
        auth="basic",
        encryption="never",
        username="u",
        password="p",
    )
    assert s.scheme == "http"


def test_call_renders_redacted_and_quoted() -> None:
    call = CmdletCall(
        "Set-CsHostingProvider",
        {
            "Identity": "O'Brien",
            "Enabled": True,
            "SipClientPort": 443,
            "LocalStore": SWITCH,
            "PolicyName": None,
            "Token": Secret(PASSWORD),
            "Names": ["a", "b"],
        },
    )
    text = call.render()
    assert "-Identity 'O''Brien'" in text
    assert "-Enabled $true" in text
    assert "-LocalStore" in text and "-PolicyName $null" in text
    assert PASSWORD not in text and PASSWORD not in repr(call)
    assert call.wire_value("Token") == PASSWORD
    assert call.wire_value("Names") == ["a", "b"]


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        ({"Port": 2**31}, ValueError),
        ({"Port": -(2**31) - 1}, ValueError),
        ({"Ratio": 1.5}, TypeError),
        ({"Names": ["a", 1]}, TypeError),
        ({"Bad Name": 1}, ValueError),
    ],
)
def test_values_without_a_clean_powershell_type_are_refused(
    parameters: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        CmdletCall("Set-CsX", parameters)  # type: ignore[arg-type]


def test_cmdlet_name_cannot_smuggle_script() -> None:
    with pytest.raises(ValueError, match="not a cmdlet name"):
        CmdletCall("Get-CsUser; Remove-CsUser")


def test_only_get_cmdlets_count_as_reads() -> None:
    assert CmdletCall("Get-CsHostingProvider").is_read
    assert not CmdletCall("Grant-CsExternalAccessPolicy").is_read


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("global", "Global"),
        ("GLOBAL", "Global"),
        ("site:Redmond", "Site:Redmond"),
        ("SITE:Redmond", "Site:Redmond"),
        ("tag:OWA", "Tag:OWA"),
        ("OWA", "Tag:OWA"),
    ],
)
def test_policy_identities_are_canonical(given: str, canonical: str) -> None:
    assert canonical_policy_identity(given) == canonical


def test_unknown_scope_prefix_is_refused() -> None:
    with pytest.raises(IdentityError, match="site:<site name>"):
        canonical_policy_identity("service:Registrar")


def test_tag_name_and_case_insensitive_comparison() -> None:
    assert tag_name("tag:OWA") == "OWA"
    with pytest.raises(IdentityError):
        tag_name("Global")
    assert same_identity("Exchange Online", "exchange online")
    assert not same_identity("Exchange Online", None)
