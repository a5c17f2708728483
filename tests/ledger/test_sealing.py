"""The sealed journal: entries sealed into a hash chain in sequence order, and verified.

Tampering is done the way a database superuser could: with the triggers off
(`session_replication_role = replica`, which also stops foreign key checks) or with a
constraint dropped, inside the test's transaction, so it is rolled back afterwards.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from ledger import sealing, selectors, services
from ledger.errors import IdempotencyConflict, InsufficientBalance, LedgerError
from ledger.models import JournalEntry, JournalSeal, Posting
from ledger.posting import EntryInput
from ledger.sealing import GENESIS_HASH
from ledger.tasks import seal_journal, verify_journal
from tests.conftest import ROLE_USERS
from tests.ledger.conftest import cancel_entry

D = Decimal
DAY = date(2025, 10, 1)
# Postings in flight at once are dated in other months: their roll-up rows differ, so neither
# waits for the other.
NOVEMBER, DECEMBER = date(2025, 11, 1), date(2025, 12, 1)
API = "/api/v1"


def earning(n: int, day: date = DAY) -> JournalEntry:
    return services.entry_post(
        effective_date=day,
        memo=f"F2Pool cango01 earning {n}",
        postings=[("1300", D("0.51714") + n, D("51714.00")), ("4000", D(-51714), D(-51714))],
        idempotency_key=f"f2pool:cango01:{n}",
    )


def post_entries(count: int) -> list[JournalEntry]:
    return [earning(n) for n in range(count)]


@contextmanager
def past_the_triggers() -> Iterator[Any]:
    """A superuser's session with every trigger off (foreign keys included)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def sealed_sequences() -> list[int]:
    return list(JournalSeal.objects.order_by("sequence").values_list("sequence", flat=True))


def broken_at(sequence: int | None, reason: str) -> selectors.JournalBreak:
    report = selectors.journal_verify()
    assert not report.ok, report
    found = report.first_break
    assert found is not None
    assert (found.sequence, found.reason) == (sequence, reason), found
    return found


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "sqlstate", None)


# --- canonical content -------------------------------------------------------------------


ENTRY_ROW = (
    7,
    3,
    date(2025, 10, 1),
    "manual",
    "Bought 1.5 BTC \u2014 desk",
    "posted",
    None,
    "",
    None,
    11,
    12,
    datetime(2025, 10, 1, 12, 30, 5, 120000, tzinfo=UTC),
)
POSTING_ROWS = [
    (21, 4, "1000", "USD", 2, D("-142500"), D("-142500.00"), date(2025, 10, 1)),
    (20, 3, "1210", "BTC", 8, D("1.5"), D("142500"), date(2025, 10, 1)),
]


def test_canonical_content_is_exact_compact_json():
    header, lines = sealing.canonical_content(ENTRY_ROW, POSTING_ROWS)
    assert (
        header
        == (
            '{"approved_by":12,"created_at":"2025-10-01T12:30:05.120000Z","created_by":11,'
            '"effective_date":"2025-10-01","id":7,"idempotency_key":null,"kind":"manual",'
            '"memo":"Bought 1.5 BTC \u2014 desk","payload_hash":"","reversal_of":null,'
            '"sequence":3,"status":"posted"}'
        ).encode()
    )
    # Postings in id order, amounts at their scale whatever digits the row carries.
    assert lines == (
        b'[{"account":3,"account_code":"1210","commodity":"BTC","effective_date":"2025-10-01",'
        b'"id":20,"quantity":"1.50000000","value":"142500.00"},'
        b'{"account":4,"account_code":"1000","commodity":"USD","effective_date":"2025-10-01",'
        b'"id":21,"quantity":"-142500.00","value":"-142500.00"}]'
    )


def test_digests_do_not_depend_on_how_a_decimal_is_written():
    written_otherwise = [
        (20, 3, "1210", "BTC", 8, D("1.500000000000"), D("142500.0"), date(2025, 10, 1)),
        (21, 4, "1000", "USD", 2, D("-142500.00"), D("-1.425E+5"), date(2025, 10, 1)),
    ]
    assert sealing.entry_digest(ENTRY_ROW, POSTING_ROWS) == sealing.entry_digest(
        ENTRY_ROW, written_otherwise
    )
    one_satoshi_more = [(20, 3, "1210", "BTC", 8, D("1.50000001"), D("142500"), DAY)]
    assert (
        sealing.entry_digest(ENTRY_ROW, one_satoshi_more).postings_hash
        != sealing.entry_digest(ENTRY_ROW, POSTING_ROWS[1:]).postings_hash
    )


