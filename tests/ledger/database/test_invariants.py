"""Raw SQL cannot break the journal's rules: PostgreSQL itself refuses (SQLSTATE 23514)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services
from ledger.models import Account, JournalEntry, Posting
from tests.ledger.conftest import cancel_entry

D = Decimal


def run_sql(sql: str, params: list | None = None) -> None:
    """Run SQL and fire the checks deferred to commit, as a COMMIT would; the test's later
    writes are checked at its end again, as the next transaction's would be at its commit."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def refused(sql: str, params: list | None = None) -> str:
    """Run SQL that must fail; return the rule PostgreSQL named."""
    with pytest.raises(IntegrityError) as caught:
        run_sql(sql, params)
    return str(caught.value)


def account_id(code: str) -> int:
    return Account.objects.get(code=code).pk


@pytest.fixture
def posted(chart):
    """An entry posted by an earlier transaction (so the test must commit: transactional)."""
    return services.entry_post(
        effective_date=date(2025, 10, 1),
        memo="mined",
        postings=[("1300", D("0.5"), D("50000.00")), ("4000", D("-50000"), D("-50000"))],
    )


def insert_entry_sql(day: str = "2025-10-02") -> str:
    return (
        "INSERT INTO ledger_journalentry (effective_date, memo, kind, status, payload_hash, "
        f"created_at) VALUES ('{day}', 'raw', 'general', 'posted', '', now()) RETURNING id"
    )


def raw_entry(postings: list[tuple[str, str, str, int, str, str]], day: str = "2025-10-02") -> str:
    """SQL for one entry and its postings: (account code, commodity, scale, qty, value)."""
    rows = ", ".join(
        f"((SELECT id FROM e), {account_id(code)}, '{commodity}', {scale}, '{day}', {qty}, {value})"
        for code, commodity, _, scale, qty, value in postings
    )
    return (
        f"WITH e AS ({insert_entry_sql(day)}) INSERT INTO ledger_posting "
        "(entry_id, account_id, commodity_id, scale, effective_date, quantity, value) "
        f"VALUES {rows}"
    )


@pytest.mark.django_db
def test_a_balanced_raw_entry_is_accepted(chart):
    run_sql(
        raw_entry(
            [
                ("1000", "USD", "", 2, "10.00", "10.00"),
                ("3000", "USD", "", 2, "-10.00", "-10.00"),
            ]
        )
    )
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_an_unbalanced_entry_is_refused(chart):
    message = refused(
        raw_entry(
            [
                ("1000", "USD", "", 2, "10.00", "10.00"),
                ("3000", "USD", "", 2, "-9.99", "-9.99"),
            ]
        )
    )
    assert "ledger_entry_balanced" in message
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db
def test_an_entry_without_postings_is_refused(chart):
    assert "ledger_entry_has_postings" in refused(insert_entry_sql())


@pytest.mark.django_db
def test_a_transfer_must_conserve_quantity(chart):
    message = refused(
        raw_entry(
            [
                ("1210", "BTC", "", 8, "1.00000000", "90000.00"),
                ("1220", "BTC", "", 8, "-0.90000000", "-90000.00"),
            ]
        )
    )
    assert "ledger_transfer_conserves_quantity" in message


@pytest.mark.django_db
def test_a_usd_posting_needs_quantity_equal_to_value(chart):
    message = refused(
        raw_entry(
            [
                ("1000", "USD", "", 2, "10.00", "11.00"),
                ("3000", "USD", "", 2, "-11.00", "-11.00"),
            ]
        )
    )
    assert "ledger_posting_usd_quantity_is_value" in message


@pytest.mark.django_db
def test_a_quantity_finer_than_its_commodity_is_refused_not_rounded(chart):
    message = refused(
        raw_entry(
            [
                ("1300", "BTC", "", 8, "0.123456789", "100.00"),
                ("4000", "USD", "", 2, "-100.00", "-100.00"),
            ]
        )
    )
    assert "ledger_posting_quantity_scale" in message


