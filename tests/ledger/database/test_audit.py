"""The audit log: written by PostgreSQL triggers with the actor of each request (admin and
API), Celery task, management command, or the database role for raw SQL; never changed."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from ledger import audit, services
from ledger.models import Account, AuditLog, ManualJournal
from ledger.tasks import verify_integrity
from tests.conftest import UserFactory
from tests.ledger.api.test_entries import API, BUY_BTC, OPENING, post_entry

pytestmark = pytest.mark.django_db
D = Decimal


def rows(table: str, **filters) -> list[AuditLog]:
    return list(AuditLog.objects.filter(table_name=table, **filters).order_by("id"))


def db_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user")
        return f"db:{cursor.fetchone()[0]}"


def refused(sql: str) -> str:
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(sql)
    return str(caught.value)


# --- what is recorded --------------------------------------------------------------------


def test_create_update_delete_record_the_row_and_only_what_changed(chart):
    account = services.account_create(code="1299", name="Test", type="asset", commodity="BTC")
    services.account_update(account=account, name="Renamed")
    services.account_update(account=account, name="Renamed")  # no change: nothing logged
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_account WHERE id = %s", [account.pk])

    logged = rows("ledger_account", record_id=str(account.pk))
    assert [r.action for r in logged] == ["insert", "update", "delete"]
    inserted, updated, deleted = logged
    assert inserted.old is None and inserted.new["code"] == "1299"
    assert (updated.old, updated.new) == ({"name": "Test"}, {"name": "Renamed"})
    assert deleted.old["name"] == "Renamed" and deleted.new is None


def test_an_update_of_the_key_logs_the_row_before_and_after(reference_data):
    services.commodity_create(
        code="XYZ", name="Test coin", decimal_places=8, kind="crypto", measurement_policy="cost"
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_commodity SET code = 'XYZ2' WHERE code = 'XYZ'")
    before, after = rows("ledger_commodity", action="update")
    assert (before.record_id, before.old["code"], before.new) == ("XYZ", "XYZ", None)
    assert (after.record_id, after.old, after.new["code"]) == ("XYZ2", None, "XYZ2")


def test_raw_sql_falls_back_to_the_database_role(chart):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET name = 'Cash (USD)' WHERE code = '1000'")
    (row,) = rows("ledger_account", action="update")
    assert row.actor == db_role() and row.actor_user_id is None and row.context == ""
    assert row.new == {"name": "Cash (USD)"}


def test_entries_are_logged_as_posted_with_their_sequence(chart, staff_user, approver_user):
    services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[("1000", D("10.00"), D("10.00")), ("3000", D("-10.00"), D("-10.00"))],
    )
    (row,) = rows("ledger_journalentry")
    assert row.action == "insert" and row.new["memo"] == "Opening cash"
    assert row.new["sequence"] is not None  # the row as the trigger finished it
    assert row.new["effective_date"] == "2025-09-30"


def test_secrets_are_redacted_and_logins_not_logged(reference_data):
    user = UserFactory(username="carol")
    user.set_password("another-secret-1")
    user.save()
    user.last_login = user.date_joined
    user.save(update_fields=["last_login"])  # a login: not a change of state worth a row
    logged = rows("auth_user", record_id=str(user.pk))
    assert [r.action for r in logged] == ["insert", "update"]
    assert logged[0].new["password"] == "[redacted]" and "last_login" not in logged[0].new
    assert logged[1].new == {"password": "[redacted]"}

    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=user)
    (row,) = rows("authtoken_token")
    assert row.record_id == str(user.pk) and row.new["key"] == "[redacted]"
    assert token.key not in str(row.new)


def test_group_memberships_are_logged(reference_data):
    user = UserFactory(username="dave", role="Auditor")
    (row,) = rows("auth_user_groups")
    assert row.action == "insert" and row.new["user_id"] == user.pk


# --- the actor ---------------------------------------------------------------------------


def test_admin_create_and_update_record_the_user(as_role, chart, users):
    client = as_role("staff")
    response = client.post(
        reverse("admin:ledger_account_add"),
        {"code": "1225", "name": "Hot wallet 5", "type": "asset", "commodity": "BTC",
         "parent": Account.objects.get(code="1220").pk},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    account = Account.objects.get(code="1225")
    (inserted,) = rows("ledger_account", record_id=str(account.pk))
    assert (inserted.actor, inserted.actor_user_id) == ("user:staff", users["staff"].pk)
    assert inserted.context == "POST /admin/ledger/account/add/"

    client = as_role("approver")
    response = client.post(
        reverse("admin:ledger_account_change", args=[account.pk]),
        {"name": "Hot wallet five", "must_not_go_negative": "on", "is_active": "on"},
    )
    assert response.status_code == 302, response.content
    updated = rows("ledger_account", record_id=str(account.pk), action="update")[-1]
    assert updated.actor == "user:approver" and updated.new["name"] == "Hot wallet five"
    # Outside the request, the actor is cleared: raw SQL is the database role again.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET name = 'x' WHERE id = %s", [account.pk])
    assert rows("ledger_account", record_id=str(account.pk))[-1].actor == db_role()


def test_a_nul_in_a_requests_path_is_answered_and_leaves_no_actor_behind(as_role, chart):
    client = as_role("staff")
    # A session setting cannot hold NUL: the path's is written visibly, and each request
    # still ends with the actor cleared (once, a refused actor stayed for the thread).
    for path in ("/admin/ledger/journalentry/%00/change/", "/api/v1/accounts/%00/"):
        assert client.get(path).status_code in (302, 401, 403, 404)
        assert audit.current_actor() is None
        assert client.get(reverse("admin:index")).status_code == 200
    assert audit._values(audit.Actor(label="user:x", context="GET /a\x00b")) == (
        "user:x",
        "",
        "GET /a\\x00b",
    )


def test_api_token_requests_record_the_tokens_user(
    api_client_for, chart, staff_user, approver_user
):
    services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[(p["account"], D(p["quantity"]), D(p["value"])) for p in OPENING["postings"]],
    )
    response = post_entry(api_client_for("staff"), BUY_BTC)
    assert response.status_code == 202, response.content
    journal_id = response.json()["id"]
    (created,) = rows("ledger_manualjournal", record_id=str(journal_id), action="insert")
    assert (created.actor, created.actor_user_id) == ("user:staff", staff_user.pk)
    assert created.context == "POST /api/v1/journal-entries/"
    assert {r.actor for r in rows("ledger_manualjournalline")} == {"user:staff"}

    approved = api_client_for("approver").post(
        f"{API}/manual-journals/{journal_id}/approve/", {}, format="json"
    )
    assert approved.status_code == 200, approved.content
    entry_id = approved.json()["entry"]
    (entry_row,) = rows("ledger_journalentry", record_id=str(entry_id))
    assert (entry_row.actor, entry_row.actor_user_id) == ("user:approver", approver_user.pk)
    decision = rows("ledger_manualjournal", record_id=str(journal_id), action="update")[-1]
    assert decision.actor == "user:approver"
    assert decision.old["status"] == "submitted" and decision.new["status"] == "approved"
    assert decision.transaction_id == entry_row.transaction_id  # one transaction


def test_a_management_command_is_the_actor(reference_data):
    call_command("load_chart", verbosity=0)
    accounts = rows("ledger_account")
    assert accounts and {r.actor for r in accounts} == {"command:load_chart"}
    assert accounts[0].context == "manage.py load_chart"
    # The command's actor ends with it.
    assert audit.current_actor() is None


def test_a_celery_task_is_the_actor(chart, approver_user):
    @transaction.atomic
    def run():
        return verify_integrity.apply()

    # verify_integrity writes nothing; the actor is what the session holds while it runs.
    seen = []

    def spy(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('cango.actor', true)")
            seen.append(cursor.fetchone()[0])
        return original(*args, **kwargs)

    from ledger import selectors

    original = selectors.ledger_integrity
    selectors.ledger_integrity = spy
    try:
        assert run().successful()
    finally:
        selectors.ledger_integrity = original
    assert seen == ["task:ledger.verify_integrity"]
    assert audit.current_actor() is None


def test_each_row_is_turned_into_json_once():
    # A row's JSON is read twice (its key, the whole row). A subquery the planner folds into
    # the statement would have to_jsonb() run for each read; OFFSET 0 keeps it whole.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('ledger_audit_rows'::regproc)")
        (source,) = cursor.fetchone()
    made = re.findall(r"to_jsonb\(", source)
    fenced = re.findall(r"\(SELECT to_jsonb\((\w)\.\*\) AS j FROM \S+ \1 OFFSET 0\)", source)
    assert len(made) == 5 and len(fenced) == len(made)


def test_a_table_with_columns_named_like_the_rows_is_logged_whole():
    # The audit statements call a table's rows n (new) and o (old): a table's own columns n
    # and o must not be taken for them.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE audit_probe (id bigint PRIMARY KEY, n integer, o text)")
        cursor.execute("SELECT ledger_audit_attach('audit_probe')")
        cursor.execute("INSERT INTO audit_probe VALUES (1, 10, 'ten'), (2, 20, 'twenty')")
        cursor.execute("UPDATE audit_probe SET n = 11 WHERE id = 1")
        cursor.execute("DELETE FROM audit_probe WHERE id = 2")

    logged = rows("audit_probe")
    assert [(r.action, r.record_id) for r in logged] == [
        ("insert", "1"),
        ("insert", "2"),
        ("update", "1"),
        ("delete", "2"),
    ]
    assert logged[0].new == {"id": 1, "n": 10, "o": "ten"}
    assert (logged[2].old, logged[2].new) == ({"n": 10}, {"n": 11})
    assert logged[3].old == {"id": 2, "n": 20, "o": "twenty"} and logged[3].new is None


# --- the log cannot be changed ------------------------------------------------------------


def test_the_log_refuses_update_delete_truncate_and_direct_inserts(chart):
    assert AuditLog.objects.exists()
    for sql in (
        "UPDATE ledger_auditlog SET actor = 'someone else'",
        "DELETE FROM ledger_auditlog",
    ):
        assert "ledger_audit_log_immutable" in refused(sql)
    assert "ledger_audit_log_written_by_triggers" in refused(
        "INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, actor, "
        "context) VALUES (now(), 1, 'ledger_account', '1', 'insert', 'forger', '')"
    )


@pytest.mark.django_db(transaction=True)
def test_the_log_cannot_be_truncated(chart):
    with pytest.raises(IntegrityError) as caught, connection.cursor() as cursor:
        cursor.execute("TRUNCATE ledger_auditlog")
    assert "ledger_audit_log_immutable" in str(caught.value)
    assert "23514" in repr(caught.value.__cause__.sqlstate)


# --- the admin ---------------------------------------------------------------------------


def test_the_admin_shows_the_log_read_only_and_links_from_records(as_role, chart, users):
    account = Account.objects.get(code="1000")
    services.account_update(account=account, name="Cash at bank")
    client = as_role("auditor")
    history = client.get(reverse("admin:ledger_account_history", args=[account.pk]))
    assert history.status_code == 302
    assert "table_name=ledger_account" in history["Location"]
    assert f"record_id={account.pk}" in history["Location"]
    page = client.get(history["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cash at bank" not in html or "name" in html
    assert f'href="/admin/ledger/account/{account.pk}/change/"' in html

    row = AuditLog.objects.filter(table_name="ledger_account", action="update").latest("id")
    detail = client.get(reverse("admin:ledger_auditlog_change", args=[row.pk]))
    assert detail.status_code == 200
    assert "Cash at bank" in detail.content.decode()
    assert (
        client.post(reverse("admin:ledger_auditlog_change", args=[row.pk]), {}).status_code == 403
    )
    assert client.get(reverse("admin:ledger_auditlog_add")).status_code == 403
    assert client.get(reverse("admin:ledger_auditlog_delete", args=[row.pk])).status_code == 403
    for role in ("staff", "approver", "superuser"):
        assert as_role(role).get(reverse("admin:ledger_auditlog_changelist")).status_code == 200
    assert as_role("no_role").get(reverse("admin:ledger_auditlog_changelist")).status_code in {
        302,
        403,
    }
    search = as_role("auditor").get(
        reverse("admin:ledger_auditlog_changelist"), {"q": "user:staff"}
    )
    assert search.status_code == 200


def test_manual_journal_history_from_its_admin_page(as_role, chart, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="m",
        postings=[("1000", D("1.00"), D("1.00")), ("3000", D("-1.00"), D("-1.00"))],
        by=users["staff"],
    )
    response = as_role("auditor").get(
        reverse("admin:ledger_manualjournal_history", args=[journal.pk]), follow=True
    )
    assert response.status_code == 200
    assert ManualJournal.objects.filter(pk=journal.pk).exists()
    assert "ledger.manualjournal" in response.content.decode()
