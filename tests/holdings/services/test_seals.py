"""The subledgers (lots, lot movements, disposals, loan events) sealed with the journal and
checked against their seals and their movements, everywhere the journal is verified.

Tampering is done as a database superuser could: with the triggers off
(`session_replication_role = replica`), inside the test's transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from holdings.models import Disposal, LoanEvent, Lot, LotMovement
from holdings.selectors import seals
from holdings.services.reconciliation import reconcile
from holdings.tasks import verify_lots
from ledger import sealing, selectors, services
from ledger.models import JournalEntry
from ledger.tasks import seal_journal, verify_journal
from tests.holdings.conftest import f2pool_file, run_import
from tests.holdings.services.test_reconciliation import (  # noqa: F401 (a fixture)
    DAY,
    EARNINGS,
    breaks_of,
    recon_world,
)

D = Decimal
API = "/api/v1"


@contextmanager
def past_the_triggers() -> Iterator[Any]:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def tamper(sql: str, params: list | None = None) -> None:
    with past_the_triggers() as cursor:
        cursor.execute(sql, params or [])
        assert cursor.rowcount >= 1


def seal_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM holdings_subledgerseal")
        return cursor.fetchone()[0]


def first_break() -> sealing.JournalBreak:
    report = selectors.journal_verify(chains=True)
    assert not report.ok
    assert report.first_break is not None
    return report.first_break


def internal_breaks() -> list[Any]:
    run = reconcile(as_of=DAY, kinds=["internal"])[0]
    return breaks_of(run)


def as_committed() -> None:
    """Run the checks deferred to commit now, as the world's commit would have: tampering
    comes after."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def sealed(recon_world):  # noqa: F811
    as_committed()
    result = services.journal_seal(chains=True)
    assert result.chains and result.chains[0].chain == "subledgers"
    assert result.chains[0].sealed == JournalEntry.objects.count()
    return recon_world


@pytest.fixture
def auditor_in_admin(client, auditor_user):
    auditor_user.is_staff = True
    auditor_user.save(update_fields=["is_staff"])
    client.force_login(auditor_user)
    return client


def a_lot() -> Lot:
    return Lot.objects.filter(quantity__gt=0, parent__isnull=True).order_by("id").first()