@pytest.mark.django_db
def test_a_value_finer_than_a_cent_is_refused(chart):
    message = refused(
        raw_entry(
            [
                ("1300", "BTC", "", 8, "0.1", "100.001"),
                ("4000", "USD", "", 2, "-100.001", "-100.001"),
            ]
        )
    )
    assert "ledger_posting_value_scale" in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("quantity", "value"),
    [("1e20", "100.00"), ("-1e20", "-100.00"), ("0.1", "1e22"), ("-0.1", "-1e22")],
)
def test_amounts_beyond_the_columns_sizes_are_refused(chart, quantity, value):
    for code in ("9901", "9902"):
        services.account_create(code=code, name=code, type="asset", commodity="BTC")

    def transfer(quantity: str, value: str) -> str:
        # Between two BTC accounts, balanced and conserving: only the bound can refuse it.
        return raw_entry(
            [
                ("9901", "BTC", "", 8, quantity, value),
                ("9902", "BTC", "", 8, f"-({quantity})", f"-({value})"),
            ]
        )

    assert "ledger_posting_amounts_fit" in refused(transfer(quantity, value))
    run_sql(transfer("99999999999999999999.99999999", "9999999999999999999999.99"))
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_posting_cannot_claim_another_commodity_or_scale(chart):
    message = refused(
        raw_entry(
            [
                ("1300", "USDT", "", 6, "0.1", "100.00"),
                ("4000", "USD", "", 2, "-100.00", "-100.00"),
            ]
        )
    )
    assert "ledger_posting_account_commodity" in message
    message = refused(
        raw_entry(
            [
                ("1300", "BTC", "", 18, "0.123456789", "100.00"),
                ("4000", "USD", "", 2, "-100.00", "-100.00"),
            ]
        )
    )
    assert "ledger_posting_commodity_scale" in message


@pytest.mark.django_db
def test_a_posting_is_dated_as_its_entry(chart):
    sql = raw_entry(
        [("1000", "USD", "", 2, "10.00", "10.00"), ("3000", "USD", "", 2, "-10.00", "-10.00")]
    ).replace("'2025-10-02', -10.00", "'2025-10-03', -10.00")
    assert "ledger_posting_entry_date" in refused(sql)


@pytest.mark.django_db(transaction=True)
def test_posted_postings_cannot_be_updated_or_deleted(posted):
    assert "ledger_posting_immutable" in refused("UPDATE ledger_posting SET value = value * 2")
    assert "ledger_posting_immutable" in refused("DELETE FROM ledger_posting")
    assert "ledger_posting_immutable" in refused("TRUNCATE ledger_posting CASCADE")
    assert Posting.objects.filter(entry=posted).count() == 2


@pytest.mark.django_db(transaction=True)
def test_posted_entries_cannot_be_updated_or_deleted(posted):
    assert "ledger_entry_immutable" in refused("UPDATE ledger_journalentry SET memo = 'edited'")
    assert "ledger_entry_immutable" in refused(
        "UPDATE ledger_journalentry SET effective_date = '2025-10-05'"
    )
    assert "ledger_entry_immutable" in refused("DELETE FROM ledger_journalentry")
    assert "ledger_entry_immutable" in refused("TRUNCATE ledger_journalentry CASCADE")


@pytest.mark.django_db(transaction=True)
def test_an_entry_is_written_posted_and_no_status_lets_it_change(posted):
    """A 'draft' written by raw SQL counted in every balance while its date, kind and sequence
    could still be changed, and it could be set to posted after."""
    draft = raw_entry(
        [("1000", "USD", "", 2, "5", "5"), ("3000", "USD", "", 2, "-5", "-5")]
    ).replace("'general', 'posted'", "'general', 'draft'")
    assert "ledger_entry_status_posted" in refused(draft)
    assert "ledger_entry_immutable" in refused("UPDATE ledger_journalentry SET status = 'draft'")
    assert JournalEntry.objects.count() == 1
    assert list(JournalEntry.objects.values_list("status", flat=True)) == ["posted"]


