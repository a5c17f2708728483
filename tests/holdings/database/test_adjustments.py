"""What PostgreSQL refuses of the fair value adjustment accounts, whoever writes: an entry posts
to one exactly what its lot movements add to the adjustments of the lots it measures."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from holdings import chart
from holdings.models import Lot, LotMovement
from holdings.selectors import lots as lots_selectors
from holdings.tasks import verify_lots
from ledger.models import Account, AccountType, JournalEntry
from ledger.services import account_create
from tests.earlier_ledgers import DOCUMENTS_UNCHECKED, posted_past_the_lots
from tests.holdings.database.test_rules import entry_sql, execute, run_together

MIGRATION = Path(chart.__file__).parent / "migrations" / "0041_adjustments_match_their_lots.sql"
ADJUSTMENT_CODES = (*chart.FAIR_VALUE_ADJUSTMENT.values(), *chart.COLLATERAL_ADJUSTMENTS.values())


def adjustment_sql(
    lot: Lot, amount: str, day: str, lines: list[tuple[int, str, int, str, str]], entry: str = ""
) -> list[str]:
    """A remeasurement as raw SQL: an entry with the given postings (or the existing `entry`),
    the lot's adjustment moved by `amount` with it, and the lot row following its movement."""
    return [
        entry_sql(day, lines, kind="fair_value_remeasurement") if lines else "SELECT 1",
        # No remeasurement row: only its entry and its lots' movements are tested here.
        *DOCUMENTS_UNCHECKED,
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity,"
        f" cost, fair_value_adjustment, created_at) VALUES ({lot.pk},"
        f" {entry or '(SELECT max(id) FROM ledger_journalentry)'},"
        f" '{day}', 'remeasurement', 0, 0, {amount}, now())",
        f"UPDATE holdings_lot SET fair_value_adjustment = fair_value_adjustment + {amount}"
        f" WHERE id = {lot.pk}",
    ]


def account_id(code: str) -> int:
    return Account.objects.get(code=code).pk


@pytest.mark.django_db
def test_a_bare_entry_to_an_adjustment_account_is_refused(earning):
    """A gain no lot carries: Dr 1290 / Cr 4100 with no lot adjusted, under any kind."""
    entries = JournalEntry.objects.count()
    bare = entry_sql(
        "2026-01-31",
        [
            (account_id(chart.FAIR_VALUE_ADJUSTMENT["BTC"]), "USD", 2, "1000.00", "1000.00"),
            (account_id(chart.FAIR_VALUE_GAIN), "USD", 2, "-1000.00", "-1000.00"),
        ],
        kind="fair_value_remeasurement",
    )
    with pytest.raises(
        IntegrityError,
        match=r"holdings_adjustment_matches_lots: entry #\d+ of 2026-01-31 posts 1000\.00 USD to "
        r"account 1290, the fair value adjustment of the lots it measures, but its lot movements "
        r"adjust them by 0 USD",
    ):
        run_together([bare, *DOCUMENTS_UNCHECKED])
    assert JournalEntry.objects.count() == entries


@pytest.mark.django_db
def test_lots_are_adjusted_only_with_their_adjustment_account(earning):
    """Moving a lot's adjustment with an entry that posts it elsewhere (or nowhere) is refused;
    the same movement with its posting to 1290 is the remeasurement the rule lets through."""
    _entry, _receivable, income = earning
    lot = Lot.objects.get()
    own = account_id(chart.FAIR_VALUE_ADJUSTMENT["BTC"])
    gain = account_id(chart.FAIR_VALUE_GAIN)
    lent = account_id(chart.COLLATERAL_ADJUSTMENTS["BTC"])
    day = "2026-01-31"
    movements = LotMovement.objects.count()
    for lines, said in [
        # Into the collateral receivable's adjustment, which measures none of these lots.
        ([(lent, "USD", 2, "250.00", "250.00"), (gain, "USD", 2, "-250.00", "-250.00")], r"0 USD"),
        # Into revenue and back: nothing reaches 1290.
        ([(income.pk, "USD", 2, "250.00", "250.00"), (gain, "USD", 2, "-250.00", "-250.00")], ""),
        # Half of it.
        ([(own, "USD", 2, "125.00", "125.00"), (gain, "USD", 2, "-125.00", "-125.00")], "125"),
    ]:
        with pytest.raises(IntegrityError, match="holdings_adjustment_matches_lots") as caught:
            run_together(adjustment_sql(lot, "250.00", day, lines))
        assert re.search(said, str(caught.value)), caught.value
    assert LotMovement.objects.count() == movements

    run_together(
        adjustment_sql(
            lot,
            "250.00",
            day,
            [(own, "USD", 2, "250.00", "250.00"), (gain, "USD", 2, "-250.00", "-250.00")],
        )
    )
    lot.refresh_from_db()
    assert lot.fair_value_adjustment == Decimal("250.00")
    assert LotMovement.objects.count() == movements + 1