# --- sealing -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_sealed_entry_gets_one_subledger_seal_in_sequence(sealed):
    entries = list(JournalEntry.objects.order_by("sequence"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence, entry_id, row_count, row_hashes FROM holdings_subledgerseal "
            "ORDER BY sequence"
        )
        rows = cursor.fetchall()
    assert [(r[0], r[1]) for r in rows] == [(e.sequence, e.pk) for e in entries]
    # Every row tied to an entry is sealed with it, whatever its kind.
    keys = {key for row in rows for key in json.loads(row[3])}
    expected = (
        {f"lot:{pk}" for pk in Lot.objects.values_list("pk", flat=True)}
        | {f"lot_movement:{pk}" for pk in LotMovement.objects.values_list("pk", flat=True)}
        | {f"disposal:{pk}" for pk in Disposal.objects.values_list("pk", flat=True)}
        | {
            f"loan_event:{pk}"
            for pk in LoanEvent.objects.filter(entry__isnull=False).values_list("pk", flat=True)
        }
    )
    assert keys == expected
    assert Disposal.objects.exists() and LoanEvent.objects.exists()
    assert sum(r[2] for r in rows) == len(expected)
    report = selectors.journal_verify(chains=True)
    assert report.ok, report.first_break
    [chain_report] = report.chains
    assert chain_report.entries_checked == len(entries) and chain_report.unsealed_entries == 0


@pytest.mark.django_db
def test_sealing_again_seals_nothing_new_and_new_entries_follow(sealed):
    before = seal_count()
    again = services.journal_seal(chains=True)
    assert again.chains[0].sealed == 0 and seal_count() == before
    services.entry_post(
        effective_date=DAY,
        memo="a later entry",
        postings=[("1000", D("5"), D("5")), ("3000", D("-5"), D("-5"))],
    )
    # The journal alone first: the subledgers wait for its seal, then catch up.
    assert services.journal_seal().sealed == 1 and seal_count() == before
    assert selectors.journal_verify(chains=True).chains[0].unsealed_entries == 1
    assert sealing.chains_seal()[0].sealed == 1 and seal_count() == before + 1
    assert selectors.journal_verify(chains=True).ok


@pytest.mark.django_db
def test_the_first_run_seals_everything_already_in_the_journal_chain(recon_world):  # noqa: F811
    services.journal_seal()  # a release without subledger seals sealed the journal
    assert seal_count() == 0
    verification = seals.subledgers_verify()
    assert verification.ok and verification.unsealed_entries == JournalEntry.objects.count()
    result = seal_journal()  # the five-minute job
    assert result["chains"]["subledgers"]["sealed"] == JournalEntry.objects.count()
    assert seal_count() == JournalEntry.objects.count()


@pytest.mark.django_db
def test_subledger_seals_refuse_update_delete_truncate_and_bad_hashes(sealed):
    for sql in (
        "UPDATE holdings_subledgerseal SET row_count = row_count",
        "DELETE FROM holdings_subledgerseal",
        "TRUNCATE holdings_subledgerseal",
    ):
        with (
            pytest.raises(IntegrityError) as caught,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert "holdings_subledger_seal_immutable" in str(caught.value)
        assert caught.value.__cause__.sqlstate == "23514"
    with (
        pytest.raises(IntegrityError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO holdings_subledgerseal (sequence, entry_id, previous_hash, "
            "row_count, row_hashes, rows_hash, content_hash, seal_hash) VALUES "
            "(1, 1, repeat('0', 64), 0, '{}', repeat('a', 64), repeat('b', 64), "
            "repeat('c', 64))"
        )
    # Hashes that do not follow from the row: a CHECK (the rows, content or seal hash).
    assert caught.value.__cause__.sqlstate == "23514"
    assert 'check constraint "holdings_subledger_seal_' in str(caught.value)


@pytest.mark.django_db
def test_a_seal_out_of_the_chain_is_refused(recon_world):  # noqa: F811
    services.journal_seal()
    entry = JournalEntry.objects.order_by("sequence")[1]  # skips the first
    digest = seals.rows_hash({})
    content = seals.content_hash(
        sequence=entry.sequence, entry_id=entry.pk, rows_hash=digest, row_count=0
    )
    with (
        pytest.raises(IntegrityError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO holdings_subledgerseal (sequence, entry_id, previous_hash, "
            "row_count, row_hashes, rows_hash, content_hash, seal_hash) VALUES "
            "(%s, %s, %s, 0, '{}', %s, %s, %s)",
            [
                entry.sequence,
                entry.pk,
                sealing.GENESIS_HASH,
                digest,
                content,
                sealing.link_hash(previous_hash=sealing.GENESIS_HASH, content_hash=content),
            ],
        )
    assert "holdings_subledger_seal_in_sequence" in str(caught.value)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_sealers_running_at_once_seal_each_entry_once(tx_world):
    assert run_import("f2pool", f2pool_file(EARNINGS)).status == "succeeded"
    workers = 4
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def seal(i: int) -> None:
        try:
            barrier.wait()
            results[i] = services.journal_seal(chains=True)
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
    total = JournalEntry.objects.count()
    assert sum(r.chains[0].sealed for r in results) == total == seal_count()
    assert selectors.journal_verify(chains=True).ok


# --- a lot changed behind the triggers ------------------------------------------------------


@pytest.mark.django_db
def test_a_lot_changed_by_a_superuser_is_found_and_named_everywhere(sealed, api_client_for):
    lot = a_lot()
    assert internal_breaks() == []
    tamper("UPDATE holdings_lot SET quantity = quantity - 0.01 WHERE id = %s", [lot.pk])

    # The internal reconciliation names the lot and the field.
    [found] = [item for item in internal_breaks() if item.checked == "lot_rows"]
    assert (found.subject_type, found.subject) == ("lot", str(lot.pk))
    assert found.details["field"] == "quantity"
    assert found.message.startswith(f"lot {lot.pk} in ")
    # The nightly lots check too.
    summary = verify_lots()
    assert summary["ok"] is False
    assert summary["lots"][0]["lot"] == lot.pk and summary["lots"][0]["field"] == "quantity"


@pytest.mark.django_db
def test_a_lot_moved_to_another_account_is_found_by_the_seals_everywhere(
    sealed, api_client_for, capsys
):
    lot = a_lot()
    other = Lot.objects.exclude(account=lot.account).filter(commodity=lot.commodity).first()
    assert other is not None
    tamper("UPDATE holdings_lot SET account_id = %s WHERE id = %s", [other.account_id, lot.pk])

    found = first_break()
    assert (found.chain, found.reason, found.record, found.record_id) == (
        "subledgers",
        "lot_altered",
        "lot",
        lot.pk,
    )
    assert found.entry_id == lot.opened_by_entry_id

    # GET integrity/
    body = api_client_for("auditor").get(f"{API}/integrity/").json()
    assert body["ok"] is False
    assert body["first_break"]["reason"] == "lot_altered"
    assert (body["first_break"]["record"], body["first_break"]["record_id"]) == ("lot", lot.pk)
    [chain_body] = body["chains"]
    assert chain_body["chain"] == "subledgers" and chain_body["ok"] is False

    # manage.py verify_journal
    with pytest.raises(CommandError, match="lot_altered"):
        call_command("verify_journal")
    out = capsys.readouterr().out
    assert "Subledgers chain: BROKEN" in out and f"lot {lot.pk}" in out

    # the nightly task
    summary = verify_journal()
    assert summary["ok"] is False and summary["first_break"]["record_id"] == lot.pk

    # the internal reconciliation: the lot row and the seal
    items = {item.checked: item for item in internal_breaks()}
    assert items["lot_rows"].details["field"] == "account"
    assert items["lot_rows"].subject == str(lot.pk)
    assert (items["subledger_seals"].subject_type, items["subledger_seals"].subject) == (
        "lot",
        str(lot.pk),
    )
    assert items["subledger_seals"].details["reason"] == "lot_altered"


@pytest.mark.django_db
def test_the_admin_verify_page_names_the_lot(sealed, auditor_in_admin):
    lot = a_lot()
    tamper(
        "UPDATE holdings_lot SET acquired_at = acquired_at - interval '1 day' WHERE id = %s",
        [lot.pk],
    )
    page = auditor_in_admin.get("/admin/ledger/journalseal/verify/", follow=True)
    assert b"lot_altered" in page.content
    assert f"lot {lot.pk}".encode() in page.content


@pytest.mark.django_db
def test_the_units_a_lot_holds_changed_with_its_movement_are_found(sealed):
    """Both changed together, the sums agree: only the seal can tell."""
    lot = a_lot()
    movement = lot.movements.order_by("id").first()
    tamper(
        "UPDATE holdings_lot SET quantity = quantity + 1, original_quantity = "
        "original_quantity + 1 WHERE id = %s",
        [lot.pk],
    )
    tamper("UPDATE holdings_lotmovement SET quantity = quantity + 1 WHERE id = %s", [movement.pk])
    found = first_break()
    assert found.reason in {"lot_altered", "movement_altered"}
    assert found.record_id in {lot.pk, movement.pk}


# --- movements, disposals and loan events ---------------------------------------------------


@pytest.mark.django_db
def test_a_lot_movement_altered_is_found(sealed):
    movement = LotMovement.objects.order_by("id").first()
    tamper(
        "UPDATE holdings_lotmovement SET effective_date = effective_date - 1 WHERE id = %s",
        [movement.pk],
    )
    found = first_break()
    assert (found.reason, found.record, found.record_id) == (
        "movement_altered",
        "lot_movement",
        movement.pk,
    )


@pytest.mark.django_db
def test_a_lot_movement_deleted_is_found(sealed):
    movement = LotMovement.objects.filter(kind="disposal").order_by("id").first()
    assert movement is not None
    tamper("DELETE FROM holdings_lotmovement WHERE id = %s", [movement.pk])
    found = first_break()
    assert (found.reason, found.record_id, found.entry_id) == (
        "row_removed",
        movement.pk,
        movement.entry_id,
    )
    # The lot no longer equals its movements either.
    [item] = [i for i in internal_breaks() if i.checked == "lot_rows"]
    assert item.subject == str(movement.lot_id)


@pytest.mark.django_db
def test_a_disposal_altered_or_deleted_is_found(sealed):
    disposal = Disposal.objects.order_by("id").first()
    tamper("UPDATE holdings_disposal SET proceeds = proceeds + 1 WHERE id = %s", [disposal.pk])
    found = first_break()
    assert (found.reason, found.record, found.record_id) == (
        "disposal_altered",
        "disposal",
        disposal.pk,
    )
    tamper("DELETE FROM holdings_disposal WHERE id = %s", [disposal.pk])
    assert (first_break().reason, first_break().record_id) == ("row_removed", disposal.pk)


@pytest.mark.django_db
def test_a_loan_event_altered_or_deleted_is_found(sealed):
    event = LoanEvent.objects.filter(entry__isnull=False).order_by("id").first()
    tamper("UPDATE holdings_loanevent SET units = units + 1 WHERE id = %s", [event.pk])
    found = first_break()
    assert (found.reason, found.record, found.record_id) == (
        "loan_event_altered",
        "loan_event",
        event.pk,
    )
    tamper("DELETE FROM holdings_loanevent WHERE id = %s", [event.pk])
    assert (first_break().reason, first_break().record_id) == ("row_removed", event.pk)


@pytest.mark.django_db
def test_a_loan_event_sealed_before_its_attempt_column_stays_sealed(sealed):
    """Holdings 0034 added a loan event's attempt (1 for every event before): hashed, it
    broke the seal of every loan event sealed before it on every ledger upgraded."""
    event = LoanEvent.objects.filter(entry__isnull=False).order_by("id").first()
    assert event.attempt == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_hashes FROM holdings_subledgerseal WHERE entry_id = %s", [event.entry_id]
        )
        (row_hashes,) = cursor.fetchone()
        cursor.execute("SELECT * FROM holdings_loanevent WHERE id = %s", [event.pk])
        before = [
            (column.name, value)
            for column, value in zip(cursor.description, cursor.fetchone(), strict=True)
            if column.name != "attempt"
        ]
    # The row as the seal hashed it before the column existed.
    document = seals.canonical_row(
        "loan_event",
        [column for column, _ in before],
        [value for _, value in before],
        frozenset({"details"}),
    )
    hashes = json.loads(row_hashes) if isinstance(row_hashes, str) else row_hashes
    assert hashes[f"loan_event:{event.pk}"] == hashlib.sha256(document).hexdigest()
    assert selectors.journal_verify(chains=True).ok


@pytest.mark.django_db
def test_loan_events_sealed_with_their_attempt_hashed_still_verify(recon_world, monkeypatch):  # noqa: F811
    """Seals written while the attempt was hashed (from holdings 0034) stay true, and a
    change to such an event is still found."""
    as_committed()
    loan_event = seals.BY_RECORD["loan_event"]
    monkeypatch.setitem(
        seals.BY_RECORD, "loan_event", dataclasses.replace(loan_event, added_with=())
    )
    services.journal_seal(chains=True)
    monkeypatch.undo()
    assert selectors.journal_verify(chains=True).ok
    event = LoanEvent.objects.filter(entry__isnull=False).order_by("id").first()
    tamper("UPDATE holdings_loanevent SET units = units + 1 WHERE id = %s", [event.pk])
    found = first_break()
    assert (found.reason, found.record_id) == ("loan_event_altered", event.pk)


@pytest.mark.django_db
def test_a_row_added_to_a_sealed_entry_or_to_no_entry_is_found(sealed):
    movement = LotMovement.objects.order_by("id").first()
    with past_the_triggers() as cursor:
        cursor.execute(
            "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity,"
            " cost, fair_value_adjustment, created_at) SELECT lot_id, entry_id, effective_date,"
            " 'remeasurement', 0, 0, 1, created_at FROM holdings_lotmovement WHERE id = %s "
            "RETURNING id",
            [movement.pk],
        )
        (added,) = cursor.fetchone()
    found = first_break()
    assert (found.reason, found.record_id, found.entry_id) == (
        "row_added",
        added,
        movement.entry_id,
    )
    tamper("UPDATE holdings_lotmovement SET entry_id = 999999999 WHERE id = %s", [added])
    found = first_break()
    assert (found.reason, found.record_id, found.entry_id) == ("row_added", added, 999999999)


@pytest.mark.django_db
def test_a_subledger_seal_removed_or_rewritten_is_found(sealed):
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequence FROM holdings_subledgerseal ORDER BY sequence LIMIT 2")
        first, second = (row[0] for row in cursor.fetchall())
    # Its checks dropped (as the owner could), a seal is rewritten.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE holdings_subledgerseal DROP CONSTRAINT holdings_subledger_seal_rows, "
            "DROP CONSTRAINT holdings_subledger_seal_content_hash"
        )
    tamper(
        "UPDATE holdings_subledgerseal SET row_count = row_count + 1 WHERE sequence = %s",
        [second],
    )
    assert (first_break().sequence, first_break().reason) == (second, "seal_altered")
    tamper("DELETE FROM holdings_subledgerseal WHERE sequence = %s", [first])
    found = first_break()
    assert found.sequence == first and found.reason in {"entry_unsealed", "chain_broken"}