@pytest.mark.django_db(transaction=True)
def test_nothing_can_be_added_to_an_entry_posted_earlier(posted):
    # A balanced pair added later would keep the sums at zero but alter a posted entry.
    sql = (
        "INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, effective_date, "
        f"quantity, value) VALUES ({posted.pk}, {account_id('1000')}, 'USD', 2, '2025-10-01', 5, 5)"
        ","
        f" ({posted.pk}, {account_id('3000')}, 'USD', 2, '2025-10-01', -5, -5)"
    )
    assert "ledger_posting_same_transaction" in refused(sql)


@pytest.mark.django_db(transaction=True)
def test_the_roll_ups_cannot_be_written_directly(posted):
    assert "ledger_rollup_maintained_by_postings" in refused(
        "UPDATE ledger_dailybalance SET quantity = 0"
    )
    assert "ledger_rollup_maintained_by_postings" in refused("DELETE FROM ledger_monthlybalance")
    assert "ledger_rollup_maintained_by_postings" in refused(
        f"INSERT INTO ledger_dailybalance (account_id, day, quantity, value, postings) "
        f"VALUES ({account_id('1000')}, '2020-01-01', 1, 1, 1)"
    )


@pytest.mark.django_db
def test_an_entry_in_a_closed_period_is_refused(chart, approver_user):
    services.period_close(through=date(2025, 9, 30), by=approver_user)
    message = refused(
        raw_entry(
            [
                ("1000", "USD", "", 2, "10.00", "10.00"),
                ("3000", "USD", "", 2, "-10.00", "-10.00"),
            ],
            day="2025-09-30",
        )
    )
    assert "ledger_entry_period_open" in message
    # The day after the close is open.
    run_sql(
        raw_entry(
            [
                ("1000", "USD", "", 2, "10.00", "10.00"),
                ("3000", "USD", "", 2, "-10.00", "-10.00"),
            ],
            day="2025-10-01",
        )
    )


@pytest.mark.django_db
def test_period_closes_are_kept(chart, approver_user):
    services.period_close(through=date(2025, 9, 30), by=approver_user)
    assert "ledger_period_close_kept" in refused("DELETE FROM ledger_periodclose")
    assert "ledger_period_close_kept" in refused(
        "UPDATE ledger_periodclose SET through = '2025-01-31'"
    )


def raw_reversal(
    original: JournalEntry, postings: list[tuple[str, str, str, int, str, str]]
) -> str:
    """SQL for an entry and its postings that says it reverses `original`."""
    return (
        raw_entry(postings)
        .replace(
            "(effective_date, memo, kind, status, payload_hash, created_at)",
            "(effective_date, memo, kind, status, payload_hash, created_at, reversal_of_id)",
        )
        .replace("now()) RETURNING", f"now(), {original.pk}) RETURNING")
    )


MIRROR = [("1300", "BTC", "", 8, "-0.5", "-50000.00"), ("4000", "USD", "", 2, "50000", "50000")]


@pytest.mark.django_db(transaction=True)
def test_a_reversal_no_approved_cancellation_names_is_refused(posted, staff_user):
    # Even an exact mirror: an entry is undone only by cancelling its document.
    assert "ledger_reversal_by_cancellation" in refused(raw_reversal(posted, MIRROR))
    # A cancellation only asked for (not approved) does not let it in either.
    services.cancellation_request(entry=posted, reason="wrong pool", by=staff_user)
    assert "ledger_reversal_by_cancellation" in refused(raw_reversal(posted, MIRROR))
    assert not JournalEntry.objects.filter(reversal_of=posted).exists()


@pytest.mark.django_db(transaction=True)
def test_a_reversal_must_mirror_its_original(posted, staff_user, approver_user):
    """Written the way an approval writes it (the reversal, and its cancellation approved
    naming it, in one transaction), but not the original's mirror."""
    requested, _ = services.cancellation_request(entry=posted, reason="wrong pool", by=staff_user)
    wrong = [("1300", "BTC", "", 8, "-0.4", "-50000.00"), ("4000", "USD", "", 2, "50000", "50000")]
    approve = (
        "UPDATE ledger_cancellation SET status = 'approved', decided_by_id = %s, "
        "decided_at = now(), reversal_id = (SELECT id FROM ledger_journalentry "
        f"WHERE reversal_of_id = {posted.pk}) WHERE id = {requested.pk}"
    )
    sql = f"{raw_reversal(posted, wrong)}; {approve}"
    assert "ledger_reversal_mirrors_original" in refused(sql, [approver_user.pk])
    assert not JournalEntry.objects.filter(reversal_of=posted).exists()