def test_the_hashes_are_sha256_of_the_documented_strings():
    digest = sealing.entry_digest(ENTRY_ROW, POSTING_ROWS)
    header, lines = sealing.canonical_content(ENTRY_ROW, POSTING_ROWS)
    assert digest.header_hash == hashlib.sha256(header).hexdigest()
    assert digest.postings_hash == hashlib.sha256(lines).hexdigest()
    text = f"3:7:{digest.header_hash}:{digest.postings_hash}:2"
    assert digest.content_hash == hashlib.sha256(text.encode()).hexdigest()
    link = sealing.link_hash(previous_hash=GENESIS_HASH, content_hash=digest.content_hash)
    assert link == hashlib.sha256(f"{GENESIS_HASH}:{digest.content_hash}".encode()).hexdigest()


# --- sealing -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_entry_is_sealed_once_in_sequence_order(chart, staff_user, approver_user):
    entries = post_entries(3)
    # Numbers burnt for good: an idempotent replay and a refused posting take one each.
    earning(1)
    with pytest.raises(InsufficientBalance):
        services.entry_post(
            effective_date=DAY,
            memo="too much",
            postings=[("1300", D(-100), D(-100)), ("1210", D(100), D(100))],
        )
    entries += services.entries_post(
        entries=[
            EntryInput(
                effective_date=DAY,
                memo=f"batch {n}",
                postings=[("1000", D(n + 1), D(n + 1)), ("3000", D(-n - 1), D(-n - 1))],
            )
            for n in range(3)
        ]
    )
    # A cancellation's reversal, asked for by one person and approved by another.
    entries.append(cancel_entry(entries[0], maker=staff_user, approver=approver_user).reversal)

    result = services.journal_seal()
    sequences = [entry.sequence for entry in entries]
    assert sequences != list(range(sequences[0], sequences[0] + len(sequences)))  # gaps
    assert (result.sealed, result.first_sequence, result.last_sequence) == (
        7,
        sequences[0],
        sequences[-1],
    )
    assert result.sealed_through == sequences[-1] and not result.deferred
    seals = list(JournalSeal.objects.order_by("sequence"))
    assert [seal.sequence for seal in seals] == sequences
    assert [seal.entry_id for seal in seals] == [entry.pk for entry in entries]
    previous = GENESIS_HASH
    for seal in seals:
        assert seal.previous_hash == previous
        assert seal.entry_hash == sealing.link_hash(
            previous_hash=previous, content_hash=seal.content_hash
        )
        assert seal.postings == 2
        previous = seal.entry_hash
    assert result.head_hash == previous

    again = services.journal_seal()
    assert (again.sealed, again.sealed_through, again.head_hash) == (0, sequences[-1], previous)
    assert JournalSeal.objects.count() == 7

    later = earning(10)
    more = services.journal_seal()
    assert (more.sealed, more.first_sequence) == (1, later.sequence)
    assert JournalSeal.objects.get(sequence=later.sequence).previous_hash == previous


@pytest.mark.django_db
def test_a_limit_seals_the_first_entries_only(chart):
    entries = post_entries(5)
    first = services.journal_seal(limit=2)
    assert (first.sealed, first.last_sequence) == (2, entries[1].sequence)
    rest = services.journal_seal()
    assert (rest.sealed, rest.first_sequence) == (3, entries[2].sequence)
    assert sealed_sequences() == [entry.sequence for entry in entries]
    with pytest.raises(LedgerError, match="limit"):
        services.journal_seal(limit=0)


@pytest.mark.django_db
def test_sealing_and_verifying_take_a_few_queries_per_batch(chart, monkeypatch):
    post_entries(12)
    monkeypatch.setattr(sealing, "BATCH", 5)
    with CaptureQueriesContext(connection) as sealing_queries:
        assert services.journal_seal().sealed == 12
    # 3 batches of entries and postings, 3 inserts, and the horizon, lock and head.
    assert len(sealing_queries) <= 3 * 3 + 6, [q["sql"] for q in sealing_queries]
    with CaptureQueriesContext(connection) as verifying_queries:
        report = selectors.journal_verify()
    assert report.ok and report.entries_checked == 12
    assert len(verifying_queries) <= 3 * 3 + 6, [q["sql"] for q in verifying_queries]


