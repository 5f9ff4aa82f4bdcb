"""The seam conversions alone, without a wire."""

from __future__ import annotations

from datetime import UTC, datetime

from psrpcore.types import PSDict, PSInt, PSList, PSString, PSUInt, PSUInt64

from lync_emulator.invocation import ErrorInfo, LyncObject, UInt32, UInt64
from lync_emulator.values import error_record, to_plain, to_psobject


def test_to_plain_strips_psrpcore_types() -> None:
    value = PSList([PSString("a"), PSInt(1), True, None, PSDict({PSString("k"): PSInt(2)})])
    plain = to_plain(value)
    assert plain == ["a", 1, True, None, {"k": 2}]
    assert [type(v) for v in plain] == [str, int, bool, type(None), dict]
    assert type(plain) is list


def test_lync_objects_keep_unsigned_types_and_nest() -> None:
    inner = LyncObject(["Inner"], {"N": UInt32(1)}, "inner")
    obj = to_psobject(
        LyncObject(["Outer"], {"A": UInt32(4), "B": UInt64(443), "I": inner, "L": [UInt32(2)]}, "x")
    )
    values = {p.name: p.get_value(obj) for p in obj.PSObject.adapted_properties}
    assert type(values["A"]) is PSUInt and type(values["B"]) is PSUInt64
    assert values["I"].PSObject.type_names == ["Inner", "System.Object"]
    assert type(values["L"][0]) is PSUInt
    assert obj.PSObject.type_names == ["Outer", "System.Object"]
    assert obj.PSObject.to_string == "x"


def test_error_record_carries_classification() -> None:
    record = error_record(
        ErrorInfo("m", "Id,Cmd", "ResourceExists", "t", "Microsoft.Rtc.Fake.Exception"), "New-X"
    )
    assert record.FullyQualifiedErrorId == "Id,Cmd"
    assert record.CategoryInfo.Category.name == "ResourceExists"
    assert record.CategoryInfo.Reason == "Exception"
    assert record.Exception.PSObject.type_names[0] == "Microsoft.Rtc.Fake.Exception"
    unknown = error_record(ErrorInfo("m", "Id", "NoSuchCategory"), "X")
    assert unknown.CategoryInfo.Category.name == "NotSpecified"


def test_datetimes_stay_aware() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    assert to_plain(when) == when
