"""What PostgreSQL itself refuses, whoever writes: evidence is never changed or removed, and
a lot always equals the sum of its movements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.models import Lot, LotMovement
from ledger.models import JournalEntry
from tests.earlier_ledgers import DOCUMENTS_UNCHECKED
from tests.holdings.conftest import f2pool_file, run_import


def execute(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "sql"),
    [
        ("holdings_productionrecord", "UPDATE holdings_productionrecord SET net = 5"),
        ("holdings_productionrecord", "DELETE FROM holdings_productionrecord"),
        ("holdings_price", "UPDATE holdings_price SET price = 1"),
        ("holdings_price", "DELETE FROM holdings_price"),
        ("holdings_lotmovement", "UPDATE holdings_lotmovement SET quantity = 0"),
        ("holdings_lotmovement", "DELETE FROM holdings_lotmovement"),
        ("holdings_lotmovement", "TRUNCATE holdings_lotmovement CASCADE"),
        ("holdings_productionrecord", "TRUNCATE holdings_productionrecord CASCADE"),
    ],
)
def test_evidence_cannot_be_changed_or_removed_even_by_raw_sql(imported, table, sql):
    with pytest.raises(IntegrityError, match=f"{table}_immutable"):
        execute(sql)


@pytest.mark.django_db
def test_a_lot_cannot_drift_from_its_movements(imported):
    with pytest.raises(IntegrityError, match=r"holdings_lot_matches_movements: lot .* holds 0\.4"):
        execute("UPDATE holdings_lot SET quantity = 0.4")
    with pytest.raises(IntegrityError, match="holdings_lot_matches_movements"):
        execute(
            "INSERT INTO holdings_lot (commodity_id, account_id, acquired_at, origin, "
            "opened_by_entry_id, original_quantity, original_cost, quantity, cost, "
            "fair_value_adjustment, created_at) SELECT commodity_id, account_id, acquired_at, "
            "origin, opened_by_entry_id, 1, 1, 1, 1, 0, now() FROM holdings_lot LIMIT 1"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM holdings_lot_pending_check",
        "UPDATE holdings_lot_pending_check SET lot_ids = '{}'",
    ],
)
def test_the_lots_awaiting_their_check_are_kept_by_the_lots_alone(imported, sql):
    """Emptying the lots' check at commit let a lot drift from its movements."""
    lot = Lot.objects.get()
    with (
        pytest.raises(IntegrityError, match="holdings_lot_pending_check_kept"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE holdings_lot SET quantity = 0.1")
        cursor.execute(sql)
    for sql in (
        "INSERT INTO holdings_lot_pending_check (lot_ids) VALUES ('{1}')",
        "TRUNCATE holdings_lot_pending_check",
    ):
        with pytest.raises(IntegrityError, match="holdings_lot_pending_check_kept"):
            execute(sql)
    lot.refresh_from_db()
    assert lot.quantity == Decimal("0.5")


@pytest.mark.django_db
def test_a_lot_holds_its_accounts_commodity(imported):
    with pytest.raises(IntegrityError, match="holdings_lot_account_commodity"):
        execute("UPDATE holdings_lot SET commodity_id = 'KAS'")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE holdings_lotmovementdaily SET quantity = quantity + 1",
        "DELETE FROM holdings_lotmovementdaily",
        "INSERT INTO holdings_lotmovementdaily (account_id, commodity_id, origin, kind, day,"
        " quantity, cost, fair_value_adjustment, movements)"
        " VALUES (1, 'BTC', 'mined', 'open', '2026-02-01', 1, 1, 0, 1)",
        "TRUNCATE holdings_lotmovementdaily",
    ],
)
def test_the_movements_daily_totals_are_kept_by_the_movements_alone(imported, sql):
    with pytest.raises(IntegrityError, match="holdings_rollup_maintained_by_movements"):
        execute(sql)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE holdings_disposaltotal SET units = units + 1",
        "DELETE FROM holdings_disposaltotal",
        "INSERT INTO holdings_disposaltotal (entry_id, commodity_id, day, moved_quantity,"
        " moved_cost, moved_adjustment, movements, disposals, units, cost, carrying_value,"
        " proceeds, realized_gain) VALUES (1, 'BTC', '2026-02-01', -1, -1, 0, 1, 1, 1, 1, 1,"
        " 2, 1)",
        "TRUNCATE holdings_disposaltotal",
    ],
)
def test_the_disposal_totals_are_kept_by_the_disposals_alone(imported, sql):
    with pytest.raises(IntegrityError, match="holdings_rollup_maintained_by_movements"):
        execute(sql)