@pytest.mark.django_db
def test_fifteen_thousand_entries_are_sealed_and_verified_in_seconds(chart):
    for chunk in range(15):
        services.entries_post(
            entries=[
                EntryInput(
                    effective_date=DAY + timedelta(days=n % 200),
                    memo=f"earning {chunk}-{n}",
                    postings=[
                        ("1300", D("0.00012345") + n, D("12.34")),
                        ("4000", D("-12.34"), D("-12.34")),
                    ],
                )
                for n in range(1000)
            ]
        )
    started = time.monotonic()
    assert services.journal_seal().sealed == 15000
    sealed_in = time.monotonic() - started
    started = time.monotonic()
    report = selectors.journal_verify()
    verified_in = time.monotonic() - started
    assert report.ok and report.entries_checked == 15000
    # About 2 and 1.5 s here; generous for a busy machine.
    assert sealed_in < 30 and verified_in < 30, (sealed_in, verified_in)


# --- verification of a sound chain -------------------------------------------------------


@pytest.mark.django_db
def test_a_clean_chain_verifies(chart):
    empty = selectors.journal_verify()
    assert empty.ok and empty.entries_checked == 0 and empty.sealed_through is None
    assert empty.head_hash == GENESIS_HASH and empty.unsealed_entries == 0

    entries = post_entries(4)
    unsealed = selectors.journal_verify()
    assert unsealed.ok and unsealed.unsealed_entries == 4 and unsealed.sealed_through is None

    result = services.journal_seal()
    earning(20)  # after the last seal: waits for the next run, not a break
    report = selectors.journal_verify()
    assert report.ok and report.first_break is None
    assert report.entries_checked == 4
    assert report.sealed_through == entries[-1].sequence
    assert report.head_hash == result.head_hash
    assert report.unsealed_entries == 1


# --- tampering, each detected at the first break ------------------------------------------


@pytest.fixture
def sealed(chart) -> list[JournalEntry]:
    """Five entries (sequences n..n+4), all sealed."""
    entries = post_entries(5)
    services.journal_seal()
    assert selectors.journal_verify().ok
    return entries


def btc_posting(entry: JournalEntry) -> Posting:
    return entry.postings.get(commodity="BTC")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        "quantity = quantity + 0.00000001",
        "value = value + 0.01",
        "effective_date = effective_date + 1",
        "account_id = (SELECT id FROM ledger_account WHERE code = '1220')",
    ],
)
def test_a_posting_altered_is_found(sealed, change):
    victim = sealed[2]
    with past_the_triggers() as cursor:
        cursor.execute(
            f"UPDATE ledger_posting SET {change} WHERE id = %s", [btc_posting(victim).pk]
        )
    found = broken_at(victim.sequence, "posting_altered")
    assert found.entry_id == victim.pk
    assert f"entry {victim.pk} at sequence {victim.sequence}" in found.detail


@pytest.mark.django_db
def test_a_posting_deleted_is_found(sealed):
    victim = sealed[1]
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE id = %s", [btc_posting(victim).pk])
    found = broken_at(victim.sequence, "posting_removed")
    assert "has 1 posting(s), 2 sealed" in found.detail


@pytest.mark.django_db
def test_a_posting_added_is_found(sealed):
    victim = sealed[3]
    with past_the_triggers() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, "
            "effective_date, quantity, value) SELECT entry_id, account_id, commodity_id, scale, "
            "effective_date, 1, 1 FROM ledger_posting WHERE id = %s",
            [btc_posting(victim).pk],
        )
    broken_at(victim.sequence, "posting_added")


@pytest.mark.django_db
def test_an_entry_deleted_with_its_postings_is_found(sealed):
    victim = sealed[2]
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [victim.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [victim.pk])
    found = broken_at(victim.sequence, "entry_missing")
    assert found.entry_id == victim.pk
    assert f"entry {victim.pk}, sealed at sequence {victim.sequence}, is gone" in found.detail


