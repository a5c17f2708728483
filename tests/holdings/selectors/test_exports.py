"""The beancount export: beancount's own loader accepts it, and its balances are the trial
balance's in units and in USD, whatever the books went through."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from beancount import loader
from beancount.core.data import Open, Price, Transaction
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from holdings.importers.records import PriceQuote
from holdings.models import Lot
from holdings.selectors import exports, side_by_side
from holdings.selectors.exports import (
    ExportError,
    account_component,
    beancount_account_names,
    beancount_export,
)
from holdings.services import fair_value, loans, setup, treasury
from holdings.services import prices as prices_services
from ledger import services as ledger_services
from ledger.models import Account, AccountType, JournalEntry
from ledger.posting import PostingInput
from tests.earlier_ledgers import posted_past_the_lots
from tests.holdings.beancount_checks import (
    assert_ties_to_the_trial_balance,
    export_text,
    load_checked,
)
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import
from tests.holdings.services.test_treasury import OPENING
from tests.ledger.conftest import cancel_entry

D = Decimal
API = "/api/v1/exports/beancount/"
END = date(2026, 2, 28)
ROLES = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}


def keep_the_books(*, maker: Any, approver: Any) -> None:
    """A quarter of a small miner: opening lots, pool earnings paid out in part of a lot, a
    payout cancelled (its reversal and its lots undone together, asked for by `maker` and
    approved by `approver`), a month-end remeasurement, a sale for USDT, a transfer with a
    fee to a wallet whose code beancount cannot spell, a loan (collateral pledged with
    control retained and transferred, interest, a repayment in USDT), and what no lot
    explains: a manual entry on a wallet and a value posted without units."""
    setup.opening_lots_load(
        as_of=date(2025, 12, 30),
        rows=[
            *OPENING,
            # A cost that units do not divide: the ledger splits it to the cent.
            {
                "wallet": "HOT-1",
                "acquired_at": "2025-09-01T08:00:00Z",
                "quantity": "0.3",
                "cost_usd": "31000.01",
            },
        ],
    )
    prices_services.prices_import(
        quotes=[
            PriceQuote(
                datetime(2026, 2, day, tzinfo=UTC) + timedelta(days=1),
                "USDT",
                "USD",
                D("0.9998"),
                "test-close",
                day,
            )
            for day in range(1, 29)
        ]
    )
    usdt = setup.wallet_create(
        code="USDT-1", name="USDT wallet", commodity="USDT", parent_account="1110"
    )
    odd = setup.wallet_create(code="hot_2.b", name="Hot wallet 2", parent_account="1220")
    january = [date(2026, 1, day) for day in range(1, 8)]
    run_import(
        "f2pool",
        f2pool_file(
            [(day, "0.01234567") for day in january],
            # Days 1 and 2 in full, part of day 3; paid again on the 6th.
            [
                (1, datetime(2026, 1, 4, 12, tzinfo=UTC), "0.03", ADDRESS),
                (2, datetime(2026, 1, 6, 12, tzinfo=UTC), "0.02", ADDRESS),
            ],
        ),
    )
    # The first payout is cancelled before anything took from its lot (a later event that
    # did would stop it): the reversal and the lot's undoing are dated the 5th.
    cancel_entry(first_payout(), maker=maker, approver=approver, effective_date=date(2026, 1, 5))
    fair_value.remeasure(commodity="BTC", as_of=date(2026, 1, 31))
    treasury.sale_record(
        reference="T-1",
        wallet="HOT-1",
        units=D("0.2"),
        sold_at=datetime(2026, 2, 2, 10, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=D("24000"),
        fee=D("24"),
        proceeds_value=D("24000.00"),
        proceeds_wallet=usdt,
    )
    treasury.transfer_record(
        txid="a" * 64,
        from_wallet="HOT-1",
        to_wallet=odd,
        units=D("0.1"),
        fee_units=D("0.00001"),
        sent_at=datetime(2026, 2, 3, 9, tzinfo=UTC),
    )

    loan = loans.loan_create(
        code="L-1",
        lender="Lender Ltd",
        principal_commodity="USDT",
        annual_rate=D("0.08"),
        day_count="ACT/365",
        start_date=date(2026, 2, 4),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    loans.loan_pledge(loan=loan, units=D("1.5"), from_wallet="COLD-1", on=date(2026, 2, 4))
    loans.loan_pledge(
        loan=loan, units=D("0.5"), from_wallet="COLD-1", on=date(2026, 2, 4), control="transferred"
    )
    loans.loan_draw(loan=loan, amount=D("100000"), on=date(2026, 2, 4), to_wallet=usdt)
    loans.loan_accrue_through(loan=loan, through=date(2026, 2, 10))
    loans.loan_release(loan=loan, units=D("0.7"), to_wallet="COLD-1", on=date(2026, 2, 11))
    loans.loan_repay(loan=loan, amount=D("50000"), on=date(2026, 2, 11), from_wallet=usdt)
    fair_value.remeasure(commodity="BTC", as_of=date(2026, 2, 12))

    # What no lot explains: the export books these accounts without matching lots.
    posted_past_the_lots(
        effective_date=date(2026, 2, 13),
        memo='Manual: "found" 0.001 BTC\nin HOT-1',
        postings=[
            PostingInput("1220-HOT-1", D("0.001"), D("95.50")),
            PostingInput("4100", D("-95.50"), D("-95.50")),
        ],
    )
    posted_past_the_lots(
        effective_date=date(2026, 2, 15),
        memo="A value without units",
        postings=[
            PostingInput("1110-USDT-1", D("0"), D("0.05")),
            PostingInput("4100", D("-0.05"), D("-0.05")),
        ],
    )


def first_payout() -> JournalEntry:
    return JournalEntry.objects.filter(kind="pool_payout").earliest("sequence")


@pytest.fixture
def books(world, staff_user, approver_user) -> None:
    keep_the_books(maker=staff_user, approver=approver_user)


@pytest.mark.django_db
def test_the_export_is_accepted_by_beancount_and_ties_to_the_trial_balance(books):
    # Before anything was posted, at each step of the quarter (the payout standing, then
    # cancelled), and at its end.
    steps = (date(2025, 12, 1), date(2026, 1, 4), date(2026, 1, 5), date(2026, 2, 11), END)
    for as_of in steps:
        entries = load_checked(export_text(as_of))
        assert assert_ties_to_the_trial_balance(entries, as_of) == Account.objects.count()

    entries = load_checked(export_text(END))
    transactions = [e for e in entries if isinstance(e, Transaction)]
    assert len(transactions) == JournalEntry.objects.count()
    # In the journal's order: by date, then sequence.
    assert [t.meta["sequence"] for t in transactions] == list(
        JournalEntry.objects.order_by("effective_date", "sequence").values_list(
            "sequence", flat=True
        )
    )
    manual = next(t for t in transactions if t.meta["kind"] == "general")
    assert manual.narration == 'Manual: "found" 0.001 BTC\nin HOT-1'
    (reversal,) = [t for t in transactions if t.meta["kind"] == "reversal"]
    payout = first_payout()
    assert reversal.meta["reversal-of"] == payout.sequence
    assert reversal.date == date(2026, 1, 5)
    # The cancellation took back, lot by lot, what the payout put in the hot wallet: the
    # lots it opened are empty, and beancount relieved each at the cost it opened at.
    opened = Lot.objects.filter(movements__entry=payout, account__code="1220-HOT-1")
    assert opened.count() == 3
    for lot in opened:
        assert (lot.quantity, lot.cost) == (D("0"), D("0.00")), lot.pk
    text = export_text(END)
    for lot in opened:
        label = f'"lot-{lot.pk}"'
        put, taken = (line.strip() for line in text.splitlines() if label in line)
        assert taken == put.replace("  ", "  -", 1), lot.pk

    # Every price through the date is there, with its evidence.
    prices = [e for e in entries if isinstance(e, Price)]
    # BTC from 2025-12-01 and USDT from 2026-02-01 to 2026-02-28, each at 00:00 the day after.
    assert len(prices) == 90 + 28
    assert prices[-1].meta["timestamp"] == "2026-03-01T00:00:00Z"
    assert prices[-1].meta["source"] == "test-close"

    booking = bookings(entries)
    names = beancount_account_names(Account.objects.all())
    name = {Account.objects.get(pk=pk).code: n for pk, n in names.items()}
    # Lots explain these accounts entry by entry: beancount matches every relief, the
    # cancelled payout's in the pool's receivable too (its lots were undone with it).
    for code in ("1210-COLD-1", "1230-L-1", "1400-L-1", "1220-hot_2.b", "1300-F2P-A"):
        assert booking[name[code]] == "STRICT", code
    # A manual entry, a value without units, a loan's USDT: positions at their own cost.
    for code in ("1220-HOT-1", "1110-USDT-1", "2010-L-1", "2110-L-1"):
        assert booking[name[code]] == "NONE", code
    assert booking[name["4100"]] is None
    assert name["1220-hot_2.b"] == "Assets:1220:1220-hot-2-b-X" + name["1220-hot_2.b"][-8:]


def bookings(entries: list) -> dict[str, str | None]:
    """Each beancount account's booking method, as its `open` directive names it."""
    return {
        e.account: e.booking.name if e.booking else None for e in entries if isinstance(e, Open)
    }


