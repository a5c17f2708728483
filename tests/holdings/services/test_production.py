"""The import service: earnings and payouts posted, lots opened and moved, all or nothing."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, IntegrityError

from holdings.models import BatchStatus, Lot, LotOrigin, Payout, ProductionRecord
from holdings.selectors import lots
from holdings.services import production, setup
from holdings.valuation import cents
from ledger import selectors as ledger_selectors
from ledger.models import JournalEntry, Posting
from tests.holdings.conftest import (
    ADDRESS,
    ADDRESS_2,
    csv_file,
    f2pool_file,
    load_prices,
    price_on,
    run_import,
)

D = Decimal
JAN = [date(2026, 1, d) for d in range(1, 32)]


def at(day: int, hour: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def assert_lots_equal_ledger(*days: date) -> None:
    for day in days or (date(2026, 12, 31),):
        assert lots.lot_differences(as_of=day) == []


def written() -> tuple[int, int, int, int]:
    return (
        JournalEntry.objects.count(),
        ProductionRecord.objects.count(),
        Payout.objects.count(),
        Lot.objects.count(),
    )


@pytest.mark.django_db
def test_earnings_open_lots_at_the_days_price_and_payouts_move_them_fifo(world):
    content = f2pool_file(
        earnings=[(JAN[0], "0.5"), (JAN[1], "0.25"), (JAN[2], "0.125")],
        payouts=[(1, at(2, 3), "0.5", ADDRESS), (2, at(4, 2), "0.3", ADDRESS_2)],
    )
    batch = run_import("f2pool", content)

    assert batch.status == BatchStatus.SUCCEEDED, batch.errors
    assert (batch.records_total, batch.records_created, batch.records_skipped) == (5, 5, 0)
    values = [
        cents(D(net) * price_on(day))
        for day, net in [(JAN[0], "0.5"), (JAN[1], "0.25"), (JAN[2], "0.125")]
    ]
    records = list(ProductionRecord.objects.order_by("day"))
    assert [r.value for r in records] == values
    assert records[0].price.timestamp == datetime(2026, 1, 2, tzinfo=UTC)  # day-end policy
    assert records[0].entry.kind == "pool_earning"
    assert records[0].raw["id"] == 1_000_000 + (JAN[0] - date(2020, 1, 1)).days

    receivable = world["account"].receivable_account
    wallet = world["hot"].account
    assert ledger_selectors.account_balance(account=receivable, as_of=JAN[3]).quantity == D("0.075")
    moved_from_third = cents(values[2] * D("0.05") / D("0.125"))
    wallet_balance = ledger_selectors.account_balance(account=wallet, as_of=JAN[3])
    assert wallet_balance.quantity == D("0.8")
    assert wallet_balance.value == values[0] + values[1] + moved_from_third
    revenue = ledger_selectors.account_balance(account="4000", as_of=JAN[3])
    assert revenue.value == -sum(values)

    left = Lot.objects.get(account=receivable, quantity__gt=0)
    assert (left.quantity, left.cost) == (D("0.075"), values[2] - moved_from_third)
    in_wallet = list(Lot.objects.filter(account=wallet).order_by("acquired_at"))
    assert [lot.quantity for lot in in_wallet] == [D("0.5"), D("0.25"), D("0.05")]
    assert all(lot.origin == LotOrigin.TRANSFER and lot.parent_id for lot in in_wallet)
    assert in_wallet[0].acquired_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert in_wallet[2].parent_id == left.pk
    # A lot moved in the batch that opened it still names the day it was mined.
    assert [lot.production_record.day for lot in in_wallet] == JAN[:3]
    assert_lots_equal_ledger(*JAN[:5])


@pytest.mark.django_db
def test_reimport_and_overlapping_files_create_nothing_twice(world):
    first = run_import("f2pool", f2pool_file([(d, "0.1") for d in JAN[0:5]]))
    overlap = run_import("f2pool", f2pool_file([(d, "0.1") for d in JAN[2:8]]))
    again = run_import("f2pool", f2pool_file([(d, "0.1") for d in JAN[2:8]]))

    assert (first.records_created, first.records_skipped) == (5, 0)
    assert (overlap.records_created, overlap.records_skipped) == (3, 3)
    assert (again.status, again.records_created, again.records_skipped) == ("succeeded", 0, 6)
    assert ProductionRecord.objects.count() == 8
    assert JournalEntry.objects.filter(kind="pool_earning").count() == 8
    assert_lots_equal_ledger()


@pytest.mark.django_db
def test_a_record_seen_before_with_other_content_fails_the_batch_and_writes_nothing(world):
    run_import("f2pool", f2pool_file([(d, "0.1") for d in JAN[0:3]]))
    before = written()

    batch = run_import("f2pool", f2pool_file([(JAN[1], "0.2"), (JAN[5], "0.1")]))

    assert batch.status == BatchStatus.FAILED
    assert batch.records_created == 0
    [error] = batch.errors
    assert error["row"] == 1 and error["field"] == "day"
    assert "F2P-A 2026-01-02 was already imported" in error["message"]
    assert written() == before


@pytest.mark.django_db
def test_a_missing_price_fails_naming_the_day_and_a_retry_after_loading_it_succeeds(world):
    content = f2pool_file([(date(2026, 2, 27), "0.1"), (date(2026, 3, 3), "0.1")])
    before = written()

    batch = run_import("f2pool", content)

    assert batch.status == BatchStatus.FAILED
    assert written() == before
    [error] = batch.errors
    assert "no BTC/USD price at 2026-03-04T00:00:00Z" in error["message"]
    assert "earnings of 2026-03-03" in error["message"]

    load_prices(date(2026, 3, 1), date(2026, 3, 31))
    production.import_batch_retry(batch=batch)
    batch = production.import_batch_run(batch_id=batch.pk)
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.attempts == 2 and batch.errors == []
    assert ProductionRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_bad_row_fails_the_whole_batch_naming_file_row_and_field(world):
    content = f2pool_file([(JAN[0], "0.1"), (JAN[1], "0.123456789")])
    batch = run_import("f2pool", content, file_name="jan.json")
    assert batch.status == BatchStatus.FAILED
    [error] = batch.errors
    assert error["file"] == "jan.json" and error["row"] == 2
    assert error["field"] and "changed_balance" in error["field"]
    assert written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_payouts_to_unknown_addresses_or_beyond_what_was_earned_are_refused(world):
    unknown = "bc1qunknown0000000000000000000000000000000"
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0.1")], [(1, at(2, 3), "0.1", unknown)]))
    assert batch.status == BatchStatus.FAILED
    assert (
        f"{unknown} is not an address of any of the company's wallets" in batch.errors[0]["message"]
    )
    assert batch.errors[0]["field"] == "address"

    too_much = f2pool_file([(JAN[0], "0.1")], [(2, at(2, 3), "0.2", ADDRESS)])
    batch = run_import("f2pool", too_much)
    assert batch.status == BatchStatus.FAILED
    assert "exceeds the 0.1 BTC that F2P-A had earned" in batch.errors[0]["message"]

    # A payout cannot take a lot earned after it was paid, even when the file holds both.
    early = f2pool_file([(JAN[0], "0.1"), (JAN[1], "0.1")], [(3, at(2, 3), "0.2", ADDRESS)])
    batch = run_import("f2pool", early)
    assert batch.status == BatchStatus.FAILED
    assert written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_an_earning_worth_less_than_a_cent_is_named_by_its_row(world):
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0.1"), (JAN[1], "0.00000001")]))
    assert batch.status == BatchStatus.FAILED
    [error] = batch.errors
    # The field as F2Pool spells it.
    assert (error["row"], error["field"]) == (2, "changed_balance")
    assert "0.00000001 BTC of 2026-01-02 is worth less than a cent" in error["message"]
    assert written() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("refusal", [DataError, IntegrityError])
def test_what_postgresql_refuses_fails_the_batch_once_with_its_reason(world, monkeypatch, refusal):
    def refused(batch):
        raise refusal("value too long for type character varying(100)\nDETAIL: ...")

    monkeypatch.setattr(production, "batch_post", refused)
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0.1")]))
    # Failed, not left running for the stalled-import sweep to retry for ever.
    assert batch.status == BatchStatus.FAILED and batch.attempts == 1
    assert batch.errors == [
        {
            "file": None,
            "row": None,
            "field": None,
            "message": "not storable: value too long for type character varying(100)",
        }
    ]
    assert written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_day_that_earned_nothing_is_kept_without_an_entry_or_a_lot(world):
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0"), (JAN[1], "0.1")]))
    assert batch.status == BatchStatus.SUCCEEDED
    idle = ProductionRecord.objects.get(day=JAN[0])
    assert idle.entry is None and idle.net == 0 and not idle.lots.exists()
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_file_of_only_days_that_earned_nothing_keeps_its_records(world):
    before = JournalEntry.objects.count()
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0"), (JAN[1], "0")]))
    assert batch.status == BatchStatus.SUCCEEDED
    assert batch.records_created == 2
    assert ProductionRecord.objects.filter(batch=batch).count() == 2
    assert not ProductionRecord.objects.filter(batch=batch, entry__isnull=False).exists()
    assert JournalEntry.objects.count() == before


@pytest.mark.django_db
def test_a_csv_naming_its_pool_accounts_posts_each_to_its_own_receivable(world):
    content = csv_file(
        [
            (JAN[0], "F2P-A", "0.10256410", "0.00256410", "0.1"),
            (JAN[0], "OTH-B", "0.2", "0", "0.2"),
        ]
    )
    batch = run_import("csv", content, pool_account=None, file_name="pools.csv")
    assert batch.status == BatchStatus.SUCCEEDED, batch.errors
    record = ProductionRecord.objects.get(pool_account__code="OTH-B")
    assert record.entry.postings.get(quantity__gt=0).account.code == "1300-OTH-B"
    assert ProductionRecord.objects.get(pool_account__code="F2P-A").fee == D("0.0025641")

    unknown = csv_file([(JAN[1], "NOPE", "0.1", "0", "0.1")])
    batch = run_import("csv", unknown, pool_account=None)
    assert batch.status == BatchStatus.FAILED
    assert batch.errors[0]["message"] == "unknown pool account NOPE"

    stray = csv_file([(JAN[2], "OTH-B", "0.1", "0", "0.1")])
    batch = run_import("csv", stray, pool_account="F2P-A")
    assert batch.status == BatchStatus.FAILED
    assert "names pool account OTH-B, but the batch is for F2P-A" in batch.errors[0]["message"]


@pytest.mark.django_db
def test_kas_mined_on_f2pool_imports_into_its_own_commodity(world):
    setup.pool_account_create(code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS")
    setup.wallet_create(
        code="KAS-1",
        name="KAS wallet",
        commodity="KAS",
        addresses=["kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73"],
    )
    load_prices(date(2026, 1, 1), date(2026, 1, 3), base="KAS")
    content = f2pool_file(
        [(JAN[0], "1234.56789012")],
        [
            (
                9,
                at(2, 4),
                "1000",
                "kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73",
            )
        ],
    )
    batch = run_import("f2pool", content, pool_account="F2P-KAS")
    assert batch.status == BatchStatus.SUCCEEDED, batch.errors
    assert set(Posting.objects.exclude(commodity="USD").values_list("commodity", flat=True)) == {
        "KAS"
    }
    assert ledger_selectors.account_balance(account="1250", as_of=JAN[1]).quantity == D("1000")
    assert_lots_equal_ledger(JAN[0], JAN[1])


@pytest.mark.django_db
def test_a_batch_needs_a_known_source_a_pool_account_and_content(world):
    from holdings.errors import InvalidSetup

    with pytest.raises(InvalidSetup, match="unknown source 'binance'"):
        production.import_batch_create(
            source="binance", file_name="x", content=b"x", pool_account="F2P-A"
        )
    with pytest.raises(InvalidSetup, match="does not name its pool account"):
        production.import_batch_create(source="f2pool", file_name="x", content=b"{}")
    with pytest.raises(InvalidSetup, match="unknown pool account 'NOPE'"):
        production.import_batch_create(
            source="f2pool", file_name="x", content=b"{}", pool_account="NOPE"
        )
    with pytest.raises(InvalidSetup, match="the file is empty"):
        production.import_batch_create(
            source="f2pool", file_name="x", content=b"", pool_account="F2P-A"
        )


@pytest.mark.django_db
def test_a_succeeded_batch_run_again_does_nothing(world):
    batch = run_import("f2pool", f2pool_file([(JAN[0], "0.1")]))
    again = production.import_batch_run(batch_id=batch.pk)
    assert again.status == BatchStatus.SUCCEEDED and again.attempts == 1
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_csv_amount_too_fine_for_its_pool_account_is_named_by_the_files_own_column(world):
    content = b"date,pool_account,gross,fee,net\n2026-01-01,OTH-B,0.200000001,0.000000001,0.2\n"
    batch = run_import("csv", content, pool_account=None, file_name="e.csv")
    assert batch.status == BatchStatus.FAILED
    assert batch.errors == [
        {
            "file": "e.csv",
            "row": 2,
            "field": "gross",
            "message": "0.200000001 has more decimals than BTC allows (8)",
        }
    ]
    old = (
        b"date,pool_account,gross_btc,fee_btc,net_btc\n"
        b"2026-01-01,OTH-B,0.3,0.000000001,0.299999999\n"
    )
    batch = run_import("csv", old, pool_account=None, file_name="old.csv")
    assert batch.status == BatchStatus.FAILED
    assert batch.errors[0]["field"] == "net_btc"


# --- what a file holds that no column or entry could: refused naming its row -------------


def _written() -> tuple[int, ...]:
    return (ProductionRecord.objects.count(), JournalEntry.objects.count(), Lot.objects.count())


def _f2pool_with(field: str, value: object) -> bytes:
    """An F2Pool file of one earning (row 1) with `field` (a dotted path) set to `value`."""
    document = json.loads(f2pool_file([(JAN[4], "0.5")]))
    *outer, name = field.split(".")
    row = document["transactions"][0]
    for key in outer:
        row = row[key]
    row[name] = value
    return json.dumps(document).encode()


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        # Read by json.loads (under its 1,000 levels), deeper than any pool's record: it
        # escaped as a RecursionError and left the batch running, retried for ever.
        ("note", _nested(600), "nested deeper than 32 levels"),
        # PostgreSQL's jsonb holds no NUL: it failed the batch naming no file, row or field.
        ("note", "a\x00b", "holds a NUL character"),
        ("mining_extra.pps", "1\x00", "holds a NUL character"),
    ],
)
def test_a_row_that_cannot_be_kept_as_received_fails_naming_it(world, field, value, says):
    before = _written()
    batch = run_import("f2pool", _f2pool_with(field, value), file_name="odd.json")
    assert batch.status == BatchStatus.FAILED
    error = batch.errors[0]
    assert (error["file"], error["row"], error["field"]) == ("odd.json", 1, field), error
    assert says in error["message"]
    assert _written() == before


@pytest.mark.django_db
def test_the_command_reports_a_row_nested_too_deep(world, tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(_f2pool_with("note", _nested(600)))
    said = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 batch"):
        call_command(
            "import_production",
            *("--source", "f2pool", "--pool-account", "F2P-A", "--sync", path),
            stderr=said,
        )
    assert "deep.json, row 1, field note: is nested deeper than 32 levels" in said.getvalue()
    assert not ProductionRecord.objects.exists()


@pytest.mark.django_db
def test_a_pool_account_a_row_cannot_take_is_named_with_its_row(world):
    unknown = csv_file([(JAN[4], "OTH-B", "0.51", "0.01", "0.50"), (JAN[4], "NOPE", "1", "0", "1")])
    batch = run_import("csv", unknown, pool_account=None, file_name="earnings.csv")
    error = batch.errors[0]
    assert (error["file"], error["row"], error["field"]) == ("earnings.csv", 3, "pool_account")
    assert error["message"] == "unknown pool account NOPE"

    other = csv_file([(JAN[4], "F2P-A", "0.51", "0.01", "0.50"), (JAN[5], "OTH-B", "1", "0", "1")])
    batch = run_import("csv", other, pool_account="F2P-A", file_name="earnings.csv")
    error = batch.errors[0]
    assert (error["row"], error["field"]) == (3, "pool_account")
    assert "names pool account OTH-B, but the batch is for F2P-A" in error["message"]
    assert not ProductionRecord.objects.exists()


@pytest.mark.django_db
def test_an_earning_worth_more_than_the_ledger_holds_is_named_with_its_row(world):
    """1e19 BTC fits the quantities (20 digits before the point); at the day's price its
    value has 25, over the 22 a journal value holds: it failed naming the ledger's
    `postings[0].value` and no row."""
    batch = run_import("f2pool", f2pool_file([(JAN[4], "1e19")]), file_name="big.json")
    error = batch.errors[0]
    assert (error["file"], error["row"], error["field"]) == ("big.json", 1, "changed_balance")
    assert "more than the ledger's values hold (22 digits before the point)" in error["message"]
    assert not ProductionRecord.objects.exists()
