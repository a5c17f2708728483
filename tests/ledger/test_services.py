"""The posting services: clear errors naming what is wrong, and nothing written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from ledger import selectors, services
from ledger.errors import (
    ClosedPeriod,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAccount,
    InvalidEntry,
    InvalidState,
    PeriodError,
    UnknownAccount,
)
from ledger.models import Account, JournalEntry, Posting
from ledger.services import EntryInput, PostingInput

D = Decimal
OCT1 = date(2025, 10, 1)


def mined(quantity: str = "0.5", value: str = "50000.00", **kwargs):
    return services.entry_post(
        effective_date=kwargs.pop("effective_date", OCT1),
        memo=kwargs.pop("memo", "F2Pool earning"),
        postings=[("1300", D(quantity), D(value)), ("4000", -D(value), -D(value))],
        kind=kwargs.pop("kind", "mined"),
        **kwargs,
    )


@pytest.mark.django_db
def test_posting_updates_balances_and_keeps_exact_decimals(chart):
    entry = mined("0.51714", "45678.91")
    assert entry.sequence is not None and entry.status == "posted"
    balance = selectors.account_balance(account="1300", as_of=OCT1)
    assert balance.quantity == D("0.51714000")
    assert str(balance.quantity) == "0.51714000"
    assert balance.value == D("45678.91")
    assert balance.quantity_money.currency.code == "BTC"
    assert selectors.account_balance(account="1300", as_of=date(2025, 9, 30)).quantity == 0
    assert selectors.trial_balance(as_of=OCT1).total_value == D("0.00")


@pytest.mark.django_db
def test_subtree_balance_includes_children(chart):
    services.account_create(
        code="1210-01", name="Vault A", type="asset", commodity="BTC", parent="1210"
    )
    services.account_create(
        code="1210-02", name="Vault B", type="asset", commodity="BTC", parent="1210"
    )
    for code, qty in (("1210-01", "1"), ("1210-02", "2.5")):
        services.entry_post(
            effective_date=OCT1,
            memo="opening",
            postings=[(code, D(qty), D(qty) * 60000), ("3000", -D(qty) * 60000, -D(qty) * 60000)],
        )
    assert selectors.account_balance(account="1210", as_of=OCT1).quantity == D("3.5")
    rows = {row.code: row for row in selectors.balances(as_of=OCT1, commodity="BTC")}
    assert rows["1210"].quantity == D("3.5") and rows["1210-01"].quantity == D("1")
    statement = selectors.account_postings(account="1210", start=OCT1, end=OCT1)
    assert statement.opening.quantity == 0 and statement.closing.quantity == D("3.5")
    assert [line.account_code for line in statement.lines] == ["1210-01", "1210-02"]


@pytest.mark.django_db
def test_account_statement_runs_from_opening_to_closing(chart):
    mined("1", "100000.00", effective_date=date(2025, 9, 30))
    mined("0.5", "50000.00", effective_date=date(2025, 10, 2))
    mined("0.25", "25000.00", effective_date=date(2025, 10, 1))  # back-dated
    statement = selectors.account_postings(
        account="1300", start=date(2025, 10, 1), end=date(2025, 10, 31)
    )
    assert statement.opening.quantity == D("1")
    assert [line.quantity for line in statement.lines] == [D("0.25"), D("0.5")]
    assert statement.lines[-1].running_quantity == statement.closing.quantity == D("1.75")


@pytest.mark.parametrize(
    ("postings", "field", "words"),
    [
        ([("9999", "1", "1"), ("3000", "-1", "-1")], "postings[0].account", "no account"),
        ([("1300", "0.123456789", "1.00"), ("4000", "-1", "-1")], "postings[0].quantity", "8"),
        ([("1300", "0.1", "1.001"), ("4000", "-1.001", "-1.001")], "postings[0].value", "2"),
        ([("1300", "0.1", "10.00"), ("4000", "-9.99", "-9.99")], "postings", "does not balance"),
        ([("1000", "10", "11"), ("3000", "-11", "-11")], "postings[0].value", "equal to value"),
        ([("1300", "0", "0"), ("4000", "0", "0")], "postings[0].quantity", "both zero"),
        ([("1300", "-0.1", "10"), ("4000", "-10", "-10")], "postings[0].value", "same sign"),
        ([("1210", "1", "10"), ("1220", "-0.9", "-10")], "postings", "conserve quantity"),
        ([("1300", "1", "10")], "postings", "at least two"),
        ([("1300", "1e20", "10"), ("4000", "-10", "-10")], "postings[0].quantity", "20 digits"),
        ([("1300", "1", "1e22"), ("4000", "-1e22", "-1e22")], "postings[0].value", "22 digits"),
    ],
)
@pytest.mark.django_db
def test_bad_entries_are_refused_with_the_field_named_and_nothing_written(
    chart, postings, field, words
):
    with pytest.raises(InvalidEntry) as caught:
        services.entry_post(
            effective_date=OCT1,
            memo="bad",
            postings=[(code, D(q), D(v)) for code, q, v in postings],
        )
    assert caught.value.field == field
    assert words in caught.value.message
    assert isinstance(caught.value, UnknownAccount) == (words == "no account")
    assert JournalEntry.objects.count() == 0 and Posting.objects.count() == 0


@pytest.mark.django_db
def test_floats_and_datetimes_are_refused(chart):
    with pytest.raises(InvalidEntry, match="must be a Decimal, not float"):
        services.entry_post(
            effective_date=OCT1, memo="f", postings=[("1000", 1.5, D("1.5")), ("3000", -1.5, -1)]
        )
    from datetime import datetime

    with pytest.raises(InvalidEntry) as caught:
        services.entry_post(
            effective_date=datetime(2025, 10, 1, 12),
            memo="dt",
            postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))],
        )
    assert caught.value.field == "effective_date"
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db
def test_inactive_accounts_take_no_postings(chart):
    Account.objects.filter(code="1000").update(is_active=False)
    with pytest.raises(InvalidEntry, match="inactive"):
        services.entry_post(
            effective_date=OCT1, memo="x", postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))]
        )


@pytest.mark.django_db
def test_idempotent_replay_returns_the_same_entry_and_a_different_payload_is_refused(chart):
    first = mined(idempotency_key="f2pool:cango01:2025-10-01")
    again = mined(idempotency_key="f2pool:cango01:2025-10-01")
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1
    with pytest.raises(IdempotencyConflict, match="different content"):
        mined("0.6", idempotency_key="f2pool:cango01:2025-10-01")
    assert JournalEntry.objects.count() == 1
    assert selectors.account_balance(account="1300", as_of=OCT1).quantity == D("0.5")


@pytest.mark.django_db
def test_a_batch_is_all_or_nothing(chart):
    good = EntryInput(
        effective_date=OCT1,
        memo="day 1",
        postings=[
            PostingInput("1300", D("0.5"), D("50000")),
            PostingInput("4000", D(-50000), D(-50000)),
        ],
        idempotency_key="a",
    )
    bad = EntryInput(
        effective_date=OCT1,
        memo="day 2",
        postings=[PostingInput("1300", D("0.5"), D("50000")), PostingInput("4000", D(-5), D(-5))],
        idempotency_key="b",
    )
    with pytest.raises(InvalidEntry) as caught:
        services.entries_post(entries=[good, bad])
    assert caught.value.field == "entries[1].postings"
    assert JournalEntry.objects.count() == 0

    posted = services.entries_post(entries=[good, good])
    assert posted[0].pk == posted[1].pk and JournalEntry.objects.count() == 1
    replay = services.entries_post(entries=[good])
    assert replay[0].pk == posted[0].pk
    changed = EntryInput(
        effective_date=OCT1, memo="changed", postings=good.postings, idempotency_key="a"
    )
    with pytest.raises(IdempotencyConflict):
        services.entries_post(entries=[changed])
    with pytest.raises(IdempotencyConflict):
        services.entries_post(entries=[good, changed])
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_must_not_go_negative_account_never_does_at_any_date(chart):
    mined("1", "100000.00", effective_date=date(2025, 10, 10))
    # Spending on 10-05 would take the receivable below zero on 10-05..10-09.
    with pytest.raises(InsufficientBalance) as caught:
        services.entry_post(
            effective_date=date(2025, 10, 5),
            memo="early payout",
            postings=[("1300", D("-0.4"), D("-40000")), ("1210", D("0.4"), D("40000"))],
        )
    assert "1300" in caught.value.message and "2025-10-05" in caught.value.message
    services.entry_post(
        effective_date=date(2025, 10, 12),
        memo="payout",
        postings=[("1300", D("-1"), D("-100000")), ("1210", D("1"), D("100000"))],
    )
    # Back-dating more revenue is fine; back-dating a spend before the revenue is not.
    with pytest.raises(InsufficientBalance):
        services.entry_post(
            effective_date=date(2025, 10, 11),
            memo="another payout",
            postings=[("1210", D("-1.5"), D("-150000")), ("1220", D("1.5"), D("150000"))],
        )
    assert selectors.accounts_below_zero() == []
    assert JournalEntry.objects.count() == 2


@pytest.mark.django_db
def test_a_cancellation_mirrors_once(chart, staff_user, approver_user, second_approver):
    entry = mined(kind="general")  # an entry of no registered document: its own document
    requested, created = services.cancellation_request(
        entry=entry, reason="wrong pool", by=staff_user
    )
    assert created and requested.document == f"journal entry #{entry.sequence}"
    # Nothing moves until another person, a finance approver, approves.
    assert selectors.account_balance(account="1300", as_of=OCT1).quantity == D("0.5")
    done = services.cancellation_approve(cancellation=requested, by=approver_user)
    reversal = done.reversal
    assert reversal.reversal_of_id == entry.pk and reversal.kind == "reversal"
    assert (reversal.created_by, reversal.approved_by) == (staff_user, approver_user)
    assert reversal.effective_date == OCT1
    assert reversal.memo == (
        f"Cancellation of journal entry #{entry.sequence} (entry #{entry.sequence}): wrong pool"
    )
    assert sorted(reversal.postings.values_list("account__code", "quantity", "value")) == [
        ("1300", D("-0.5"), D("-50000.00")),
        ("4000", D("50000.00"), D("50000.00")),
    ]
    assert selectors.account_balance(account="1300", as_of=OCT1).quantity == 0
    with pytest.raises(Conflict, match="already cancelled") as caught:
        services.cancellation_request(entry=entry, reason="again", by=second_approver)
    assert caught.value.code == "already_cancelled"
    with pytest.raises(InvalidState, match="already approved"):
        services.cancellation_approve(cancellation=requested, by=second_approver)
    with pytest.raises(InvalidEntry, match="never undone"):
        services.cancellation_request(entry=reversal, reason="undo", by=staff_user)
    with pytest.raises(InvalidEntry, match="does not exist"):
        services.cancellation_request(entry=999999, reason="gone", by=staff_user)
    assert JournalEntry.objects.filter(reversal_of__isnull=False).count() == 1


@pytest.mark.django_db
def test_a_cancellation_needs_a_reason_a_date_not_before_the_entry_and_two_people(
    chart, staff_user, approver_user, auditor_user
):
    entry = mined()
    with pytest.raises(InvalidEntry, match="needs a reason") as caught:
        services.cancellation_request(entry=entry, reason="  ", by=staff_user)
    assert caught.value.field == "reason"
    with pytest.raises(InvalidEntry, match="on or after its entry's date") as caught:
        services.cancellation_request(
            entry=entry, reason="x", by=staff_user, effective_date=date(2025, 9, 30)
        )
    assert caught.value.field == "effective_date"
    with pytest.raises(Forbidden):
        services.cancellation_request(entry=entry, reason="x", by=auditor_user)
    requested, _ = services.cancellation_request(entry=entry, reason="x", by=approver_user)
    with pytest.raises(Forbidden, match="nobody approves their own"):
        services.cancellation_approve(cancellation=requested, by=approver_user)
    with pytest.raises(Forbidden, match="only a finance approver"):
        services.cancellation_approve(cancellation=requested, by=staff_user)
    assert not JournalEntry.objects.filter(reversal_of=entry).exists()


@pytest.mark.django_db
def test_closed_period_refuses_entries_and_reopening_needs_an_approver_and_a_reason(
    chart, staff_user, approver_user
):
    with pytest.raises(PeriodError, match="finance approver"):
        services.period_close(through=date(2025, 9, 30), by=staff_user)
    close = services.period_close(through=date(2025, 9, 30), by=approver_user)
    with pytest.raises(ClosedPeriod, match="closed through 2025-09-30") as caught:
        mined(effective_date=date(2025, 9, 30))
    assert caught.value.field == "effective_date"
    with pytest.raises(PeriodError, match="already closed"):
        services.period_close(through=date(2025, 9, 15), by=approver_user)
    services.period_close(through=date(2025, 10, 31), by=approver_user)
    with pytest.raises(PeriodError, match="later close through 2025-10-31"):
        services.period_reopen(through=date(2025, 9, 30), by=approver_user, reason="fix")
    with pytest.raises(PeriodError, match="reason"):
        services.period_reopen(through=date(2025, 10, 31), by=approver_user, reason=" ")
    services.period_reopen(through=date(2025, 10, 31), by=approver_user, reason="late invoice")
    mined(effective_date=date(2025, 10, 1))
    with pytest.raises(ClosedPeriod):
        mined(effective_date=date(2025, 9, 1))
    close.refresh_from_db()
    assert close.is_open


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("through", "problem"),
    [
        (date(1, 1, 1), "0001-01-01 is before 1900-01-01, the earliest date taken"),
        (date(1899, 12, 31), "1899-12-31 is before 1900-01-01, the earliest date taken"),
    ],
)
def test_a_period_is_closed_only_through_a_date_the_ledger_takes(
    chart, approver_user, through, problem
):
    """The report dates (ledger/dates.py), as the API's and the month-end close's."""
    with pytest.raises(PeriodError) as caught:
        services.period_close(through=through, by=approver_user)
    assert (caught.value.field, caught.value.message) == ("through", f"through {problem}")
    assert selectors.closed_through() is None
    services.period_close(through=date(1900, 1, 1), by=approver_user)
    assert selectors.closed_through() == date(1900, 1, 1)


@pytest.mark.django_db
def test_account_create_checks_the_tree(chart):
    with pytest.raises(InvalidAccount, match="must be a asset account in BTC"):
        services.account_create(
            code="1210-09", name="x", type="asset", commodity="USDT", parent="1210"
        )
    with pytest.raises(InvalidAccount, match="unknown commodity"):
        services.account_create(code="9", name="x", type="asset", commodity="DOGE")
    with pytest.raises(InvalidAccount, match="type must be one of"):
        services.account_create(code="9", name="x", type="revenue", commodity="USD")
    with pytest.raises(InvalidAccount, match="code"):
        services.account_create(code="1000", name="dup", type="asset", commodity="USD")
    assert not Account.objects.filter(code__in=["1210-09", "9"]).exists()


@pytest.mark.django_db
def test_chart_load_is_idempotent_and_refuses_a_disagreeing_chart(chart):
    assert (
        services.chart_load(
            rows=[
                {
                    "code": "1000",
                    "name": "Cash",
                    "type": "asset",
                    "commodity": "USD",
                    "parent": "",
                    "must_not_go_negative": "true",
                }
            ]
        )
        == []
    )
    with pytest.raises(InvalidAccount, match="line 2: account 1000 exists"):
        services.chart_load(
            rows=[
                {
                    "code": "1000",
                    "name": "Cash",
                    "type": "asset",
                    "commodity": "USDT",
                    "parent": "",
                    "must_not_go_negative": "true",
                }
            ]
        )


HEADER = "code,name,type,commodity,parent,must_not_go_negative\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (HEADER.encode() + b"9990,Caf\xe9,asset,USD,,false\n", "not UTF-8 text"),
        (HEADER.encode() + b"9990,Short\n", "line 2: missing column(s) type"),
        (HEADER.encode() + b"9990,Long,asset,USD,,false,extra\n", "line 2: more cells"),
        (HEADER.encode() + b"99\x0091,Nul,asset,USD,,false\n", "line 2, code: contains U+0000"),
        (HEADER.encode() + b'9990,"' + b"x" * 140_000 + b'"\n', "not readable CSV"),
    ],
)
def test_the_chart_command_refuses_a_bad_file_naming_where(chart, tmp_path, content, words):
    path = tmp_path / "chart.csv"
    path.write_bytes(content)
    before = Account.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("load_chart", str(path))
    assert words in str(refused.value)
    assert Account.objects.count() == before


@pytest.mark.django_db
def test_account_update_refuses_the_guard_on_an_account_already_below_zero(chart):
    services.entry_post(
        effective_date=OCT1,
        memo="equity drawn",
        postings=[("4100", D("-5"), D("-5")), ("5100", D("5"), D("5"))],
    )
    income = Account.objects.get(code="4100")
    with pytest.raises(InvalidAccount, match="below zero on 2025-10-01"):
        services.account_update(account=income, must_not_go_negative=True)
    assert not Account.objects.get(code="4100").must_not_go_negative
    expense = Account.objects.get(code="5100")
    services.account_update(account=expense, must_not_go_negative=True, name="Network fees (BTC)")
    expense.refresh_from_db()
    assert expense.must_not_go_negative and expense.name == "Network fees (BTC)"
    with pytest.raises(InvalidAccount, match="blank"):
        services.account_update(account=expense, name=" ")


@pytest.mark.django_db
def test_commodity_scale_is_fixed_once_held(chart):
    from ledger.errors import InvalidCommodity
    from ledger.models import Commodity

    btc = Commodity.objects.get(code="BTC")
    with pytest.raises(InvalidCommodity, match="scale is fixed"):
        services.commodity_update(commodity=btc, decimal_places=6)
    fil = services.commodity_create(
        code="FIL",
        name="Filecoin",
        decimal_places=18,
        kind="crypto",
        measurement_policy="fair_value",
    )
    services.commodity_update(commodity=fil, decimal_places=8)
    assert Commodity.objects.get(code="FIL").decimal_places == 8
    with pytest.raises(InvalidCommodity, match="already exists"):
        services.commodity_create(
            code="FIL", name="x", decimal_places=8, kind="crypto", measurement_policy="cost"
        )
    with pytest.raises(InvalidCommodity, match="decimal_places"):
        services.commodity_create(
            code="XYZ", name="x", decimal_places=19, kind="crypto", measurement_policy="cost"
        )


@pytest.mark.django_db
def test_values_moved_adds_up_each_group_in_each_span_from_the_roll_ups(chart):
    mined("0.5", "50000.00", effective_date=date(2025, 10, 1))
    mined("0.25", "26000.00", effective_date=date(2025, 10, 3))
    mined("0.125", "14000.00", effective_date=date(2025, 11, 2))
    receivable = Account.objects.get(code="1300").pk
    revenue = Account.objects.get(code="4000").pk
    spans = [
        (date(2025, 10, 1), date(2025, 10, 31)),
        (date(2025, 10, 2), date(2025, 11, 30)),  # overlaps the first
        (date(2025, 12, 1), date(2025, 12, 31)),  # nothing moved
    ]
    moved = selectors.values_moved(
        groups={"in": [receivable], "both": [receivable, revenue], "none": []}, spans=spans
    )
    assert moved == {
        "in": [D("76000.00"), D("40000.00"), D(0)],
        "both": [D(0), D(0), D(0)],
        "none": [D(0), D(0), D(0)],
    }
    # An account may be in several groups; each span is its own, whatever the others.
    assert selectors.values_moved(groups={"out": [revenue]}, spans=spans[1:2]) == {
        "out": [D("-40000.00")]
    }
    assert selectors.value_moved(account_ids=[receivable], start=OCT1, end=OCT1) == D("50000.00")


@pytest.mark.django_db
def test_a_balance_at_a_month_end_counts_that_day_and_not_the_next(chart):
    # At a month's last day the monthly roll-ups alone are read: the day itself included.
    mined("0.5", "50000.00", effective_date=date(2025, 12, 31))
    mined("0.25", "26000.00", effective_date=date(2026, 1, 1))
    mined("0.125", "14000.00", effective_date=date(2026, 1, 31))
    mined("0.0625", "7000.00", effective_date=date(2026, 2, 1))
    expected = {
        date(2025, 12, 30): D(0),
        date(2025, 12, 31): D("0.5"),
        date(2026, 1, 1): D("0.75"),
        date(2026, 1, 30): D("0.75"),
        date(2026, 1, 31): D("0.875"),
        date(2026, 2, 1): D("0.9375"),
        date(2026, 2, 28): D("0.9375"),
    }
    for as_of, quantity in expected.items():
        assert selectors.account_balance(account="1300", as_of=as_of).quantity == quantity, as_of
        rows = {row.code: row.quantity for row in selectors.trial_balance(as_of=as_of).rows}
        assert rows.get("1300", D(0)) == quantity, as_of  # a zero balance is left out