@pytest.mark.django_db
def test_an_account_is_booked_none_only_through_a_date_that_has_what_its_lots_do_not_explain(
    books,
):
    # The manual entry that no lot explains is dated 2026-02-13: the day before, the hot
    # wallet's lots explain every posting to it, and beancount matches them strictly.
    hot = beancount_account_names(Account.objects.all())[Account.objects.get(code="1220-HOT-1").pk]
    assert bookings(load_checked(export_text(date(2026, 2, 12))))[hot] == "STRICT"
    assert bookings(load_checked(export_text(date(2026, 2, 13))))[hot] == "NONE"


@pytest.mark.django_db
def test_lots_keep_their_cost_date_and_label_through_partial_reliefs(books):
    text = export_text(END)
    load_checked(text)
    hot = Lot.objects.get(account__code="1220-HOT-1", origin="opening")
    label = f'"lot-{hot.pk}"'
    lines = [line.strip() for line in text.splitlines() if label in line]
    # Opened, then 0.2 sold (FIFO, the oldest lot), then 0.1 and the fee moved out: each
    # relief takes the whole position and reopens what is left at the cost the ledger keeps.
    assert lines == [
        f"Assets:1220:1220-HOT-1  0.30000000 BTC {{{{31000.01 USD, 2025-09-01, {label}}}}}",
        f"Assets:1220:1220-HOT-1  -0.30000000 BTC {{{{31000.01 USD, 2025-09-01, {label}}}}}",
        f"Assets:1220:1220-HOT-1  0.10000000 BTC {{{{10333.34 USD, 2025-09-01, {label}}}}}",
        f"Assets:1220:1220-HOT-1  -0.10000000 BTC {{{{10333.34 USD, 2025-09-01, {label}}}}}",
    ]
    hot.refresh_from_db()
    assert (hot.quantity, hot.cost) == (D("0"), D("0.00"))


