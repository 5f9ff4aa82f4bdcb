"""The user index (lync_emulator.cmdlets.user_lookup) must return exactly what a scan returns.

The scan used as the reference here is the original definition of ``match_users``: every user
whose name forms match under ``re.match(fnmatch.translate(identity), form, re.IGNORECASE)``,
in store order. It is written out again here so that these tests do not depend on the cached
``wildcard_match`` they are checking.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lync_emulator.cmdlets import users
from lync_emulator.cmdlets.user_lookup import WILDCARDS, NameLookup, fold, is_literal
from lync_emulator.service import LyncService
from lync_emulator.store import Doc
from tests.emulator.model_helpers import errored, make_service, ok, one

Docs = dict[str, Doc]


def _like(pattern: str, text: str) -> bool:
    return re.match(fnmatch.translate(pattern), text, re.IGNORECASE) is not None


def scan(docs: Mapping[str, Doc], identity: str) -> list[Doc]:
    """The reference answer: the original full scan."""
    return [u for u in docs.values() if any(_like(identity, n) for n in users._names(u))]


def assert_same(found: list[Doc], expected: list[Doc]) -> None:
    """The same document objects, in the same order."""
    assert [id(d) for d in found] == [id(d) for d in expected], (found, expected)


def directory(*people: tuple[str, str]) -> Docs:
    """A user collection keyed as the service keys it (SIP address, case-folded)."""
    docs: Docs = {}
    for logon, display_name in people:
        user = users._user(logon, display_name)
        docs.setdefault(str(user["SipAddress"]).casefold(), user)
    return docs


def variants(name: str) -> list[str]:
    """A name as typed in other cases, and with the non-ASCII letters re.IGNORECASE matches
    with ASCII ones."""
    return [
        name,
        name.upper(),
        name.lower(),
        name.swapcase(),
        name.casefold(),
        name.replace("i", "\u0131").replace("k", "\u212a").replace("s", "\u017f"),
        name.replace("I", "\u0130").replace("K", "\u212a"),
    ]


# -- the one fact the index relies on -------------------------------------------------------


def test_every_character_matching_an_ascii_character_folds_to_it() -> None:
    """The index misses nothing when an ASCII literal identity matches a name only if the
    name folds to the identity's key. Here every Unicode code point is checked against every
    ASCII character under re.IGNORECASE, the way wildcard_match compiles a literal: fnmatch
    escapes each character on its own."""
    every_code_point = "".join(map(chr, range(sys.maxunicode + 1)))
    for char in map(chr, range(128)):
        if char in WILDCARDS:
            continue
        assert fnmatch.translate(char) == f"(?s:{re.escape(char)})\\Z"
        assert fold(char) == char.lower()
        for hit in re.compile(re.escape(char), re.IGNORECASE).findall(every_code_point):
            assert fold(hit) == fold(char), (char, hex(ord(hit)))


def test_literal_identities() -> None:
    assert is_literal("sip:alice@contoso.com")
    assert is_literal("CONTOSO\\alice")
    assert is_literal("alice]")
    for wildcard in ("al*", "al?ce", "[ab]lice", "al[ice", "*"):
        assert not is_literal(wildcard)
    assert not is_literal("Zoë")  # non-ASCII: the scan handles it


# -- the fast path against the scan, case by case ------------------------------------------

TRICKY = directory(
    *users._SEED,
    ("alice2", "Alice Adams"),  # a second Alice Adams: her display name names both
    ("alice3", "ALICE ADAMS"),  # ...and a third, in other case
    ("x1", "bob@contoso.com"),  # display name = another user's SIP address without sip:
    ("x2", "CONTOSO\\carol"),  # display name = another user's DOMAIN\logon
    ("x3", "dave@contoso.local"),  # display name = another user's UPN
    ("kelvin", "\u212aelvin Kraft"),  # Kelvin sign: "kelvin kraft" matches it
    ("ilse", "\u0130lse \u0131nce"),  # dotted capital I and dotless i
    ("zoe", "Zoë Straße"),  # outside ASCII: found through the scan
    ("brackets", "Team [Ops] Lead"),  # wildcard characters inside a name
    ("star", "a*b?c"),
    ("empty", ""),
)


def _identities(docs: Docs) -> list[str]:
    forms = [form for user in docs.values() for form in users._names(user)]
    typed = [v for form in forms for v in variants(form)]
    missing = ["", "nobody", "sip:nobody@contoso.com", "CONTOSO\\nobody", "alice", "Alice"]
    wild = ["*", "sip:*", "*adams", "?ob*", "[ab]*", "alice*", "*@contoso.com", "Team [Ops]*"]
    odd = ["a*b?c", "team [ops] lead", "Team [[]Ops] Lead", "kelvin kraft", "ilse ince", "zoë*"]
    return list(dict.fromkeys([*typed, *missing, *wild, *odd]))


@pytest.mark.parametrize("identity", _identities(TRICKY))
def test_fast_path_returns_what_the_scan_returns(identity: str) -> None:
    assert_same(NameLookup(users._names).find(TRICKY, identity), scan(TRICKY, identity))


def test_the_table_covers_the_interesting_answers() -> None:
    """The table test above is only worth something if its cases reach every kind of answer."""
    lookup = NameLookup(users._names)

    def logons(identity: str) -> list[str]:
        return [str(u["SamAccountName"]) for u in lookup.find(TRICKY, identity)]

    assert logons("alice adams") == ["alice", "alice2", "alice3"]
    assert logons("BOB@contoso.com") == ["bob", "x1"]
    assert logons("contoso\\CAROL") == ["carol", "x2"]
    assert logons("Dave@Contoso.Local") == ["dave", "x3"]
    assert logons("kelvin kraft") == ["kelvin"]
    assert logons("ILSE INCE") == ["ilse"]
    assert logons("zoë STRASSE") == []  # re.IGNORECASE does not expand ß
    assert logons("ZOË STRAßE") == ["zoe"]
    assert logons("team [ops] lead") == []  # [ops] is a character set
    assert logons("a*b?c") == ["star"]
    assert logons("") == ["empty"]


# -- the property: any directory, any identity, any sequence of changes ---------------------

ALPHABET = "aAbBiIkKsS.@ \\\u0130\u0131\u017f\u212aßé*?[]"
_text = st.text(ALPHABET, max_size=4)
_logon = st.text(ALPHABET, min_size=1, max_size=3)
_display = st.one_of(
    _text,
    _logon.map(lambda logon: f"CONTOSO\\{logon}"),
    _logon.map(lambda logon: f"{logon}@contoso.com"),
)


def _identity(docs: Docs) -> st.SearchStrategy[str]:
    forms = [form for user in docs.values() for form in users._names(user)]
    if not forms:
        return _text
    return st.one_of(_text, st.sampled_from(forms).flatmap(lambda f: st.sampled_from(variants(f))))


def _change(data: st.DataObject, docs: Docs) -> None:
    """One directory change, made the way cmdlets or hooks make it: grant (replace with
    the same names), rename (replace with other names), remove, or add."""
    kind = data.draw(st.sampled_from(["grant", "rename", "remove", "add"]))
    if kind == "add" or not docs:
        user = users._user(data.draw(_logon), data.draw(_display))
        docs.setdefault(str(user["SipAddress"]).casefold(), user)
        return
    key = data.draw(st.sampled_from(list(docs)))
    if kind == "grant":
        docs[key] = {**docs[key], "ExternalAccessPolicy": data.draw(st.sampled_from(["A", None]))}
    elif kind == "rename":
        docs[key] = {**docs[key], "DisplayName": data.draw(_display)}
    else:
        del docs[key]


# Derandomized, like the check properties: every run tries the same examples, so CI cannot
# pass or fail by the luck of the draw or by what a local example database remembers.
@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(people=st.lists(st.tuples(_logon, _display), max_size=8), data=st.data())
def test_property_lookup_equals_scan_through_changes(
    people: list[tuple[str, str]], data: st.DataObject
) -> None:
    docs = directory(*people)
    lookup = NameLookup(users._names)
    for _ in range(6):
        for _ in range(3):
            identity = data.draw(_identity(docs))
            assert_same(lookup.find(docs, identity), scan(docs, identity))
        _change(data, docs)


# -- through the service: every way the directory changes ----------------------------------


def _logons(service: LyncService, identity: str) -> list[str]:
    result = service.run("frontend", "Get-CsUser", identity, ErrorAction="SilentlyContinue")
    return [o.properties["SamAccountName"] for o in ok(result)]


def test_lookups_follow_grants_disables_and_hooks() -> None:
    service = make_service()
    assert _logons(service, "alice adams") == ["alice"]
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "OWA"))

    # Grant replaces the document: the lookup must return the new one.
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "ALICE ADAMS", "OWA"))
    assert one(service.run("frontend", "Get-CsUser", "alice@contoso.local"))[
        "ExternalAccessPolicy"
    ] == ("OWA")
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "alice adams", "OWA", WhatIf=None))

    # Disable removes one user; the users after it move up and must still be found.
    ok(service.run("frontend", "Disable-CsUser", "CONTOSO\\bob"))
    errored(service.run("frontend", "Get-CsUser", "bob@contoso.local"), "ManagementObjectNotFound")
    assert [_logons(service, f"sip:{n}@contoso.com") for n in ("carol", "frank")] == [
        ["carol"],
        ["frank"],
    ]

    # A hook writing the dict directly (as tests.resources.conftest's seed_users does) adds users...
    hooked = service.directory.setdefault(users.COLLECTION, {})
    for logon in ("zed", "zed2"):
        user = users._user(logon, "Alice Adams")
        hooked.setdefault(str(user["SipAddress"]).casefold(), user)
    assert _logons(service, "Alice Adams") == ["alice", "zed", "zed2"]
    # ...renames one in place...
    hooked["sip:zed@contoso.com"] = {**hooked["sip:zed@contoso.com"], "DisplayName": "Zed"}
    assert _logons(service, "alice adams") == ["alice", "zed2"]
    assert _logons(service, "zed") == ["zed"]
    # ...or replaces the whole collection.
    service.directory[users.COLLECTION] = directory(("yan", "Alice Adams"))
    assert _logons(service, "alice adams") == ["yan"]
    assert _logons(service, "sip:alice@contoso.com") == []


def test_lookups_follow_a_restart(tmp_path) -> None:
    service = LyncService(state_path=tmp_path / "state.json")
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "OWA"))
    ok(service.run("frontend", "Grant-CsExternalAccessPolicy", "carol clark", "OWA"))
    ok(service.run("frontend", "Disable-CsUser", "dave@contoso.com"))
    assert _logons(service, "Dave Davis") == []  # the old service's index is built

    restarted = service.restarted()
    assert restarted.directory is not service.directory
    assert one(restarted.run("frontend", "Get-CsUser", "CAROL CLARK"))["ExternalAccessPolicy"] == (
        "OWA"
    )
    assert _logons(restarted, "dave davis") == []
    assert _logons(restarted, "erin evans") == ["erin"]
    # The old service still answers from its own directory.
    assert _logons(service, "erin evans") == ["erin"]


# -- complexity, counted rather than timed -------------------------------------------------

BENCH_USERS = 5_000


def _big_service() -> LyncService:
    service = make_service()
    docs = service.directory[users.COLLECTION]
    for index in range(BENCH_USERS):
        user = users._user(f"bench{index:05d}", f"Bench User {index % 2500:05d}")
        docs.setdefault(str(user["SipAddress"]).casefold(), user)
    return service


def _cost(service: LyncService, command: str, *args: Any) -> tuple[int, int]:
    """How many users one call tested against the identity, and how many it (re)indexed."""
    stats = users.LOOKUP.stats
    before = stats.examined, stats.indexed
    service.run("frontend", command, *args, ErrorAction="SilentlyContinue")
    return stats.examined - before[0], stats.indexed - before[1]


def test_exact_lookups_examine_only_the_matching_users() -> None:
    service = _big_service()
    everyone = BENCH_USERS + len(users._SEED)
    ok(service.run("frontend", "New-CsExternalAccessPolicy", "OWA"))

    # The first lookup indexes the directory once; later ones index nothing.
    assert _cost(service, "Get-CsUser", "sip:bench04321@contoso.com") == (1, everyone)
    assert _cost(service, "Get-CsUser", "SIP:BENCH04321@CONTOSO.COM") == (1, 0)
    assert _cost(service, "Get-CsUser", "bench user 01234") == (2, 0)  # two share it
    assert _cost(service, "Get-CsUser", "sip:nobody@contoso.com") == (0, 0)
    # A grant replaces one user: the next lookup re-indexes that one only.
    assert _cost(service, "Grant-CsExternalAccessPolicy", "CONTOSO\\bench00007", "OWA") == (1, 0)
    assert _cost(service, "Get-CsUser", "bench00007@contoso.local") == (1, 1)
    # A removal moves positions: the index is rebuilt, reusing the forms it has.
    assert _cost(service, "Disable-CsUser", "sip:bench00008@contoso.com") == (1, 0)
    assert _cost(service, "Get-CsUser", "sip:bench00009@contoso.com") == (1, 0)
    # Only wildcards test everyone.
    assert _cost(service, "Get-CsUser", "sip:bench0000*") == (everyone - 1, 0)