@pytest.mark.django_db
def test_the_movements_daily_totals_follow_every_movement(imported):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.account_id, l.origin, m.kind, m.effective_date, m.quantity, m.cost"
            " FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id"
        )
        [(account, origin, kind, day, quantity, cost)] = cursor.fetchall()
        cursor.execute(
            "SELECT account_id, commodity_id, origin, kind, day, quantity, cost, movements"
            " FROM holdings_lotmovementdaily"
        )
        assert cursor.fetchall() == [(account, "BTC", origin, kind, day, quantity, cost, 1)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE holdings_productionmonthtotal SET net = net + 1",
        "DELETE FROM holdings_productionmonthtotal",
        "INSERT INTO holdings_productionmonthtotal (pool_account_id, month, records, net,"
        " value, hashrate_hs, hashrate_records) SELECT pool_account_id, '2026-02-01', 1, 1, 1,"
        " 0, 0 FROM holdings_productionrecord",
        "TRUNCATE holdings_productionmonthtotal",
    ],
)
def test_the_production_months_are_kept_by_the_records_alone(imported, sql):
    with pytest.raises(IntegrityError, match="holdings_production_months_kept_by_records"):
        execute(sql)


@pytest.mark.django_db
def test_the_production_months_follow_every_record(imported):
    run_import("f2pool", f2pool_file([(date(2026, 1, 2), "0.25"), (date(2026, 2, 1), "0.125")]))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pool_account_id, date_trunc('month', day)::date, count(*), sum(net),"
            " sum(value), sum(hashrate_hs), count(hashrate_hs) FROM holdings_productionrecord"
            " GROUP BY 1, 2 ORDER BY 1, 2"
        )
        records = cursor.fetchall()
        cursor.execute(
            "SELECT pool_account_id, month, records, net, value, hashrate_hs, hashrate_records"
            " FROM holdings_productionmonthtotal ORDER BY 1, 2"
        )
        assert cursor.fetchall() == records
    assert [row[2] for row in records] == [2, 1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        "account_id = (SELECT id FROM ledger_account WHERE commodity_id = 'BTC'"
        " AND type = 'asset' AND id <> holdings_lot.account_id LIMIT 1)",
        "origin = 'purchase'",
    ],
)
def test_a_lot_keeps_its_account_and_origin(imported, change):
    with pytest.raises(IntegrityError, match="holdings_lot_identity_kept"):
        execute(f"UPDATE holdings_lot SET {change}")


# Every column of a lot but its units, cost and adjustment (kept by its movements) and its
# commodity (its account's, by the composite key): each changed alone, to another value.
LOT_IDENTITY = {
    "id": "id = id + 1000000",
    "acquired_at": "acquired_at = acquired_at - interval '1 day'",
    "parent_id": "parent_id = id",
    "production_record_id": "production_record_id = CASE WHEN production_record_id IS NULL"
    " THEN (SELECT min(id) FROM holdings_productionrecord) END",
    "price_id": "price_id = CASE WHEN price_id IS NULL THEN (SELECT min(id) FROM holdings_price)"
    " END",
    "opened_by_entry_id": "opened_by_entry_id = (SELECT max(id) FROM ledger_journalentry) + 1",
    "original_quantity": "original_quantity = original_quantity + 1",
    "original_cost": "original_cost = original_cost + 1",
    "created_at": "created_at = created_at - interval '1 day'",
}


