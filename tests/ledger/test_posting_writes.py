"""Batches written with COPY (ledger.posting_writes): the entries, then their postings, in
two statements; PostgreSQL checks every rule as for one INSERT, and that every entry has its
postings at commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import posting_writes, selectors, services
from ledger.errors import InsufficientBalance
from ledger.models import JournalEntry, Posting
from ledger.posting import EntryInput
from ledger.posting_writes import COPY_MIN_ENTRIES
from tests.ledger.database.test_invariants import account_id, insert_entry_sql, run_sql

D = Decimal
DAY = date(2025, 10, 1)
LINES = [("1300", D("0.01"), D("1000.00")), ("4000", D("-1000"), D("-1000"))]


def earnings(count: int, *, keyed: bool = False, start: int = 0) -> list[EntryInput]:
    return [
        EntryInput(
            effective_date=DAY,
            memo=f"earning {n}",
            postings=LINES,
            idempotency_key=f"copy-test:{n}" if keyed else None,
            kind="mined",
        )
        for n in range(start, start + count)
    ]


@pytest.mark.django_db
def test_a_large_batch_is_posted_with_every_rule_and_sequence(chart):
    posted = services.entries_post(entries=earnings(COPY_MIN_ENTRIES + 6))
    assert len(posted) == COPY_MIN_ENTRIES + 6
    stored = {e.pk: e.sequence for e in JournalEntry.objects.all()}
    assert {e.pk: e.sequence for e in posted} == stored
    assert len(set(stored.values())) == len(stored) and None not in stored.values()
    assert Posting.objects.count() == 2 * len(posted)
    balance = selectors.account_balance(account="1300", as_of=DAY)
    assert balance.quantity == D("0.01") * len(posted)
    assert balance.value == D("1000.00") * len(posted)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, COPY_MIN_ENTRIES])
def test_the_entries_returned_are_the_rows_as_read_back(chart, count):
    posted = services.entries_post(entries=earnings(count, keyed=True))
    stored = {e.pk: e for e in JournalEntry.objects.all()}
    fields = [field.attname for field in JournalEntry._meta.concrete_fields]
    for entry in posted:
        read = stored[entry.pk]
        assert [getattr(entry, f) for f in fields] == [getattr(read, f) for f in fields]
        assert entry._state.adding is False and entry._state.db == "default"
        assert entry == read and entry.reversal_of is None


@pytest.mark.django_db
def test_a_batch_whose_ids_enclose_another_entry_gets_its_own_sequences(chart, monkeypatch):
    """Ids drawn by another writer between the batch's own (a busy sequence) lie inside the
    range the batch reads its sequences back from: each entry still gets its own."""
    write = posting_writes._copy
    others = []

    def with_another_entry_drawn_meanwhile(fresh, ids, *args):
        # Another entry takes the id after the batch's; the batch's last id, in the list it
        # pairs its entries with, is drawn after that one.
        others.append(services.entry_post(effective_date=DAY, memo="meanwhile", postings=LINES))
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id'))")
            (ids[-1],) = cursor.fetchone()
        return write(fresh, ids, *args)

    monkeypatch.setattr(posting_writes, "_copy", with_another_entry_drawn_meanwhile)
    posted = services.entries_post(entries=earnings(COPY_MIN_ENTRIES))
    (other,) = others
    ids = [e.pk for e in posted]
    assert min(ids) < other.pk < max(ids) and other.pk not in ids
    stored = {e.pk: e.sequence for e in JournalEntry.objects.all()}
    assert {e.pk: e.sequence for e in posted} == {pk: stored[pk] for pk in ids}
    assert len(stored) == COPY_MIN_ENTRIES + 1


@pytest.mark.django_db
def test_a_large_batch_replays_its_keys_and_posts_only_the_new_ones(chart):
    first = services.entries_post(entries=earnings(COPY_MIN_ENTRIES, keyed=True))
    again = services.entries_post(entries=earnings(COPY_MIN_ENTRIES + 10, keyed=True))
    assert [e.pk for e in again[:COPY_MIN_ENTRIES]] == [e.pk for e in first]
    assert JournalEntry.objects.count() == COPY_MIN_ENTRIES + 10
    assert Posting.objects.count() == 2 * (COPY_MIN_ENTRIES + 10)


@pytest.mark.django_db
def test_a_large_batch_that_breaks_a_rule_writes_nothing(chart):
    # 1000 (cash) must not go negative: the last entry of the batch overdraws it.
    batch = earnings(COPY_MIN_ENTRIES)
    batch.append(
        EntryInput(
            effective_date=DAY,
            memo="overdraft",
            postings=[("1000", D("-5"), D("-5")), ("5100", D("5"), D("5"))],
        )
    )
    with pytest.raises(InsufficientBalance):
        services.entries_post(entries=batch)
    assert not JournalEntry.objects.exists() and not Posting.objects.exists()


@pytest.mark.django_db
def test_raw_sql_may_write_postings_after_their_entry_in_the_same_transaction(chart):
    """The COPY path's shape in raw SQL: checked at commit, accepted with its postings..."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert_entry_sql())
        (entry,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, "
            "effective_date, quantity, value) VALUES "
            f"({entry}, {account_id('1000')}, 'USD', 2, '2025-10-02', 10, 10), "
            f"({entry}, {account_id('3000')}, 'USD', 2, '2025-10-02', -10, -10)"
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Posting.objects.filter(entry_id=entry).count() == 2


@pytest.mark.django_db
def test_an_entry_left_without_postings_among_others_is_refused_at_commit(chart):
    """...and refused when one of the entries never gets its postings."""
    sql = (
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status, "
        "payload_hash, created_at) SELECT '2025-10-02', 'raw', 'general', 'posted', '', now() "
        "FROM generate_series(1, 3) RETURNING id) SELECT array_agg(id ORDER BY id) FROM e"
    )
    with (
        pytest.raises(IntegrityError, match="ledger_entry_has_postings"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
        (ids,) = cursor.fetchone()
        for entry in ids[:2]:
            cursor.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, "
                "effective_date, quantity, value) VALUES "
                f"({entry}, {account_id('1000')}, 'USD', 2, '2025-10-02', 10, 10), "
                f"({entry}, {account_id('3000')}, 'USD', 2, '2025-10-02', -10, -10)"
            )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_the_pending_check_cannot_be_emptied_by_hand(chart):
    with pytest.raises(IntegrityError, match="ledger_entry_pending_check_kept"):
        run_sql(f"{insert_entry_sql()}; DELETE FROM ledger_entry_pending_check")


@pytest.mark.parametrize(
    "memo",
    ["plain", 'quote " and \\ backslash', "line\nbreak\ttab", "café ₿ \U0001d518 \u200d", ""],
)
def test_the_payload_hash_is_the_canonical_json_it_always_was(memo):
    import hashlib
    import json

    from ledger.posting import _AccountInfo, _payload_hash

    account = _AccountInfo(1, 'Ünïcode "code"', "BTC", 8, False, True)
    other = _AccountInfo(2, "4000", "USD", 2, False, True)
    entry = EntryInput(effective_date=DAY, memo=memo, postings=[], kind="mined")
    lines = [(other, D("-1000.10"), D("-1000.10")), (account, D("0.01000000"), D("1000.10"))]
    payload = {
        "effective_date": DAY.isoformat(),
        "memo": memo,
        "kind": "mined",
        "postings": sorted(
            [info.code, f"{q.normalize():f}", f"{v.normalize():f}"] for info, q, v in lines
        ),
    }
    expected = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    assert _payload_hash(entry, lines) == hashlib.sha256(expected).hexdigest()


@pytest.mark.django_db
def test_the_rollups_leave_room_for_their_rows_updates():
    """An update of a roll-up row stays on its page (no index written) when there is room."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class "
            "WHERE relname IN ('ledger_dailybalance', 'ledger_monthlybalance') ORDER BY relname"
        )
        rows = cursor.fetchall()
    assert rows == [
        ("ledger_dailybalance", ["fillfactor=70"]),
        ("ledger_monthlybalance", ["fillfactor=70"]),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_single_entry_statement_is_prepared_once_per_connection(chart):
    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE statement LIKE '%%INSERT INTO ledger_journalentry%%'"
            )
            return cursor.fetchone()[0]

    first, second = earnings(2)
    services.entry_post(
        effective_date=first.effective_date, memo=first.memo, postings=first.postings
    )
    assert prepared() == 1
    services.entry_post(
        effective_date=second.effective_date, memo=second.memo, postings=second.postings
    )
    assert prepared() == 1
    assert Posting.objects.count() == 4


@pytest.mark.django_db
def test_amounts_and_text_travel_exactly(chart):
    memo = 'quotes " and \\ backslash, {braces}, commas, ünïcode — and\na second line'
    (entry,) = services.entries_post(
        entries=[
            EntryInput(
                effective_date=DAY,
                memo=memo,
                postings=[
                    ("1300", D("0.00000001"), D("0.01")),
                    ("1300", D("12345678.12345678"), D("99999999999.99")),
                    ("4000", D("-99999999999.99"), D("-99999999999.99")),
                    ("4000", D("-0.01"), D("-0.01")),
                ],
                kind="mined",
            )
        ]
    )
    entry.refresh_from_db()
    assert entry.memo == memo
    stored = sorted((p.quantity, p.value) for p in Posting.objects.filter(entry=entry))
    assert stored == sorted(
        [
            (D("0.00000001"), D("0.01")),
            (D("12345678.12345678"), D("99999999999.99")),
            (D("-99999999999.99"), D("-99999999999.99")),
            (D("-0.01"), D("-0.01")),
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("entries", [1, 5])
def test_postings_take_their_ids_in_the_order_given(chart, entries):
    amounts = [D(n) for n in range(1, 21)]
    lines = [("4000", -a, -a) for a in amounts] + [("1000", a, a) for a in reversed(amounts)]
    posted = services.entries_post(
        entries=[
            EntryInput(effective_date=DAY, memo=f"entry {n}", postings=lines, kind="general")
            for n in range(entries)
        ]
    )
    for entry in posted:
        stored = Posting.objects.filter(entry=entry).order_by("id")
        assert [(p.account.code, p.quantity) for p in stored] == [(a, q) for a, q, _ in lines]