@pytest.mark.django_db
def test_an_entry_altered_is_found(sealed):
    victim = sealed[4]
    with past_the_triggers() as cursor:
        cursor.execute(
            "UPDATE ledger_journalentry SET memo = 'nothing to see' WHERE id = %s", [victim.pk]
        )
    found = broken_at(victim.sequence, "entry_altered")
    assert "own fields" in found.detail


@pytest.mark.django_db
def test_two_entries_with_their_sequences_swapped_are_found(sealed):
    first, second = sealed[1], sealed[3]
    with past_the_triggers() as cursor:
        # One at a time: the sequence is unique.
        cursor.execute("UPDATE ledger_journalentry SET sequence = -1 WHERE id = %s", [first.pk])
        cursor.execute(
            "UPDATE ledger_journalentry SET sequence = %s WHERE id = %s",
            [first.sequence, second.pk],
        )
        cursor.execute(
            "UPDATE ledger_journalentry SET sequence = %s WHERE id = %s",
            [second.sequence, first.pk],
        )
    found = broken_at(first.sequence, "sequence_reordered")
    assert found.entry_id == first.pk
    assert f"is now at sequence {second.sequence}" in found.detail
    assert f"now holds entry {second.pk}" in found.detail


@pytest.mark.django_db
def test_a_seal_altered_is_found(sealed):
    victim = sealed[2]
    with connection.cursor() as cursor:
        # A superuser can drop the checks that recompute a seal's hashes.
        cursor.execute(
            "ALTER TABLE ledger_journalseal DROP CONSTRAINT ledger_seal_content_hash, "
            "DROP CONSTRAINT ledger_seal_entry_hash"
        )
    with past_the_triggers() as cursor:
        cursor.execute(
            "UPDATE ledger_journalseal SET header_hash = repeat('a', 64) WHERE sequence = %s",
            [victim.sequence],
        )
    found = broken_at(victim.sequence, "seal_altered")
    assert found.entry_id == victim.pk


@pytest.mark.django_db
def test_an_entry_and_its_seal_rewritten_together_break_the_chain_at_the_next_seal(sealed):
    victim, after = sealed[1], sealed[2]
    with past_the_triggers() as cursor:
        cursor.execute(
            "UPDATE ledger_journalentry SET memo = 'rewritten' WHERE id = %s", [victim.pk]
        )
        ((digest,),) = sealing.entry_digests(after=victim.sequence - 1, through=victim.sequence)
        seal = JournalSeal.objects.get(sequence=victim.sequence)
        cursor.execute(
            "UPDATE ledger_journalseal SET header_hash = %s, content_hash = %s, entry_hash = %s "
            "WHERE sequence = %s",
            [
                digest.header_hash,
                digest.content_hash,
                sealing.link_hash(
                    previous_hash=seal.previous_hash, content_hash=digest.content_hash
                ),
                victim.sequence,
            ],
        )
    found = broken_at(after.sequence, "chain_broken")
    assert found.entry_id == after.pk


@pytest.mark.django_db
def test_an_entry_without_a_seal_inside_the_sealed_range_is_found(sealed):
    victim = sealed[1]
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_journalseal WHERE sequence = %s", [victim.sequence])
    found = broken_at(victim.sequence, "entry_unsealed")
    assert found.entry_id == victim.pk


@pytest.mark.django_db
def test_an_entry_slipped_into_a_burnt_number_is_found(sealed):
    earning(0)  # a replay burns the next number
    later = earning(30)
    services.journal_seal()
    burnt = later.sequence - 1
    with past_the_triggers() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (sequence, effective_date, memo, kind, status, "
            "payload_hash, created_at) VALUES (%s, %s, 'slipped in', 'general', 'posted', '', "
            "now()) RETURNING id",
            [burnt, DAY],
        )
        (slipped,) = cursor.fetchone()
    found = broken_at(burnt, "entry_unsealed")
    assert found.entry_id == slipped


@pytest.mark.django_db
def test_the_first_break_is_named_when_there_are_several(sealed):
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE id = %s", [btc_posting(sealed[3]).pk])
        cursor.execute("UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s", [sealed[1].pk])
    broken_at(sealed[1].sequence, "entry_altered")