@pytest.mark.django_db
@pytest.mark.parametrize(("column", "change"), LOT_IDENTITY.items(), ids=list(LOT_IDENTITY))
def test_a_lot_keeps_what_it_was_opened_with(imported, column, change):
    with pytest.raises(IntegrityError, match="holdings_lot_identity_kept") as caught:
        execute(f"UPDATE holdings_lot SET {change}")
    assert caught.value.__cause__.sqlstate == "23514"
    assert str(caught.value).startswith("holdings_lot_identity_kept: lot ")
    assert f"({column} would change)" in str(caught.value)


def test_every_column_of_a_lot_is_kept_or_follows_its_movements():
    # A column added to lots is kept by the rule (and named above) or changed by a movement.
    columns = {field.column for field in Lot._meta.concrete_fields}
    moved = {"quantity", "cost", "fair_value_adjustment"}
    keyed = {"commodity_id", "account_id", "origin"}  # by the composite key; by the test above
    assert columns == set(LOT_IDENTITY) | moved | keyed


@pytest.mark.django_db
def test_a_lot_still_follows_its_movements_and_may_be_written_unchanged(imported):
    # The services set units, cost and adjustment (holdings/services/bulk.py update_lots), and
    # an UPDATE naming the kept columns without changing them passes.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE holdings_lot SET acquired_at = acquired_at, original_cost = original_cost,"
            " account_id = account_id, quantity = quantity, cost = cost"
        )
        assert cursor.rowcount == 1
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_a_disposal_is_written_after_its_lot(imported):
    # Its entry's totals are kept by its lot's commodity: it could not be placed.
    with (
        pytest.raises(IntegrityError, match="holdings_disposal_lot_exists"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO holdings_disposal (lot_id, entry_id, disposed_on, units, cost,"
            " carrying_value, proceeds, realized_gain, days_held, method, created_at)"
            " SELECT 999999999, entry_id, effective_date, 1, 1, 1, 2, 1, 0, 'fifo', now()"
            " FROM holdings_lotmovement LIMIT 1"
        )


@pytest.mark.django_db
def test_a_movement_is_written_after_its_lot(imported):
    # Before the foreign key's check at commit: the daily totals could not place it.
    with (
        pytest.raises(IntegrityError, match="holdings_lot_movement_lot_exists"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity,"
            " cost, fair_value_adjustment, created_at)"
            " SELECT 999999999, entry_id, effective_date, kind, 0, 0, 0, now()"
            " FROM holdings_lotmovement LIMIT 1"
        )


def sequential_scans(cursor, tables: tuple[str, ...]) -> dict[str, int]:
    cursor.execute(
        "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = ANY (%s)",
        [list(tables)],
    )
    return dict(cursor.fetchall())


@pytest.mark.django_db
def test_the_lot_rollups_read_only_the_lots_a_statement_moves(imported):
    # The statement's triggers (the open spans, the daily totals, the disposal totals) look
    # its lots up by key: a plan that reads whole tables costs more with every year of books.
    # Known to be small, the tables would be scanned whole if a plan were allowed to; and the
    # plans are the ones PL/pgSQL keeps for every call, made without the call's values.
    tables = ("holdings_lotmovement", "holdings_lot", "holdings_lotopenspan")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT lot_id, entry_id, effective_date, kind, quantity, cost, fair_value_adjustment"
            " FROM holdings_lotmovement"
        )
        [movement] = cursor.fetchall()
        cursor.execute(f"ANALYZE {', '.join(tables)}")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        before = sequential_scans(cursor, tables)
        cursor.execute(
            "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity,"
            " cost, fair_value_adjustment, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
            movement,
        )
        after = sequential_scans(cursor, tables)
        assert {t: after.get(t, 0) - before.get(t, 0) for t in tables} == dict.fromkeys(tables, 0)
        raise Undo  # the lot no longer matches its movements: undone before the commit's check


MOVEMENT = (
    "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity, cost,"
    " fair_value_adjustment, created_at) SELECT lot_id, entry_id, %s, %s, %s, %s, %s, now()"
    " FROM holdings_lotmovement ORDER BY id LIMIT 1"
)
LOT_MOVED = (
    "UPDATE holdings_lot SET quantity = quantity + %s, cost = cost + %s,"
    " fair_value_adjustment = fair_value_adjustment + %s"
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("movements", "rule"),
    [
        # Units out under an opening's kind, back the next day: below zero for a day.
        (
            [("2026-01-02", "open", "-0.6", "0", "0"), ("2026-01-03", "open", "0.6", "0", "0")],
            "holdings_lot_never_negative",
        ),
        # No units at all (a remeasurement's), dated before the lot opened.
        ([("2025-12-31", "remeasurement", "0", "0", "10.00")], "holdings_lot_moved_after_opening"),
    ],
)
def test_a_lot_is_checked_whatever_kind_of_movement_moves_it(imported, movements, rule):
    # The checks at commit read only the lots that can break them (those with units out,
    # those with other movements than their openings): these can, by their units or kind.
    with (
        pytest.raises(IntegrityError, match=rule),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        for movement in movements:
            cursor.execute(MOVEMENT, movement)
        # The lot as its movements add up (it may not hold below zero even for a statement).
        cursor.execute(LOT_MOVED, [sum(Decimal(m[n]) for m in movements) for n in (2, 3, 4)])
        # The lot's own checks (the entry's comparison with its lots refuses these too).
        cursor.execute("SET CONSTRAINTS holdings_lot_matches_movements IMMEDIATE")


@pytest.mark.django_db
def test_a_lots_open_spans_follow_its_units_not_its_remeasurements(imported):
    class Undo(Exception):
        pass

    def spans(cursor) -> list[tuple]:
        cursor.execute("SELECT opened_on, closed_on FROM holdings_lotopenspan ORDER BY 1")
        return cursor.fetchall()

    with pytest.raises(Undo), transaction.atomic(), connection.cursor() as cursor:
        assert spans(cursor) == [(date(2026, 1, 1), None)]
        # A remeasurement moves no units: the span stays as it was.
        cursor.execute(MOVEMENT, ["2026-01-05", "remeasurement", "0", "0", "10.00"])
        cursor.execute(LOT_MOVED, ["0", "0", "10.00"])
        assert spans(cursor) == [(date(2026, 1, 1), None)]
        # Every unit out on the 6th, half back on the 8th: the span closes, another opens.
        cursor.execute("SELECT quantity, cost FROM holdings_lot")
        [(units, cost)] = cursor.fetchall()
        for moved in (
            ["2026-01-06", "disposal", -units, -cost, Decimal("-10.00")],
            ["2026-01-08", "transfer_in", units / 2, cost / 2, Decimal(0)],
        ):
            cursor.execute(MOVEMENT, moved)
            cursor.execute(LOT_MOVED, moved[2:])
        assert spans(cursor) == [(date(2026, 1, 1), date(2026, 1, 6)), (date(2026, 1, 8), None)]
        # The lot's own checks pass (its entry's comparison with the lots would not).
        cursor.execute("SET CONSTRAINTS holdings_lot_matches_movements IMMEDIATE")
        raise Undo


def run_together(statements: list[str]) -> None:
    """Statements in one transaction, then checked as at its commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def entry_sql(day: str, lines: list[tuple[int, str, int, str, str]], kind: str = "general") -> str:
    """One entry and its postings (account id, commodity, scale, quantity, value) in one
    statement, as the ledger writes them."""
    rows = ", ".join(
        f"((SELECT id FROM e), {account}, '{commodity}', {scale}, '{day}', {quantity}, {value})"
        for account, commodity, scale, quantity, value in lines
    )
    return (
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status,"
        f" payload_hash, created_at) VALUES ('{day}', 'raw', '{kind}', 'posted', '', now())"
        " RETURNING id) INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale,"
        f" effective_date, quantity, value) VALUES {rows}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["general", "pool_earning", "sale"])
def test_an_entry_posting_coin_to_an_account_holding_lots_moves_its_lots(earning, kind):
    """Raw SQL posted coin to a receivable or wallet with no lot moved, under any kind (a
    document's kind with no document is refused by its own rule too: tests of holdings 0056
    take that rule out here)."""
    _entry, receivable, income = earning
    sql = entry_sql(
        "2026-01-02",
        [(receivable.pk, "BTC", 8, "5", "450000.00"), (income.pk, "USD", 2, "-450000", "-450000")],
        kind=kind,
    )
    with pytest.raises(IntegrityError, match=r"holdings_entry_matches_lots: entry #.* posts 5 BTC"):
        run_together([sql, *DOCUMENTS_UNCHECKED])
    assert JournalEntry.objects.count() == 1
    assert LotMovement.objects.count() == 1


@pytest.mark.django_db
def test_lots_move_only_with_an_entry_that_posts_them(earning):
    """A lot opened with an existing entry's id added coin to the lots and none to the
    journal; a movement dated apart from its entry moved the lots on another day."""
    entry, receivable, _income = earning
    opened = (
        "WITH l AS (INSERT INTO holdings_lot (commodity_id, account_id, acquired_at, origin,"
        " opened_by_entry_id, original_quantity, original_cost, quantity, cost,"
        f" fair_value_adjustment, created_at) VALUES ('BTC', {receivable.pk},"
        f" '2026-01-01T00:00:00Z', 'mined', {entry.pk}, 10, 900000, 10, 900000, 0, now())"
        " RETURNING id) INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date,"
        " kind, quantity, cost, fair_value_adjustment, created_at)"
        f" SELECT id, {entry.pk}, '2026-01-01', 'open', 10, 900000, 0, now() FROM l"
    )
    with pytest.raises(IntegrityError, match=r"posts 0\.5.* come to 10\.5"):
        execute(opened)
    lot = Lot.objects.get()
    moved_apart = (
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity,"
        " cost, fair_value_adjustment, created_at) VALUES"
        f" ({lot.pk}, {entry.pk}, '2026-01-03', 'disposal', -0.5, -45000.00, 0, now()),"
        f" ({lot.pk}, {entry.pk}, '2026-01-01', 'transfer_in', 0.5, 45000.00, 0, now())"
    )
    with pytest.raises(IntegrityError, match=r"moves lots in account .* on 2026-01-03"):
        execute(moved_apart)
    assert LotMovement.objects.count() == 1
    assert Lot.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM holdings_entry_lots_pending",
        "UPDATE holdings_entry_lots_pending SET entry_ids = '{}'",
    ],
)
def test_the_entries_awaiting_their_lots_are_kept_by_the_triggers_alone(earning, sql):
    _entry, receivable, income = earning
    bare = entry_sql(
        "2026-01-02",
        [(receivable.pk, "BTC", 8, "5", "450000.00"), (income.pk, "USD", 2, "-450000", "-450000")],
    )
    with (
        pytest.raises(IntegrityError, match="holdings_entry_lots_pending_kept"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(bare)
        cursor.execute(sql)
    with pytest.raises(IntegrityError, match="holdings_entry_lots_pending_kept"):
        execute("TRUNCATE holdings_entry_lots_pending")
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_kept_accounts_follow_what_names_them_and_nothing_else(earning):
    """The accounts the checks at commit compare: written by the triggers of the wallets,
    pool accounts, loans and lots alone, so that no account can be let out of them."""
    _entry, receivable, income = earning
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id, holds_lots, loan FROM holdings_kept_account")
        kept = {row[0]: row[1:] for row in cursor.fetchall()}
    assert kept[receivable.pk] == (True, False)
    assert income.pk not in kept
    for sql in (
        f"DELETE FROM holdings_kept_account WHERE account_id = {receivable.pk}",
        "UPDATE holdings_kept_account SET holds_lots = false",
        f"INSERT INTO holdings_kept_account (account_id) VALUES ({income.pk})",
        "TRUNCATE holdings_kept_account",
    ):
        with pytest.raises(IntegrityError, match="holdings_kept_accounts_kept"):
            execute(sql)
