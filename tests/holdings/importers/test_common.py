"""Shared importer rules: exact JSON numbers, UTC times, errors naming file, row and field."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from holdings.importers.clients import Credentials, PoolApiError
from holdings.importers.common import (
    Fields,
    collapse,
    join_json_array,
    jsonable,
    load_json,
    plain,
    read_csv,
)
from holdings.importers.records import Earning, ImportFileError


def fields(data: dict, row: int = 7) -> Fields:
    return Fields(data, file_name="f.json", row=row)


def earning(row: int, net: str = "1", day: date = date(2026, 1, 1)) -> Earning:
    return Earning(
        day=day,
        net=Decimal(net),
        gross=None,
        fee=None,
        hashrate_hs=None,
        external_id=None,
        raw={"net": net},
        row=row,
    )


def test_json_doubles_go_through_their_shortest_text():
    data = load_json(
        b'{"a": 0.51714, "b": 1.2e18, "c": 0.1, "d": 12, "e": "0.50400000"}', file_name="f"
    )
    assert data["a"] == Decimal("0.51714") and str(data["a"]) == "0.51714"
    assert data["a"] != Decimal.from_float(0.51714)  # not the binary expansion of the double
    assert data["b"] == Decimal("1200000000000000000")
    assert data["c"] == Decimal("0.1")
    assert data["d"] == 12 and isinstance(data["d"], int)  # integers stay exact
    assert data["e"] == "0.50400000"  # decimal strings wait for the field reading them


def test_invalid_json_and_utf8_are_import_errors():
    with pytest.raises(ImportFileError, match=r"f\.json: not valid JSON: .* line 1 column"):
        load_json(b'{"transactions": [', file_name="f.json")
    with pytest.raises(ImportFileError, match=r"not UTF-8"):
        load_json(b'{"a": "\xff"}', file_name="f.json")


def test_a_byte_order_mark_is_not_an_error():
    assert load_json(b'\xef\xbb\xbf{"a": 1}', file_name="f") == {"a": 1}


def test_jsonable_turns_decimals_back_into_text():
    raw = jsonable(load_json(b'{"a": [0.51714, {"b": 1.2e18}], "c": 3}', file_name="f"))
    assert raw == {"a": ["0.51714", {"b": "1.2E+18"}], "c": 3}
    json.dumps(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.51714000", "0.51714000"), (0, "0"), (Decimal("2.5"), "2.5"), ("1e-8", "1E-8")],
)
def test_numbers_are_exact(value, expected):
    assert str(fields({"x": value}).number("x")) == expected


@pytest.mark.parametrize("value", ["abc", "1,5", " 1 2", True, [1], "NaN", "Infinity", "1_000"])
def test_text_that_is_not_a_number_is_refused(value):
    with pytest.raises(ImportFileError, match=r"f.json, row 7, field x: must be a number"):
        fields({"x": value}).number("x")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ImportFileError, match=r"finite"):
        fields({"x": value}).number("x")


def test_amounts_fit_the_scale_and_are_never_rounded():
    assert fields({"x": "0.12345678"}).amount("x", scale=8) == Decimal("0.12345678")
    assert fields({"x": "0.123456780"}).amount("x", scale=8) == Decimal("0.12345678")
    with pytest.raises(ImportFileError, match=r"row 7, field x: 0.123456789 has more decimal"):
        fields({"x": "0.123456789"}).amount("x", scale=8)
    assert fields({"x": "0.123456789"}).amount("x", scale=18) == Decimal("0.123456789")


def test_amount_signs():
    assert fields({"x": "0"}).amount("x", scale=8) == 0
    with pytest.raises(ImportFileError, match=r"must not be negative"):
        fields({"x": "-0.1"}).amount("x", scale=8)
    with pytest.raises(ImportFileError, match=r"greater than zero"):
        fields({"x": "0"}).amount("x", scale=8, positive=True)


def test_missing_fields_are_named_with_their_path():
    item = fields({"extra": {"a": 1}})
    with pytest.raises(ImportFileError, match=r"row 7, field extra\.b: is missing"):
        item.nested("extra").number("b")


def test_times_are_aware_utc():
    assert fields({"t": 1767225600}).unix_time("t") == datetime(2026, 1, 1, tzinfo=UTC)
    assert fields({"t": "2026-01-01T00:00:00Z"}).iso_utc("t") == datetime(2026, 1, 1, tzinfo=UTC)
    moment = fields({"t": "2026-01-01T00:00:00.000+00:00"}).iso_utc("t")
    assert moment == datetime(2026, 1, 1, tzinfo=UTC) and moment.tzinfo is UTC
    assert fields({"t": "2026-01-02 03:14:07"}).zoneless_utc("t") == datetime(
        2026, 1, 2, 3, 14, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", ["2026-01-01T00:00:00", "2026-01-01T08:00:00+08:00", "2026-01-01", "yesterday"]
)
def test_times_that_do_not_say_utc_are_refused(text):
    with pytest.raises(ImportFileError, match=r"UTC"):
        fields({"t": text}).iso_utc("t")


@pytest.mark.parametrize("value", ["1767225600", 1767225600.5, True])
def test_unix_times_must_be_whole_seconds(value):
    with pytest.raises(ImportFileError, match=r"whole Unix seconds"):
        fields({"t": value}).unix_time("t")


def test_days():
    assert fields({"d": "2026-01-01"}).day("d") == date(2026, 1, 1)
    for text in ("20260101", "2026-02-30", "01/01/2026"):
        with pytest.raises(ImportFileError, match=r"field d"):
            fields({"d": text}).day("d")


def test_txids():
    txid = "AB" * 32
    assert fields({"t": txid}).txid("t") == "ab" * 32
    assert fields({"t": "0x" + "cd" * 32}).txid("t") == "cd" * 32
    for bad in ("ab" * 31, "zz" * 32, "ab" * 33, 12):
        with pytest.raises(ImportFileError, match=r"field t"):
            fields({"t": bad}).txid("t")


def test_addresses_must_be_present():
    with pytest.raises(ImportFileError, match=r"is missing"):
        fields({"a": " "}).address("a")
    with pytest.raises(ImportFileError, match=r"not an address"):
        fields({"a": "bc1q abc"}).address("a")


def test_plain_writes_integral_values_without_exponent():
    assert str(plain(Decimal("1.2E+18"))) == "1200000000000000000"
    assert str(plain(Decimal("1.5"))) == "1.5"


def test_collapse_keeps_one_of_exact_repeats_and_refuses_conflicts():
    kept = collapse(
        [earning(1), earning(2, day=date(2026, 1, 2)), earning(3)],
        key=lambda e: e.day,
        describe=lambda e: f"day {e.day}",
        field="date",
        file_name="f",
    )
    assert [e.row for e in kept] == [1, 2]
    with pytest.raises(ImportFileError) as caught:
        collapse(
            [earning(1), earning(4, net="2")],
            key=lambda e: e.day,
            describe=lambda e: f"day {e.day}",
            field="date",
            file_name="f",
        )
    assert caught.value.row == 4 and caught.value.field == "date"
    assert "row 1" in caught.value.message


def test_join_json_array_keeps_bodies_byte_for_byte():
    joined = join_json_array([b'{"a": 0.51714}\n', b'{"b": 1.2e18}'])
    assert joined == b'[{"a": 0.51714},\n{"b": 1.2e18}]'
    assert load_json(joined, file_name="f") == [
        {"a": Decimal("0.51714")},
        {"b": Decimal("1.2E+18")},
    ]


def test_read_csv_reports_line_numbers_and_column_counts():
    content = b"a,b\n1,2\n\n3,4\n5\n"
    headers = {"k": (("a", "b"), ())}
    with pytest.raises(ImportFileError, match=r"row 5: expected 2 columns, found 1"):
        read_csv(content, file_name="f.csv", headers=headers)
    kind, rows = read_csv(b"\xef\xbb\xbfb , a\n2, 1\n\n4,3\n", file_name="f.csv", headers=headers)
    assert kind == "k"
    assert [(row.line, row.values) for row in rows] == [
        (2, {"b": "2", "a": "1"}),
        (4, {"b": "4", "a": "3"}),
    ]
    assert rows[0].raw == {"b": "2", "a": " 1"}


def test_read_csv_refuses_an_empty_file_and_unknown_headers():
    headers = {"k": (("a", "b"), ("c",))}
    with pytest.raises(ImportFileError, match=r"empty"):
        read_csv(b"", file_name="f.csv", headers=headers)
    with pytest.raises(ImportFileError, match=r"unknown header 'a,x'; expected 'a,b,c'"):
        read_csv(b"a,x\n", file_name="f.csv", headers=headers)
    with pytest.raises(ImportFileError, match=r"unknown header"):
        read_csv(b"a,a,b\n", file_name="f.csv", headers=headers)


def test_credentials_keep_secrets_out_of_repr():
    text = repr(Credentials(api_user="u", api_key="k3y", api_secret="s3cret"))
    assert "k3y" not in text and "s3cret" not in text and "u" in text


def test_pool_api_error_names_pool_path_and_status():
    error = PoolApiError("F2Pool", "/v2/assets/balance", "forbidden", status=403)
    assert str(error) == "F2Pool API /v2/assets/balance (HTTP 403): forbidden"
    assert (error.pool, error.path, error.status) == ("F2Pool", "/v2/assets/balance", 403)


def test_a_double_written_with_seventeen_digits_reads_as_its_shortest_text():
    from holdings.importers.common import decode_json

    assert decode_json('{"a": 0.51714000000000002, "b": 0.50, "c": 1.2e18}') == {
        "a": Decimal("0.51714"),
        "b": Decimal("0.5"),
        "c": Decimal("1.2E+18"),
    }
