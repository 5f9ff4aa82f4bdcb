"""The export's rules without a server: names, literals, which properties are declared, and
that any program it renders is formatted and lint-clean whatever the identities."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lync_provider.cli.export_plan import Live, Reference, kind_prefix, plan, unique_names
from lync_provider.cli.export_render import powershell_string, program, python_string, readable
from lync_provider.lync.versions import ServerVersion
from lync_provider.resources import HostingProvider
from tests.project.stacks import PROJECT_DIR

NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
HP = kind_prefix(HostingProvider)
EDGE_2015 = {
    "Identity": "Global",
    "AllowFederatedUsers": True,
    "RoutingMethod": "UseDnsSrvRouting",
    "EnablePartnerDiscovery": False,
    "DnsSrvCacheRecordCount": 5,
    "SkypeSearchUrl": "https://search.skype.com/",
}


def provider(identity: str, **changes: Any) -> dict[str, Any]:
    record = {
        "Identity": identity,
        "Name": identity,  # read-only: not an input
        "ProxyFqdn": "sip.fabrikam.com",
        "Enabled": True,
        "AutodiscoverUrl": None,  # blank: left unmanaged
        "SipClientPort": 443,
    }
    return {**record, **changes}


def test_names_follow_the_identity_and_collisions_get_the_identity_digest() -> None:
    keys = [(HP, "Exchange Online"), (HP, "A B"), (HP, "a-b"), (HP, "日本"), (HP, "x" * 99)]
    names = unique_names(keys)
    assert names[0] == "hosting-provider-exchange-online"
    assert names[1].startswith("hosting-provider-a-b-") and names[2].startswith(
        "hosting-provider-a-b-"
    )
    assert re.fullmatch(r"hosting-provider-[0-9a-f]{8}", names[3])
    assert names[4] == "hosting-provider-" + "x" * 32
    assert len(set(names)) == len(names) and all(NAME.match(n) for n in names)
    for order in itertools.permutations(range(len(keys))):
        assert unique_names([keys[i] for i in order]) == [names[i] for i in order]


@given(st.lists(st.text(min_size=1), min_size=1, max_size=8, unique=True))
def test_names_are_valid_unique_and_stable(identities: list[str]) -> None:
    keys = [(HP, identity) for identity in identities]
    names = unique_names(keys)
    assert len(set(names)) == len(names)
    assert all(NAME.match(name) for name in names)
    assert unique_names(keys[::-1]) == names[::-1]


@given(st.text())
def test_a_python_literal_gives_back_the_text_and_holds_only_readable_characters(
    text: str,
) -> None:
    literal = python_string(text)
    assert ast.literal_eval(literal) == text
    assert all(readable(char) for char in literal)


def test_powershell_literals_are_quoted_as_the_shell_reads_them() -> None:
    assert powershell_string("Exchange Online") == '"Exchange Online"'
    assert powershell_string('say "hi" for $5') == "'say \"hi\" for $5'"
    assert powershell_string("O'Brien `n") == "'O''Brien `n'"
    assert powershell_string('a"b\n–') == '"a`"b`u{a}`u{2013}"'  # noqa: RUF001


def test_every_property_with_a_value_is_declared_with_it_and_adopt_for_owned_objects() -> None:
    live = Live(
        access_edge=[EDGE_2015],
        hosting_providers=[provider("Fabrikam")],
        policies=[
            {"Identity": "Tag:OWA", "EnableOutsideAccess": True, "Description": None},
            {"Identity": "Global", "EnableOutsideAccess": False},
        ],
    )
    exported = plan(live, ServerVersion.SFB_2015)
    edge, hosting, global_policy, tag = exported.objects
    assert dict(edge.inputs) == {
        "allow_federated_users": True,
        "routing_method": "UseDnsSrvRouting",
        "enable_partner_discovery": False,
        "dns_srv_cache_record_count": 5,
        "skype_search_url": "https://search.skype.com/",
    }
    assert dict(hosting.inputs) == {
        "identity": "Fabrikam",
        "proxy_fqdn": "sip.fabrikam.com",
        "enabled": True,
        "sip_client_port": 443,
        "adopt": True,
    }
    assert dict(global_policy.inputs) == {"identity": "Global", "enable_outside_access": False}
    assert tag.adopted and not global_policy.adopted and not edge.adopted
    assert [o.name for o in exported.objects] == [
        "access-edge-config-global",
        "hosting-provider-fabrikam",
        "external-access-policy-global",
        "external-access-policy-tag-owa",
    ]


def test_a_property_the_targeted_version_lacks_is_left_out_and_says_why() -> None:
    [edge] = plan(Live([EDGE_2015], [], []), ServerVersion.LYNC_2013).objects
    assert "dns_srv_cache_record_count" not in edge.inputs
    assert "skype_search_url" not in edge.inputs
    assert any("lync:serverVersion" in note for note in edge.notes)


def test_a_value_the_provider_refuses_is_left_out_or_skips_the_object() -> None:
    live = Live(
        [],
        [
            provider("Plain http", AutodiscoverUrl="http://autodiscover.fabrikam.com/"),
            provider("No FQDN", ProxyFqdn="not a name"),
        ],
        [],
    )
    exported = plan(live, ServerVersion.LYNC_2013)
    [kept] = exported.objects
    assert kept.identity == "Plain http" and "autodiscover_url" not in kept.inputs
    assert any("autodiscover_url is not managed" in note for note in kept.notes)
    assert any("'No FQDN'" in reason and "proxy_fqdn" in reason for reason in exported.skipped)
    assert any("Global" in reason for reason in exported.skipped)  # no access edge read


def test_default_routing_is_declared_with_its_own_properties() -> None:
    edge = {
        "Identity": "Global",
        "RoutingMethod": "UseDefaultRouting",
        "DefaultRouteFqdn": "sip.partner.example",
        "IsPublicProvider": False,
        "VerificationLevel": "AlwaysVerifiable",
    }
    [declared] = plan(Live([edge], [], []), ServerVersion.LYNC_2013).objects
    assert declared.inputs["routing_method"] == "UseDefaultRouting"
    assert declared.inputs["default_route_fqdn"] == "sip.partner.example"
    assert not declared.notes


def test_users_are_declared_per_tag_policy_that_exists() -> None:
    users = [
        {"SipAddress": "sip:bob@contoso.com", "ExternalAccessPolicy": "OWA"},
        {"SipAddress": "sip:alice@contoso.com", "ExternalAccessPolicy": "OWA"},
        {"SipAddress": "sip:carol@contoso.com", "ExternalAccessPolicy": "Gone"},
        {"SipAddress": "sip:dave@contoso.com", "ExternalAccessPolicy": None},
    ]
    live = Live([], [], [{"Identity": "Tag:OWA"}], users)
    exported = plan(live, ServerVersion.LYNC_2013)
    [_, grant] = exported.objects
    assert grant.inputs["users"] == ["sip:alice@contoso.com", "sip:bob@contoso.com"]
    assert grant.inputs["policy_name"] == Reference("policy_tag_owa", "identity", "Tag:OWA")
    assert any("'Tag:Gone'" in reason for reason in exported.skipped)


def test_any_program_is_formatted_for_any_line_length_and_lint_clean(tmp_path: Path) -> None:
    """The longest names (a shared 32-character slug, so a digest too), identities full of
    quotes, escapes and look-alike letters, and a 300-character description."""
    long = "Ü" + "x" * 40
    tricky = ['a"b', "a'b", '"\'"', "\\", "tab\there", "rtl\u202eltr", "а–×", "☃" * 50]  # noqa: RUF001
    users = [{"SipAddress": f"sip:{t}@x", "ExternalAccessPolicy": f"{long}-1"} for t in "ab"]
    live = Live(
        [{"Identity": "Global", "AllowFederatedUsers": True}],
        [provider(f"{long} {t}") for t in tricky] + [provider(long + "!"), provider(long + "?")],
        [
            {"Identity": f"Tag:{long}-1", "Description": "word " * 60},
            {"Identity": f"Tag:{long}+1", "Description": "".join(tricky)},
            {"Identity": "Site:" + "'" * 3},
        ],
        users,
    )
    text = program(plan(live, ServerVersion.LYNC_2013), ["A header paragraph " * 10])
    path = tmp_path / "__main__.py"
    path.write_text(text, encoding="utf-8")
    assert ast.parse(text)
    config = str(PROJECT_DIR / "pyproject.toml")
    for command in (
        ["check", "--config", config],
        ["format", "--check", "--config", config],
        ["format", "--check", "--isolated"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