@pytest.mark.django_db
def test_the_balance_assertions_catch_a_single_unit_or_cent(books):
    text = export_text(END)
    load_checked(text)
    # One satoshi more in the cold wallet's lots than the ledger holds: bean-check refuses.
    first = re.search(r"(Assets:1210:1210-COLD-1  )(\d+\.\d+)( BTC \{\{)", text)
    assert first is not None
    units = D(first.group(2))
    tampered = text.replace(
        first.group(0), f"{first.group(1)}{units + D('0.00000001')}{first.group(3)}", 1
    )
    _entries, errors, _options = loader.load_string(tampered)
    assert errors
    # A cent moved between two USD accounts: the assertions of both fail.
    tampered = text.replace(
        "  Income:4000  -",
        "  Income:4000  -0.01 USD\n  Expenses:5300  0.01 USD\n  Income:4000  -",
        1,
    )
    _entries, errors, _options = loader.load_string(tampered)
    assert {e.entry.account for e in errors} == {"Income:4000", "Expenses:5300"}


def test_account_names_are_valid_stable_and_distinct():
    assert account_component("1210-COLD-01") == "1210-COLD-01"
    assert account_component("A-1") == "A-1"
    odd = account_component("cold_1.x")
    assert re.fullmatch(r"Cold-1-x-X[0-9A-F]{8}", odd)
    assert account_component("cold_1.x") == odd  # the code alone decides
    assert account_component("cold-1-x") != account_component("cold_1.x")
    accounts = [
        Account(pk=1, code="1210", type=AccountType.ASSET, parent_id=None),
        Account(pk=2, code="1210-c_1", type=AccountType.ASSET, parent_id=1),
        Account(pk=3, code="4000", type=AccountType.INCOME, parent_id=None),
        Account(pk=4, code="2010", type=AccountType.LIABILITY, parent_id=None),
        Account(pk=5, code="3000", type=AccountType.EQUITY, parent_id=None),
        Account(pk=6, code="5100", type=AccountType.EXPENSE, parent_id=None),
    ]
    names = beancount_account_names(accounts)
    assert names[1] == "Assets:1210"
    assert names[2].startswith("Assets:1210:1210-c-1-X")
    assert [names[n] for n in (3, 4, 5, 6)] == [
        "Income:4000",
        "Liabilities:2010",
        "Equity:3000",
        "Expenses:5100",
    ]
    clash = [*accounts, Account(pk=7, code=names[2].split(":")[-1], type="asset", parent_id=1)]
    with pytest.raises(ExportError, match="would both be named"):
        beancount_account_names(clash)