@pytest.mark.django_db
def test_a_chain_cut_short_is_found_against_a_head_recorded_earlier(sealed):
    head = selectors.journal_verify()
    last = sealed[-1]
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_journalseal WHERE sequence = %s", [last.sequence])
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [last.pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [last.pk])
    assert selectors.journal_verify().ok  # the tail is gone without a trace in the chain
    report = selectors.journal_verify(recorded_head=(last.sequence, head.head_hash))
    assert report.first_break is not None
    assert (report.first_break.sequence, report.first_break.reason) == (
        last.sequence,
        "head_differs",
    )
    earlier = JournalSeal.objects.get(sequence=sealed[2].sequence)
    assert selectors.journal_verify(recorded_head=(earlier.sequence, earlier.entry_hash)).ok


# --- the database's own rules for seals --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_journalseal SET sealed_at = now()",
        "DELETE FROM ledger_journalseal",
        "TRUNCATE ledger_journalseal",
    ],
)
def test_seals_refuse_update_delete_and_truncate(sealed, sql):
    with (
        pytest.raises(IntegrityError, match="ledger_seal_immutable") as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert sqlstate(caught.value) == "23514"
    assert JournalSeal.objects.count() == 5


def raw_seal(
    *, sequence: int, entry_id: int, previous_hash: str, entry_hash: str | None = None
) -> None:
    header, postings = "1" * 64, "2" * 64
    content = sealing.content_hash(
        sequence=sequence,
        entry_id=entry_id,
        header_hash=header,
        postings_hash=postings,
        postings=2,
    )
    if entry_hash is None:
        entry_hash = sealing.link_hash(previous_hash=previous_hash, content_hash=content)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalseal (sequence, entry_id, previous_hash, header_hash, "
            "postings_hash, postings, content_hash, entry_hash) VALUES "
            "(%s, %s, %s, %s, %s, 2, %s, %s)",
            [sequence, entry_id, previous_hash, header, postings, content, entry_hash],
        )


@pytest.mark.django_db
def test_the_database_keeps_seals_in_order(chart):
    first, second, third = post_entries(3)
    cases = [
        # Skips the first entry.
        ({"sequence": second.sequence, "entry_id": second.pk}, "ledger_seal_in_sequence"),
        # Names another entry than the one at its sequence.
        ({"sequence": first.sequence, "entry_id": second.pk}, "ledger_seal_names_entry"),
        # Does not start from the genesis value.
        (
            {"sequence": first.sequence, "entry_id": first.pk, "previous_hash": "f" * 64},
            "ledger_seal_follows_previous",
        ),
        # A hash that is not the hash of its previous hash and content hash.
        (
            {"sequence": first.sequence, "entry_id": first.pk, "entry_hash": "e" * 64},
            "ledger_seal_entry_hash",
        ),
    ]
    for columns, rule in cases:
        with pytest.raises(IntegrityError, match=rule) as caught:
            raw_seal(**{"previous_hash": GENESIS_HASH, **columns})
        assert sqlstate(caught.value) == "23514"
    services.journal_seal(limit=1)
    head = JournalSeal.objects.get()
    # Follows the head but names the third entry, skipping the second.
    with pytest.raises(IntegrityError, match="ledger_seal_in_sequence"):
        raw_seal(sequence=third.sequence, entry_id=third.pk, previous_hash=head.entry_hash)
    # A second seal after the same one: the chain does not fork.
    with pytest.raises(IntegrityError, match="ledger_seal_one_successor"):
        raw_seal(sequence=second.sequence, entry_id=second.pk, previous_hash=GENESIS_HASH)
    services.journal_seal()
    assert sealed_sequences() == [first.sequence, second.sequence, third.sequence]


# --- concurrency -------------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_sealers_running_at_once_seal_each_entry_once(chart):
    entries = post_entries(30)
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def seal(i: int) -> None:
        try:
            barrier.wait()
            results[i] = services.journal_seal(limit=10 if i % 2 else None)
        except Exception as exc:  # asserted on below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=seal, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, sealing.SealResult) for r in results), results
    assert sum(r.sealed for r in results) == 30
    assert sealed_sequences() == [entry.sequence for entry in entries]
    assert selectors.journal_verify().ok


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_an_entry_still_in_flight_is_waited_for_not_skipped(chart):
    earning(0)
    in_flight = threading.Event()
    release = threading.Event()
    posted: dict[str, int] = {}

    def slow_posting() -> None:
        try:
            with transaction.atomic():
                posted["early"] = earning(1, NOVEMBER).sequence
                in_flight.set()
                release.wait(20)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_posting)
    thread.start()
    try:
        assert in_flight.wait(10)
        later = earning(2, DECEMBER)  # committed, numbered after the one in flight
        assert later.sequence > posted["early"]
        deferred = services.journal_seal(wait=0)
        assert deferred.deferred and deferred.sealed == 0
        assert sealed_sequences() == []

        threading.Timer(0.3, release.set).start()
        result = services.journal_seal(wait=20)  # waits for it to commit
    finally:
        release.set()
        thread.join(20)
    assert not result.deferred and result.sealed == 3
    assert sealed_sequences() == sorted(JournalEntry.objects.values_list("sequence", flat=True))
    assert selectors.journal_verify().ok


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_posting_rolled_back_in_flight_leaves_a_gap_that_is_sealed_past(chart):
    earning(0)
    in_flight = threading.Event()

    def failed_posting() -> None:
        try:
            with transaction.atomic():
                earning(1, NOVEMBER)
                in_flight.set()
                time.sleep(0.3)
                raise IdempotencyConflict("rolled back on purpose")
        except IdempotencyConflict:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=failed_posting)
    thread.start()
    assert in_flight.wait(10)
    last = earning(2, DECEMBER)
    result = services.journal_seal(wait=20)
    thread.join(20)
    assert result.sealed == 2 and result.last_sequence == last.sequence
    assert selectors.journal_verify().ok


