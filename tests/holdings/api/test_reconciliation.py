"""Reconciliations and statements through the API, the admin, the command and the nightly
task: every role, what a run shows, and nothing passing silently when a chain source does
not answer. Statement uploads in depth: test_statement_uploads.py."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from holdings import tasks
from holdings.models import (
    BalanceStatementLine,
    ReconciliationRun,
    ReconciliationStatus,
    Statement,
)
from holdings.services import reconciliation, statement_uploads
from tests.holdings.admin.test_pages import as_role, users  # noqa: F401 (fixtures)
from tests.holdings.api.test_endpoints import API, READ_STATUS, ROLES, build_world
from tests.holdings.conftest import closed_port

DAY = date(2025, 12, 3)
STATEMENT = b"date,account,commodity,balance\n2025-12-03,COLD-1,BTC,10.00000000\n"
WRITE = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}


@pytest.fixture
def world(chart, settings):
    settings.ESPLORA_URL = ""
    return build_world()


def by_kind(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {run["kind"]: run for run in runs}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_read_endpoint_for_every_role(world, api_client_for, role):
    [run, *_] = reconciliation.reconcile(as_of=DAY)
    statement = reconciliation.statement_import(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    upload, _ = statement_uploads.statement_upload_create(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    client = api_client_for(role)
    for url in (
        "/reconciliations/",
        f"/reconciliations/{run.pk}/",
        "/statements/",
        f"/statements/{statement.pk}/",
        f"/statements/uploads/{upload.pk}/",
    ):
        response = client.get(API + url)
        assert response.status_code == READ_STATUS[role], (url, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_reconcile_a_day_for_every_role(world, api_client_for, role):
    response = api_client_for(role).post(
        f"{API}/reconciliations/", {"as_of": "2025-12-03"}, format="json"
    )
    assert response.status_code == WRITE[role], response.content
    if WRITE[role] != 201:
        assert not ReconciliationRun.objects.exists()
        return
    runs = by_kind(response.json())
    assert set(runs) == {"pool", "payouts", "wallets", "loans", "internal"}
    assert runs["pool"]["status"] == "matched"
    [receivable] = [i for i in runs["pool"]["items"] if i["subject"] == "F2P-A"]
    # Earned 0.5 + 0.6 + 0.4, paid 0.75 on Dec 3.
    assert receivable["ledger_amount"] == receivable["source_amount"] == "0.75000000"
    assert receivable["difference"] == "0.00000000"
    # No explorer configured for BTC: each payout and the inflows said plainly not checked
    # on chain, neither a break nor a gap.
    assert runs["payouts"]["status"] == "matched"
    assert (runs["payouts"]["breaks"], runs["payouts"]["unchecked"]) == (0, 0)
    assert runs["payouts"]["items"]
    assert all(
        item["status"] == "not_on_chain"
        and "no explorer is configured for BTC (ESPLORA_URL)" in item["message"]
        for item in runs["payouts"]["items"]
    )
    assert runs["wallets"]["status"] == "matched"
    assert runs["internal"]["status"] == "matched"
    assert runs["internal"]["created_by"] == role


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "as_of"),
        ({"as_of": "2025-12-32"}, "as_of"),
        ({"as_of": "2025-12-03", "kinds": ["everything"]}, "kinds"),
        ({"as_of": "2025-12-03", "kinds": []}, "kinds"),
        ({"as_of": "2025-12-03", "extra": 1}, "extra"),
    ],
)
def test_bad_reconcile_requests_name_the_field_and_write_nothing(
    world, api_client_for, body, field
):
    response = api_client_for("staff").post(f"{API}/reconciliations/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert not ReconciliationRun.objects.exists()


@pytest.fixture
def queued(monkeypatch):
    """Upload ids the statement task was queued for; it runs at once, as a worker would."""
    ids: list[int] = []

    def delay(upload_id: int) -> Any:
        ids.append(upload_id)
        return tasks.import_statement_upload.apply(args=[upload_id])

    monkeypatch.setattr(tasks.import_statement_upload, "delay", delay)
    return ids


@pytest.mark.django_db
def test_a_custodian_statement_is_uploaded_once_and_compared(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")

    def post() -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"{API}/statements/",
                {"kind": "custodian", "file": SimpleUploadedFile("cold.csv", STATEMENT)},
                format="multipart",
            )

    first, again = post(), post()
    assert (first.status_code, again.status_code) == (202, 200), first.content
    assert first.json()["id"] == again.json()["id"]
    assert len(queued) == 1
    upload = client.get(first["Location"]).json()
    assert upload["status"] == "succeeded"
    assert client.get(upload["statement"]).json()["lines_count"] == 1
    response = client.post(
        f"{API}/reconciliations/", {"as_of": "2025-12-03", "kinds": ["wallets"]}, format="json"
    )
    [run] = response.json()
    [cold] = [item for item in run["items"] if item["subject"] == "COLD-1"]
    assert cold["status"] == "matched"
    assert cold["ledger_amount"] == cold["source_amount"] == "10.00000000"
    assert cold["source"] == "statement cold.csv"


@pytest.mark.django_db
def test_a_bad_statement_is_refused_naming_the_row_and_field(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    content = b"date,account,commodity,balance\n2025-12-03,NOPE-1,BTC,1\n"
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{API}/statements/",
            {"kind": "custodian", "file": SimpleUploadedFile("bad.csv", content)},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    upload = client.get(response["Location"]).json()
    assert upload["status"] == "failed" and upload["statement"] is None
    [error] = upload["errors"]
    assert (error["file"], error["row"], error["field"]) == ("bad.csv", 2, "account")
    assert "NOPE-1" in error["message"]
    assert not Statement.objects.exists() and not BalanceStatementLine.objects.exists()


@pytest.mark.django_db
def test_run_filters_refuse_unknown_values(world, api_client_for):
    response = api_client_for("auditor").get(f"{API}/reconciliations/", {"status": "fine"})
    assert response.status_code == 400
    assert "status" in str(response.json())


@pytest.mark.django_db
def test_the_command_prints_what_could_not_be_checked_and_exits_2(world, settings):
    settings.ESPLORA_URL = f"http://127.0.0.1:{closed_port()}/api"  # configured, not answering
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--date", "2025-12-03", stdout=out)
    assert exit_.value.code == 2
    text = out.getvalue()
    assert "Payouts on-chain at the end of 2025-12-03: Incomplete" in text
    assert f"{settings.ESPLORA_URL}/tx/" in text and "could not be reached" in text


@pytest.mark.django_db
def test_the_command_exits_1_on_a_break(world):
    content = b"date,account,commodity,balance\n2025-12-03,COLD-1,BTC,9.5\n"
    reconciliation.statement_import(kind="custodian", file_name="cold.csv", content=content)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", "--date", "2025-12-03", "--kind", "wallets", stdout=out)
    assert exit_.value.code == 1
    assert (
        "wallet COLD-1 at the end of 2025-12-03: ledger 10.00000000 BTC, statement cold.csv "
        "9.50000000 BTC, difference -0.50000000 BTC"
    ) in out.getvalue()


@pytest.mark.django_db
def test_the_nightly_task_reconciles_yesterday(world):
    result = tasks.reconcile.apply().get()
    yesterday = timezone.now().date() - timedelta(days=1)
    assert result["as_of"] == yesterday.isoformat()
    assert {run["kind"] for run in result["runs"]} == {
        "pool",
        "payouts",
        "wallets",
        "loans",
        "internal",
    }
    assert ReconciliationRun.objects.filter(as_of=yesterday).count() == 5


# --- the admin ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "staff", "approver"])
def test_the_admin_pages_render_for_every_role(world, as_role, role):  # noqa: F811
    [run, *_] = reconciliation.reconcile(as_of=DAY)
    statement = reconciliation.statement_import(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    client = as_role(role)
    for name, args in (
        ("reconciliationrun_changelist", []),
        ("reconciliationrun_change", [run.pk]),
        ("statement_changelist", []),
        ("statement_change", [statement.pk]),
        ("statementupload_changelist", []),
    ):
        response = client.get(reverse(f"admin:holdings_{name}", args=args))
        assert response.status_code == 200, (name, response.content[:500])
    forms = [
        reverse("admin:holdings_reconciliationrun_run"),
        reverse("admin:holdings_statement_import"),
    ]
    for url in forms:
        assert client.get(url).status_code == (403 if role == "auditor" else 200)


@pytest.mark.django_db
def test_finance_staff_reconcile_and_upload_in_the_admin(
    world,
    as_role,  # noqa: F811
    queued,
    django_capture_on_commit_callbacks,
):
    client = as_role("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:holdings_statement_import"),
            {"kind": "custodian", "file": SimpleUploadedFile("cold.csv", STATEMENT)},
            follow=True,
        )
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("cold.csv is queued as upload #")
    assert Statement.objects.get().lines_count == 1
    response = client.post(
        reverse("admin:holdings_reconciliationrun_run"),
        {"as_of": "2025-12-03", "kinds": ["wallets", "internal"]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Wallet balances at the end of 2025-12-03: All matched") for m in shown)
    assert any(m.startswith("Internal at the end of 2025-12-03: All matched") for m in shown)
    runs = ReconciliationRun.objects.order_by("kind")
    assert [(r.kind, r.status) for r in runs] == [
        ("internal", ReconciliationStatus.MATCHED),
        ("wallets", ReconciliationStatus.MATCHED),
    ]
    detail = client.get(reverse("admin:holdings_reconciliationrun_change", args=[runs[1].pk]))
    assert (
        "not checked on chain: no custodian statement for the day and no explorer is "
        "configured for BTC (ESPLORA_URL)"
    ) in detail.content.decode()


# --- the nightly jobs' schedule ----------------------------------------------------------

NIGHTLY_JOBS = {
    "Fetch prices": "holdings.fetch_prices",
    "Fetch pool production": "holdings.fetch_production",
    "Loan interest accrual": "holdings.accrue_interest",
    "Loan LTV check": "holdings.check_ltv",
    "Month-end fair value remeasurement": "holdings.remeasure_month_end",
    "Nightly reconciliation": "holdings.reconcile",
}


@pytest.mark.django_db
def test_every_nightly_job_is_scheduled_in_the_database():
    scheduled = dict(PeriodicTask.objects.values_list("name", "task"))
    assert NIGHTLY_JOBS.items() <= scheduled.items()
    assert all(PeriodicTask.objects.filter(name__in=NIGHTLY_JOBS, enabled=True))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "staff", "approver"])
def test_the_schedule_is_seen_by_every_role_and_changed_by_approvers(
    as_role,  # noqa: F811
    role,
):
    client = as_role(role)
    job = PeriodicTask.objects.get(name="Nightly reconciliation")
    listing = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert listing.status_code == 200
    assert "Nightly reconciliation" in listing.content.decode()
    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[job.pk]))
    assert page.status_code == 200
    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "disable_tasks", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    if role == "approver":
        assert response.status_code == 302 and job.enabled is False
    else:
        assert job.enabled is True
    delete = client.get(reverse("admin:django_celery_beat_periodictask_delete", args=[job.pk]))
    assert delete.status_code == 403