# --- the command ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_writes_the_file(books):
    out = io.StringIO()
    call_command("export_beancount", "--as-of", "2026-02-28", stdout=out)
    assert out.getvalue() == export_text(END)
    assert_ties_to_the_trial_balance(load_checked(out.getvalue()), END)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("28/02/2026", "--as-of must be a date written YYYY-MM-DD (UTC), not '28/02/2026'"),
        ("2026-02-30", "--as-of 2026-02-30 is not a calendar date"),
        ("2026-2-28", "--as-of must be a date written YYYY-MM-DD"),
        # The report dates the README gives (it took 0001-01-01).
        ("9999-12-31", "--as-of 9999-12-31 is after 9998-12-31, the latest date taken"),
        ("0001-01-01", "--as-of 0001-01-01 is before 1900-01-01, the earliest date taken"),
    ],
)
def test_the_command_refuses_a_bad_date(chart, as_of, message):
    out = io.StringIO()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("export_beancount", "--as-of", as_of, stdout=out)
    assert out.getvalue() == ""


@pytest.mark.django_db
def test_without_a_date_the_command_exports_through_today(chart):
    out = io.StringIO()
    call_command("export_beancount", stdout=out)
    today = datetime.now(UTC).date()
    assert f"journal through {today.isoformat()}" in out.getvalue()
    load_checked(out.getvalue())


def test_the_export_refuses_what_is_not_a_date():
    with pytest.raises(ExportError, match="as_of must be a date"):
        beancount_export(as_of=datetime(2026, 2, 28, tzinfo=UTC))


# --- the API -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_on_the_endpoint(books, api_client_for, role):
    response = api_client_for(role).get(API, {"as_of": "2026-02-28"})
    assert response.status_code == ROLES[role]
    if ROLES[role] != 200:
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] in {"not_authenticated", "permission_denied"}
        return
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="cango-treasury-2026-02-28.beancount"'
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text == export_text(END)
    assert_ties_to_the_trial_balance(load_checked(text), END)


@pytest.mark.django_db
@pytest.mark.parametrize("as_of", ["2026-02-30", "28/02/2026", "2026-02-28T00:00:00Z", "x"])
@pytest.mark.parametrize("accept", ["*/*", "text/plain"])
def test_a_bad_date_is_a_400_naming_it(chart, api_client_for, as_of, accept):
    response = api_client_for("auditor").get(API, {"as_of": as_of}, HTTP_ACCEPT=accept)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["field"] == "as_of"
    assert "YYYY-MM-DD" in body["detail"] or "not a calendar date" in body["detail"]


@pytest.mark.django_db
def test_the_last_date_there_is_is_refused(chart, api_client_for):
    # Refused with every report date past 9998-12-31 (ledger/dates.py), before the export.
    response = api_client_for("auditor").get(API, {"as_of": "9999-12-31"})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("out_of_range", "as_of")
    assert body["detail"] == "9999-12-31 is after 9998-12-31, the latest date taken."


@pytest.mark.django_db
def test_without_a_date_the_endpoint_exports_through_today(chart, api_client_for):
    response = api_client_for("auditor").get(API, HTTP_ACCEPT="text/plain")
    today = datetime.now(UTC).date().isoformat()
    assert response.status_code == 200
    assert f'filename="cango-treasury-{today}.beancount"' in response["Content-Disposition"]
    load_checked(b"".join(response.streaming_content).decode("utf-8"))