# --- the API -----------------------------------------------------------------------------


READ_STATUS = {"anonymous": 401, "no_role": 403, "staff": 200, "approver": 200, "auditor": 200}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_the_integrity_endpoint_for_every_role(sealed, api_client_for, role):
    response = api_client_for(role).get(f"{API}/integrity/")
    assert response.status_code == READ_STATUS[role], response.content
    if response.status_code == 200:
        body = response.json()
        head = JournalSeal.objects.order_by("-sequence").first()
        assert head is not None
        assert body == {
            "ok": True,
            "entries_checked": 5,
            "sealed_through": head.sequence,
            "head_hash": head.entry_hash,
            "unsealed_entries": 0,
            "first_break": None,
            # The subledgers are sealed by the sealing job (journal_seal(chains=True)).
            "chains": [
                {
                    "chain": "subledgers",
                    "ok": True,
                    "entries_checked": 0,
                    "sealed_through": None,
                    "head_hash": "0" * 64,
                    "unsealed_entries": 5,
                    "first_break": None,
                }
            ],
        }
    for method in ("post", "put", "delete"):
        assert getattr(api_client_for(role), method)(f"{API}/integrity/").status_code in {
            401,
            403,
            405,
        }


@pytest.mark.django_db
def test_the_integrity_endpoint_names_the_first_break(sealed, api_client_for):
    victim = sealed[2]
    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE id = %s", [btc_posting(victim).pk])
    body = api_client_for("auditor").get(f"{API}/integrity/").json()
    assert body["ok"] is False and body["entries_checked"] == 2
    assert body["first_break"]["sequence"] == victim.sequence
    assert body["first_break"]["entry_id"] == victim.pk
    assert body["first_break"]["reason"] == "posting_removed"


@pytest.mark.django_db
def test_the_integrity_endpoint_is_in_the_schema_and_the_root(api_client_for):
    client = api_client_for("auditor")
    schema = client.get(f"{API}/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/integrity/"]["get"]
    assert {"200", "401", "403"} <= set(operation["responses"])
    assert client.get(f"{API}/").json()["integrity"].endswith("/api/v1/integrity/")


# --- admin -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "approver", "auditor", "superuser"])
def test_seals_are_read_only_in_the_admin(sealed, as_role, role):
    client = as_role(role)
    seal = JournalSeal.objects.order_by("sequence").first()
    assert seal is not None
    listing = client.get("/admin/ledger/journalseal/")
    assert listing.status_code == 200
    assert b"Verify the chain" in listing.content and b"Add journal seal" not in listing.content
    page = client.get(f"/admin/ledger/journalseal/{seal.pk}/change/")
    assert page.status_code == 200 and seal.entry_hash.encode() in page.content
    assert b'name="_save"' not in page.content
    assert client.get("/admin/ledger/journalseal/add/").status_code == 403
    assert client.post(f"/admin/ledger/journalseal/{seal.pk}/delete/").status_code == 403
    verified = client.get("/admin/ledger/journalseal/verify/", follow=True)
    assert b"The chain verifies: 5 entries checked" in verified.content