@pytest.mark.django_db
def test_an_adjustment_moved_to_an_entry_after_it_is_refused(earning):
    """A movement adjusting a lot, attached to the earning's entry posted earlier: that entry
    is compared again, and it posts nothing to 1290."""
    entry, _receivable, _income = earning
    lot = Lot.objects.get()
    statements = adjustment_sql(lot, "80.00", "2026-01-01", [], entry=str(entry.pk))
    with pytest.raises(
        IntegrityError, match=r"holdings_adjustment_matches_lots: entry #\d+ of 2026-01-01 posts 0"
    ):
        run_together(statements)
    lot.refresh_from_db()
    assert lot.fair_value_adjustment == 0


@pytest.mark.django_db
def test_each_lots_account_is_measured_by_its_commoditys_adjustment_account(world):
    """The collateral receivable's lots by 1490 (any account under 1400), the others by 1290;
    a commodity carried at cost by none."""
    lent = account_create(
        code="1400-L9",
        name="Collateral with the lender",
        type=AccountType.ASSET,
        commodity="BTC",
        parent="1400",
    )
    pledged = account_create(
        code="1230-L9", name="Pledged", type=AccountType.ASSET, commodity="BTC", parent="1230"
    )
    wanted = {
        lent.pk: account_id("1490"),
        account_id("1400"): account_id("1490"),
        pledged.pk: account_id("1290"),
        account_id("1220"): account_id("1290"),
        account_id("1250"): account_id("1291"),
        account_id(chart.USDT_WALLETS): None,
    }
    with connection.cursor() as cursor:
        for lots_account, adjustment in wanted.items():
            cursor.execute("SELECT holdings_lots_adjustment_account(%s)", [lots_account])
            assert cursor.fetchone()[0] == adjustment, lots_account


def test_the_rule_reads_the_charts_own_codes():
    """The migration names the accounts holdings/chart.py names: the adjustment accounts and,
    per commodity, its collateral receivable."""
    sql = MIGRATION.read_text()
    measured = set(re.findall(r"\('(\w+)', '(\w+)', '(\w+)', '(\w+)'\)", sql))
    assert measured == {
        (code, chart.COLLATERAL_RECEIVABLES[code], own, chart.COLLATERAL_ADJUSTMENTS[code])
        for code, own in chart.FAIR_VALUE_ADJUSTMENT.items()
    }
    listed = "(" + ", ".join(f"'{code}'" for code in sorted(ADJUSTMENT_CODES)) + ")"
    assert sql.count(listed) == 3


@pytest.mark.django_db
def test_the_adjustment_accounts_are_kept_whenever_they_are_named(world):
    """Kept by code when created or renamed to one, and never let out again."""

    def kept() -> dict[int, bool]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT account_id, adjusts_lots FROM holdings_kept_account")
            return dict(cursor.fetchall())

    assert {code for code in ADJUSTMENT_CODES if kept().get(account_id(code))} == set(
        ADJUSTMENT_CODES
    )
    old = Account.objects.get(code="1492")
    Account.objects.filter(pk=old.pk).update(code="1492-OLD")
    created = account_create(
        code="1492", name="ETC adjustment", type=AccountType.ASSET, commodity="USD"
    )
    spare = account_create(code="1999", name="Spare", type=AccountType.ASSET, commodity="USD")
    assert kept()[created.pk] is True
    assert kept()[old.pk] is True
    assert spare.pk not in kept()
    Account.objects.filter(pk=created.pk).update(code="1492-NEW")
    Account.objects.filter(pk=spare.pk).update(code="1492")
    assert kept()[spare.pk] is True
    with pytest.raises(IntegrityError, match="holdings_kept_accounts_kept"):
        execute(
            f"UPDATE holdings_kept_account SET adjusts_lots = false WHERE account_id = {old.pk}"
        )


@pytest.mark.django_db
def test_the_nightly_check_finds_an_adjustment_no_lot_carries(earning):
    """What the rule refuses but an earlier release's ledger (or a superuser with the triggers
    off) may hold: the nightly comparison names the adjustment account and both sides."""
    assert lots_selectors.lot_differences(as_of=date(2026, 1, 31)) == []
    posted_past_the_lots(
        effective_date=date(2026, 1, 31),
        memo="A gain no lot carries",
        kind="fair_value_remeasurement",
        postings=[("1290", Decimal("1000.00"), Decimal("1000.00")), ("4100", -1000, -1000)],
    )
    assert lots_selectors.lot_differences(as_of=date(2026, 1, 30)) == []
    [found] = lots_selectors.lot_differences(as_of=date(2026, 1, 31))
    assert (found.account, found.adjustment, found.ledger_value, found.lots_cost) == (
        "1290",
        True,
        Decimal("1000.00"),
        0,
    )
    summary = verify_lots()
    assert not summary["ok"]
    assert summary["differences"] == [
        {
            "account": "1290",
            "ledger_quantity": "1000.00",
            "lots_quantity": "0",
            "ledger_value": "1000.00",
            "lots_cost": "0",
            "adjustment": True,
        }
    ]
