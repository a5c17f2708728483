"""What PostgreSQL itself refuses, whoever writes: evidence is never changed or removed, and
a lot always equals the sum of its movements."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from tests.holdings.conftest import f2pool_file, run_import


@pytest.fixture
def imported(world):
    batch = run_import("f2pool", f2pool_file([(date(2026, 1, 1), "0.5")]))
    assert batch.status == "succeeded"


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
def test_a_lot_holds_its_accounts_commodity(imported):
    with pytest.raises(IntegrityError, match="holdings_lot_account_commodity"):
        execute("UPDATE holdings_lot SET commodity_id = 'KAS'")