@pytest.mark.django_db(transaction=True)
def test_an_entry_is_reversed_at_most_once_and_a_reversal_never(posted, staff_user, approver_user):
    reversal = cancel_entry(posted, maker=staff_user, approver=approver_user).reversal
    assert "reversal_of_id" in refused(raw_reversal(posted, MIRROR))
    undo = [("1300", "BTC", "", 8, "0.5", "50000.00"), ("4000", "USD", "", 2, "-50000", "-50000")]
    assert "ledger_reversal_not_reversed" in refused(raw_reversal(reversal, undo))
    assert JournalEntry.objects.filter(reversal_of__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_idempotency_keys_are_unique(posted):
    services.entry_post(
        effective_date=date(2025, 10, 2),
        memo="keyed",
        postings=[("1000", D("1"), D("1")), ("3000", D("-1"), D("-1"))],
        idempotency_key="pool:f2pool:2025-10-02",
    )
    sql = (
        raw_entry([("1000", "USD", "", 2, "1", "1"), ("3000", "USD", "", 2, "-1", "-1")])
        .replace(
            "(effective_date, memo, kind, status, payload_hash, created_at)",
            "(effective_date, memo, kind, status, payload_hash, created_at, idempotency_key)",
        )
        .replace("now()) RETURNING", "now(), 'pool:f2pool:2025-10-02') RETURNING")
    )
    assert "idempotency_key" in refused(sql)


@pytest.mark.django_db
def test_account_children_share_commodity_and_type_and_the_tree_has_no_cycle(chart):
    parent = account_id("1210")
    assert "ledger_account_parent_same_kind" in refused(
        "INSERT INTO ledger_account (code, name, type, commodity_id, parent_id, "
        "must_not_go_negative, is_active, created_at) "
        f"VALUES ('1210-X', 'x', 'asset', 'USDT', {parent}, false, true, now())"
    )
    run_sql(
        "INSERT INTO ledger_account (code, name, type, commodity_id, parent_id, "
        "must_not_go_negative, is_active, created_at) "
        f"VALUES ('1210-01', 'Vault', 'asset', 'BTC', {parent}, true, true, now())"
    )
    child = account_id("1210-01")
    assert "ledger_account_tree_acyclic" in refused(
        f"UPDATE ledger_account SET parent_id = {child} WHERE id = {parent}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_used_commodity_keeps_its_scale_and_a_used_account_its_commodity(posted):
    assert "ledger_account_in_use" in refused(
        "UPDATE ledger_account SET commodity_id = 'USDT' WHERE code = '1300'"
    )
    assert "ledger_account_in_use" in refused("DELETE FROM ledger_account WHERE code = '1300'")
    assert "ledger_commodity_in_use" in refused(
        "UPDATE ledger_commodity SET decimal_places = 6 WHERE code = 'BTC'"
    )


@pytest.mark.django_db
def test_raw_sql_cannot_take_a_guarded_account_below_zero(chart):
    run_sql(
        raw_entry(
            [("1000", "USD", "", 2, "10.00", "10.00"), ("3000", "USD", "", 2, "-10.00", "-10.00")]
        )
    )
    message = refused(
        raw_entry(
            [("1000", "USD", "", 2, "-10.01", "-10.01"), ("5100", "USD", "", 2, "10.01", "10.01")]
        )
    )
    assert "ledger_account_not_negative" in message and "account 1000" in message
    # Back-dated before the deposit is refused too: the balance would dip on that day.
    message = refused(
        raw_entry(
            [("1000", "USD", "", 2, "-5", "-5"), ("5100", "USD", "", 2, "5", "5")],
            day="2025-10-01",
        )
    )
    assert "ledger_account_not_negative" in message and "2025-10-01" in message


@pytest.mark.django_db
def test_an_entry_is_written_with_its_postings(chart):
    """Postings in a later statement than their entry: the entry alone is refused."""
    assert "ledger_entry_has_postings" in refused(insert_entry_sql())