@pytest.mark.django_db
def test_the_admin_verify_names_the_break_and_needs_a_role(sealed, as_role):
    victim = sealed[0]
    with past_the_triggers() as cursor:
        cursor.execute("UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s", [victim.pk])
    page = as_role("auditor").get("/admin/ledger/journalseal/verify/", follow=True)
    assert f"The chain breaks at sequence {victim.sequence}".encode() in page.content
    assert as_role("no_role").get("/admin/ledger/journalseal/verify/").status_code == 403


# --- commands ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_commands_seal_and_verify(chart, capsys):
    entries = post_entries(3)
    call_command("seal_journal")
    out = capsys.readouterr().out
    assert f"Sealed 3 entries (sequences {entries[0].sequence} to {entries[2].sequence})" in out
    # The subledgers are sealed with the journal, as the five-minute job seals them.
    assert f"subledgers: sealed 3 entries, through #{entries[2].sequence}" in out
    call_command("seal_journal")
    out = capsys.readouterr().out
    assert "Nothing to seal." in out and "subledgers: sealed 0 entries" in out

    call_command("verify_journal")
    out = capsys.readouterr().out
    head = JournalSeal.objects.order_by("-sequence").first()
    assert head is not None
    assert "Journal chain: OK" in out and "entries checked:  3" in out
    assert head.entry_hash in out
    call_command("verify_journal", "--expect", f"{head.sequence}:{head.entry_hash.upper()}")

    with past_the_triggers() as cursor:
        cursor.execute("DELETE FROM ledger_posting WHERE entry_id = %s", [entries[1].pk])
        cursor.execute("DELETE FROM ledger_journalentry WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match="breaks at sequence") as caught:
        call_command("verify_journal")
    assert caught.value.returncode == 1  # the exit status of manage.py
    out = capsys.readouterr().out
    assert "Journal chain: BROKEN" in out
    assert f"first break:      sequence {entries[1].sequence}, entry {entries[1].pk}" in out
    assert "reason:           entry_missing" in out
    with pytest.raises(CommandError, match="SEQUENCE:HASH"):
        call_command("verify_journal", "--expect", "12:abc")


# --- tasks and their schedule ------------------------------------------------------------


@pytest.mark.django_db
def test_the_tasks_seal_and_verify_and_log_a_break(chart, caplog):
    entries = post_entries(2)
    sealed = seal_journal()
    assert sealed["sealed"] == 2 and sealed["sealed_through"] == entries[-1].sequence
    assert verify_journal()["ok"] is True

    with past_the_triggers() as cursor:
        cursor.execute(
            "UPDATE ledger_posting SET value = value + 1 WHERE entry_id = %s "
            "AND commodity_id = 'BTC'",
            [entries[0].pk],
        )
    with caplog.at_level("ERROR", logger="ledger.tasks"):
        summary = verify_journal()
    assert summary["ok"] is False
    assert summary["first_break"]["sequence"] == entries[0].sequence
    assert summary["first_break"]["reason"] == "posting_altered"
    assert any(
        f"journal chain broken at sequence {entries[0].sequence}" in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.django_db  # reads what the migrations seeded, before any flush
def test_sealing_is_scheduled_every_five_minutes_and_verification_nightly():
    seal = PeriodicTask.objects.get(name="Seal the journal")
    assert seal.task == "ledger.seal_journal" and seal.enabled
    assert (seal.crontab.minute, seal.crontab.hour) == ("*/5", "*")
    verify = PeriodicTask.objects.get(name="Journal chain verification")
    assert verify.task == "ledger.verify_journal" and verify.enabled
    assert (verify.crontab.hour, verify.crontab.minute) == ("2", "35")


@pytest.mark.django_db
@pytest.mark.parametrize("wait", ["nan", "inf", "-1", "3601"])
def test_the_seal_command_refuses_a_wait_that_is_no_bound(chart, wait):
    post_entries(1)
    with pytest.raises(CommandError, match=r"wait must be 0 to 3600 seconds"):
        call_command("seal_journal", "--wait", wait)
    assert not JournalSeal.objects.exists()
