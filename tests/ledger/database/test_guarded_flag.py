"""Switching must-not-go-negative on is checked on every day of the account, at commit,
however the flag is written (raw SQL here; the service checks before it writes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services
from ledger.errors import InvalidAccount
from ledger.models import Account
from tests.ledger.database.test_invariants import raw_entry, refused, run_sql

D = Decimal
OVERDRAFT = [("1000", "USD", "", 2, "-10.01", "-10.01"), ("5100", "USD", "", 2, "10.01", "10.01")]


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


@pytest.mark.django_db
def test_flag_off_overdraft_flag_on_in_one_transaction_is_refused(chart):
    assert Account.objects.get(code="1000").must_not_go_negative
    with pytest.raises(IntegrityError) as caught:
        run_sql(
            "UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000';"
            + raw_entry(OVERDRAFT)
            + ";UPDATE ledger_account SET must_not_go_negative = true WHERE code = '1000'"
        )
    assert sqlstate(caught.value) == "23514"
    message = str(caught.value)
    assert "ledger_account_guard_holds" in message and "account 1000" in message
    assert "-10.01 USD on 2025-10-02" in message
    assert Account.objects.get(code="1000").must_not_go_negative


@pytest.mark.django_db
def test_the_flag_set_on_an_account_below_zero_on_an_earlier_day_is_refused(chart):
    run_sql("UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000'")
    # Below zero on the 2nd, back above on the 3rd: the end balance alone would pass.
    run_sql(raw_entry(OVERDRAFT))
    run_sql(
        raw_entry(
            [("1000", "USD", "", 2, "20.00", "20.00"), ("3000", "USD", "", 2, "-20", "-20")],
            day="2025-10-03",
        )
    )
    message = refused("UPDATE ledger_account SET must_not_go_negative = true WHERE code = '1000'")
    assert "ledger_account_guard_holds" in message and "on 2025-10-02" in message
    # An account created with the flag is checked too (its history is empty: accepted).
    run_sql(
        "INSERT INTO ledger_account (code, name, type, commodity_id, must_not_go_negative, "
        "is_active, created_at) SELECT '1001', 'Petty cash', 'asset', 'USD', true, true, now()"
    )


@pytest.mark.django_db
def test_the_flag_cleared_again_before_commit_is_not_checked(chart):
    run_sql(
        "UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000';"
        "UPDATE ledger_account SET must_not_go_negative = true WHERE code = '1000';"
        + raw_entry([("1000", "USD", "", 2, "5.00", "5.00"), ("3000", "USD", "", 2, "-5", "-5")])
        + ";UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000'"
    )
    assert not Account.objects.get(code="1000").must_not_go_negative


@pytest.mark.django_db
def test_an_account_that_never_dips_takes_the_flag(chart):
    run_sql("UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000'")
    run_sql(
        raw_entry([("1000", "USD", "", 2, "10.00", "10.00"), ("3000", "USD", "", 2, "-10", "-10")])
    )
    run_sql("UPDATE ledger_account SET must_not_go_negative = true WHERE code = '1000'")
    assert Account.objects.get(code="1000").must_not_go_negative


@pytest.mark.django_db
def test_the_service_still_names_the_day_before_writing(chart):
    account = Account.objects.get(code="1000")
    services.account_update(account=account, must_not_go_negative=False)
    run_sql(raw_entry(OVERDRAFT))
    with pytest.raises(InvalidAccount, match="below zero on 2025-10-02"):
        services.account_update(account=account, must_not_go_negative=True)


@pytest.mark.django_db(transaction=True)
def test_the_refusal_comes_at_commit(chart):
    with (
        pytest.raises(IntegrityError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_account SET must_not_go_negative = false WHERE code = '1000'")
        cursor.execute(raw_entry(OVERDRAFT, day=str(date(2025, 10, 5))))
        cursor.execute("UPDATE ledger_account SET must_not_go_negative = true WHERE code = '1000'")
    assert sqlstate(caught.value) == "23514"
    assert "ledger_account_guard_holds" in str(caught.value)
    assert Account.objects.get(code="1000").must_not_go_negative