@pytest.mark.django_db
def test_the_file_is_text_only(chart, api_client_for):
    response = api_client_for("auditor").get(
        API, {"as_of": "2026-02-28"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_acceptable"


def test_the_transactions_are_streamed_in_large_pieces_in_order():
    from holdings.selectors.exports import PIECE_CHARS, _joined

    pieces = [f"{n:08d}\n" * 1000 for n in range(100)]  # 9,000 characters each
    joined = list(_joined(iter(pieces)))
    assert "".join(joined) == "".join(pieces)
    assert all(len(piece) >= PIECE_CHARS for piece in joined[:-1])
    assert len(joined) == 4  # 900,000 characters: three of 30 pieces, then the rest
    assert list(_joined(iter([]))) == []


@pytest.mark.django_db
def test_usd_postings_alone_are_written_in_the_order_posted(chart):
    ledger_services.entry_post(
        effective_date=date(2026, 1, 5),
        memo="Fees paid, part refunded",
        postings=[
            PostingInput("5000", D("10.00"), D("10.00")),
            PostingInput("2200", D("-12.00"), D("-12.00")),
            PostingInput("5000", D("2.00"), D("2.00")),
        ],
    )
    text = export_text(date(2026, 1, 5))
    entry = JournalEntry.objects.get(memo="Fees paid, part refunded")
    names = beancount_account_names(Account.objects.all())
    fees, payable = (names[Account.objects.get(code=code).pk] for code in ("5000", "2200"))
    assert (
        f'2026-01-05 * "Fees paid, part refunded"\n  sequence: {entry.sequence}\n'
        f'  kind: "{entry.kind}"\n  {fees}  10.00 USD\n  {payable}  -12.00 USD\n'
        f"  {fees}  2.00 USD\n\n"
    ) in text
    load_checked(text)


def take_more_than_the_lot_holds() -> Lot:
    """A lot movement taking twice what its lot holds, written with the lots' rules off
    (as only a broken database could hold it): what the export must refuse to write."""
    lot = Lot.objects.filter(quantity__gt=0).order_by("id").first()
    assert lot is not None
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks pending, run now
        cursor.execute("ALTER TABLE holdings_lotmovement DISABLE TRIGGER USER")
        cursor.execute(
            "INSERT INTO holdings_lotmovement (effective_date, kind, quantity, cost, "
            "fair_value_adjustment, created_at, entry_id, lot_id) "
            "SELECT %s, 'disposal', -2 * quantity, -2 * cost, 0, now(), opened_by_entry_id, id "
            "FROM holdings_lot WHERE id = %s",
            [date(2026, 1, 2), lot.pk],
        )
        cursor.execute("ALTER TABLE holdings_lotmovement ENABLE TRIGGER USER")
    return lot


@pytest.mark.django_db
def test_a_lot_moved_more_than_once_in_an_entry_is_written_once_its_moves_added_up(books):
    before = export_text(END)
    lot = Lot.objects.filter(quantity__gt=0).order_by("id").first()
    assert lot is not None
    # Two more movements of the lot in the entry that opened it, which add up to nothing
    # (written with the lots' rules off, as the test above writes its movement).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE holdings_lotmovement DISABLE TRIGGER USER")
        cursor.execute(
            "INSERT INTO holdings_lotmovement (effective_date, kind, quantity, cost, "
            "fair_value_adjustment, created_at, entry_id, lot_id) "
            "SELECT m.effective_date, 'transfer_in', s.q, s.c, 0, now(), m.entry_id, m.lot_id "
            "FROM holdings_lotmovement m, (VALUES (0.05, 100.00), (-0.05, -100.00)) s(q, c) "
            "WHERE m.lot_id = %s AND m.entry_id = %s",
            [lot.pk, lot.opened_by_entry_id],
        )
        cursor.execute("ALTER TABLE holdings_lotmovement ENABLE TRIGGER USER")
    moved = lot.movements.filter(entry_id=lot.opened_by_entry_id).count()
    assert moved == 3
    # The entry's change of the lot is its movements added up: one line, as before.
    assert export_text(END) == before


@pytest.mark.django_db
def test_a_lot_that_would_hold_less_than_nothing_stops_the_export_naming_it(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    lot = take_more_than_the_lot_holds()
    entry = lot.opened_by_entry
    with pytest.raises(ExportError) as refused:
        export_text(date(2026, 1, 31))
    message = str(refused.value)
    assert f"entry #{entry.sequence}: lot {lot.pk} in account " in message
    assert "would hold -" in message
    # The transaction it ran in is still usable.
    assert JournalEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_an_export_closed_early_leaves_the_transaction_usable(books, monkeypatch):
    monkeypatch.setattr(exports, "PIECE_CHARS", 1)  # a piece a day: stopped mid-journal
    pieces = beancount_export(as_of=END)
    assert next(pieces).startswith("; cango-treasury")
    assert re.match(r"2025-12-30 \* ", next(pieces))
    pieces.close()
    assert JournalEntry.objects.filter(status="posted").exists()
    # And a whole export still follows, leaving the transaction's settings as they were.
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        before = cursor.fetchone()
        assert export_text(END).endswith("\n")
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == before


def day_of(day: date, entries: list[tuple[int, str]], error: str | None = None) -> Any:
    """A row of one of the export's two queries: its entries as (sequence, text)."""
    sequences = b"".join(sequence.to_bytes(8, "big") for sequence, _ in entries)
    lengths = b"".join(len(text).to_bytes(4, "big") for _, text in entries)
    text = "".join(text for _, text in entries)
    return side_by_side.Day(day, error, text, sequences, lengths, None)


def test_the_two_queries_days_are_merged_entry_by_entry_in_the_journals_order():
    first, second, third = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
    usd = [
        day_of(first, [(1, "a1 café\n\n")]),
        day_of(second, [(3, "a3\n\n"), (4, "a4 €\n\n"), (8, "a8\n\n"), (9, "a9\n\n")]),
    ]
    others = [
        day_of(second, [(2, "b2 ü\n\n"), (5, "b5\n\n"), (6, "b6 ✓\n\n"), (10, "b10\n\n")]),
        day_of(third, [(11, "b11\n\n")]),
    ]
    days = list(side_by_side.in_journal_order(iter(usd), iter(others)))
    assert [error for error, _ in days] == [None, None, None]
    assert "".join(text for _, text in days) == (
        "a1 café\n\nb2 ü\n\na3\n\na4 €\n\nb5\n\nb6 ✓\n\na8\n\na9\n\nb10\n\nb11\n\n"
    )
    # A day's problem stops the export before its text, after the days before it.
    others[0] = day_of(second, [(2, "b2\n\n")], error="entry #2: lot 7 would hold -1")
    pieces = exports._texts(side_by_side.in_journal_order(iter(usd), iter(others)))
    assert next(pieces) == "a1 café\n\n"
    with pytest.raises(ExportError, match="entry #2: lot 7 would hold -1"):
        next(pieces)


def days_of_both_kinds(text: str) -> list[date]:
    """The days with entries of USD postings alone and others."""
    kinds: dict[date, set[bool]] = {}
    for entry in load_checked(text):
        if isinstance(entry, Transaction):
            alone = all(
                p.units and p.units.currency == "USD" and not p.cost for p in entry.postings
            )
            kinds.setdefault(entry.date, set()).add(alone)
    return [day for day, found in kinds.items() if len(found) == 2]


@pytest.mark.django_db(transaction=True)
def test_with_a_transaction_of_its_own_the_export_reads_on_two_connections(
    books, monkeypatch, caplog
):
    payout = first_payout()
    ledger_services.entry_post(
        effective_date=payout.effective_date,
        memo="Bank fee, the day of a payout",
        postings=[
            PostingInput("5000", D("10.00"), D("10.00")),
            PostingInput("2200", D("-10.00"), D("-10.00")),
        ],
    )
    inside = {}
    with transaction.atomic():  # the caller's transaction: both queries on its connection
        inside["text"] = export_text(END)
    assert payout.effective_date in days_of_both_kinds(inside["text"])
    apart = []
    copied_aside = side_by_side._copied_aside
    monkeypatch.setattr(
        side_by_side, "_copied_aside", lambda *args: apart.append(args) or copied_aside(*args)
    )
    # On its own: the entries other than USD alone on a second connection, on one snapshot.
    assert export_text(END) == inside["text"]
    assert len(apart) == 1
    # No second connection to be had: both on the export's own, one after the other.
    wrapper = type(connections["default"])

    def refused(self, params):
        raise psycopg.OperationalError("sorry, too many clients already")

    monkeypatch.setattr(wrapper, "get_new_connection", refused)
    with caplog.at_level(logging.WARNING, logger="holdings.selectors.side_by_side"):
        assert export_text(END) == inside["text"]
    assert len(apart) == 1
    assert "no second connection" in caplog.text

    # Stopped mid-journal: the second connection's reader ends with it.
    monkeypatch.undo()
    monkeypatch.setattr(exports, "PIECE_CHARS", 1)
    threads = threading.active_count()
    pieces = beancount_export(as_of=END)
    assert next(pieces).startswith("; cango-treasury")
    assert re.match(r"2025-12-30 \* ", next(pieces))
    pieces.close()
    assert threading.active_count() == threads
    assert JournalEntry.objects.filter(status="posted").exists()


def planned(query: str, settings: list[str]) -> str:
    """The export's plan of `query` with `settings` (SET LOCAL statements) in effect, ending
    with the planner's settings that differ from PostgreSQL's defaults."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in settings:
            cursor.execute(statement)
        cursor.execute(f"EXPLAIN (SETTINGS) {query}", exports._params(END, exports._accounts()))
        plan = "\n".join(line for (line,) in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


@pytest.mark.django_db
def test_the_usd_entries_are_planned_without_hash_joins_or_parallel_workers(books, monkeypatch):
    used = []
    days_side_by_side = side_by_side.days_side_by_side
    monkeypatch.setattr(
        side_by_side,
        "days_side_by_side",
        lambda *args: used.append(args) or days_side_by_side(*args),
    )
    export_text(END)
    assert [(args[0], args[4]) for args in used] == [
        (exports._USD_DAYS_SQL, exports._USD_DAYS_SETTINGS)
    ]
    query = exports._USD_DAYS_SQL
    # The books here are small enough for nested loops, which would prove nothing: ruled out,
    # its joins hash where merge joins are ruled out too, and merge under its own settings.
    # (Left to choose, the planner's pick on a few rows depends on the tables' statistics.)
    no_nested_loops = [side_by_side.QUERY_SETTINGS, "SET LOCAL enable_nestloop = off"]
    assert "Hash Join" in planned(query, [*no_nested_loops, "SET LOCAL enable_mergejoin = off"])
    plan = planned(query, [*no_nested_loops, exports._USD_DAYS_SETTINGS])
    assert "enable_hashjoin = 'off'" in plan
    assert "max_parallel_workers_per_gather = '0'" in plan
    assert "Hash Join" not in plan
    assert "Gather" not in plan


def setting_day(name: str) -> str:
    """A query of one day whose text is the setting `name` as the query's cursor reads it."""
    return (
        f"SELECT date '2026-01-01', NULL::text, current_setting('{name}'), ''::bytea, "
        "''::bytea, NULL::int8[]"
    )


@pytest.mark.django_db
def test_on_one_connection_the_query_aside_is_planned_before_the_own_querys_settings(
    monkeypatch,
):
    opened = []
    fetched_days = side_by_side._fetched_days

    @contextmanager
    def recorded(query: str, params: dict[str, Any], name: str) -> Iterator[Any]:
        with connection.cursor() as cursor:  # as the cursor is opened, and its plan made
            cursor.execute("SHOW enable_hashjoin")
            opened.append((name, cursor.fetchone()[0]))
        with fetched_days(query, params, name) as days:
            yield days

    monkeypatch.setattr(side_by_side, "_fetched_days", recorded)
    query = setting_day("enable_hashjoin")
    own_settings = "SET LOCAL enable_hashjoin = off"
    with side_by_side.own_snapshot() as snapshot:  # in the test's transaction: none
        days = side_by_side.days_side_by_side(query, query, {}, snapshot, own_settings)
        with days as (own, aside):
            assert [day.text for day in own] == ["off"]
            list(aside)
    assert opened == [("aside", "on"), ("own", "off")]
    # The settings end with the export.
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_hashjoin")
        assert cursor.fetchone() == ("on",)


@pytest.mark.django_db(transaction=True)
def test_on_two_connections_the_own_querys_settings_are_its_alone():
    query = setting_day("enable_hashjoin")
    own_settings = "SET LOCAL enable_hashjoin = off"
    with side_by_side.own_snapshot() as snapshot:
        assert snapshot is not None
        days = side_by_side.days_side_by_side(query, query, {}, snapshot, own_settings)
        with days as (own, aside):
            assert [day.text for day in own] == ["off"]
            assert [day.text for day in aside] == ["on"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_hashjoin")
        assert cursor.fetchone() == ("on",)
