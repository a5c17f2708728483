"""Statement uploads: stored as they arrive and read by the worker, all or nothing; their
size bounded; the files of old failed uploads and batches dropped by the nightly cleanup."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from holdings import tasks
from holdings.errors import InvalidSetup
from holdings.models import (
    BalanceStatementLine,
    BatchStatus,
    ImportBatch,
    Statement,
    StatementUpload,
)
from holdings.services import production, reconciliation, statement_uploads
from ledger.models import AuditLog
from tests.holdings.admin.test_pages import as_role, users  # noqa: F401 (fixtures)
from tests.holdings.api.test_endpoints import API, READ_STATUS, ROLES, WRITE_STATUS, build_world

STATEMENT = b"date,account,commodity,balance\n2025-12-03,COLD-1,BTC,10.00000000\n"
BAD = b"date,account,commodity,balance\n2025-12-03,COLD-1,BTC,1\n2025-12-04,NOPE-1,BTC,x\n"


def sized(size: int) -> bytes:
    """A good statement of exactly `size` bytes: two lines, then blank lines (skipped)."""
    head = (
        b"date,account,commodity,balance\n"
        b"2025-12-03,COLD-1,BTC,10.00000000\n"
        b"2025-12-04,COLD-1,BTC,10.00000000\n"
    )
    return head + b"\n" * (size - len(head))


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def world(chart, settings):
    settings.ESPLORA_URL = ""
    return build_world()


@pytest.fixture
def queued(monkeypatch):
    """Upload ids the task was queued for; the task runs at once, as a worker would."""
    ids: list[int] = []

    def delay(upload_id: int) -> Any:
        ids.append(upload_id)
        return tasks.import_statement_upload.apply(args=[upload_id])

    monkeypatch.setattr(tasks.import_statement_upload, "delay", delay)
    return ids


def post(client: Any, content: bytes = STATEMENT, name: str = "cold.csv", kind: str = "custodian"):
    return client.post(
        f"{API}/statements/",
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


# --- the API -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_an_upload_answers_202_with_the_link_to_follow_for_every_role(
    world, api_client_for, role, queued, django_capture_on_commit_callbacks
):
    client = api_client_for(role)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client)
    assert response.status_code == WRITE_STATUS[role], response.content
    if WRITE_STATUS[role] != 202:
        assert response.json()["code"] in {"not_authenticated", "permission_denied"}
        assert not StatementUpload.objects.exists() and not Statement.objects.exists()
        assert queued == []
        return
    body = response.json()
    assert body["status"] == "pending"
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/statements/uploads/{body['id']}/")
    assert queued == [body["id"]]
    assert "content" not in body
    for reader in ROLES:
        followed = api_client_for(reader).get(body["url"])
        assert followed.status_code == READ_STATUS[reader], (reader, followed.content)
    detail = client.get(body["url"]).json()
    assert detail["status"] == "succeeded"
    assert detail["kind"] == "custodian"
    assert detail["file_name"] == "cold.csv"
    assert detail["file_sha256"] == hashlib.sha256(STATEMENT).hexdigest()
    assert detail["file_size"] == len(STATEMENT)
    assert detail["errors"] == [] and detail["attempts"] == 1
    assert detail["created_by"] == role
    assert detail["started_at"] and detail["finished_at"]
    statement = Statement.objects.get()
    assert detail["statement"].endswith(f"/api/v1/statements/{statement.pk}/")
    assert statement.created_by.username == role and statement.lines_count == 1
    assert bytes(statement.content) == STATEMENT
    # The statement keeps the file; the upload does not keep a second copy.
    assert bytes(StatementUpload.objects.get().content) == b""


@pytest.mark.django_db
def test_nothing_is_queued_before_the_upload_is_committed(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(api_client_for("staff"))
    assert response.status_code == 202
    assert len(callbacks) == 1 and queued == []
    callbacks[0]()
    assert queued == [response.json()["id"]]


@pytest.mark.django_db
def test_the_same_file_again_is_answered_with_the_upload_that_keeps_it(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = post(client)
        waiting = post(client, name="renamed.csv")
    # While the first is waiting for the worker, the same file is answered with it.
    assert (first.status_code, waiting.status_code) == (202, 200), waiting.content
    assert waiting.json()["id"] == first.json()["id"] and waiting.json()["status"] == "pending"
    assert len(callbacks) == 1
    callbacks[0]()
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, name="renamed.csv")
    assert (first.status_code, again.status_code) == (202, 200), again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "succeeded"
    assert again["Location"] == first.json()["url"]
    assert queued == [first.json()["id"]]
    assert Statement.objects.count() == StatementUpload.objects.count() == 1
    # As a lender statement it is another kind: read on its own (and refused here).
    with django_capture_on_commit_callbacks(execute=True):
        other = post(client, kind="lender")
    assert other.status_code == 202


@pytest.mark.django_db
def test_a_file_kept_before_is_answered_with_its_statement(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    kept = reconciliation.statement_import(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client_for("staff"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["statement"].endswith(f"/api/v1/statements/{kept.pk}/")
    assert queued == [] and Statement.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_file_fails_naming_row_and_field_and_writes_nothing_else(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, BAD, name="bad.csv")
    assert response.status_code == 202, response.content
    detail = client.get(response.json()["url"]).json()
    assert detail["status"] == "failed"
    assert detail["statement"] is None
    errors = {(e["file"], e["row"], e["field"]) for e in detail["errors"]}
    assert ("bad.csv", 3, "balance") in errors
    assert all(e["message"] for e in detail["errors"])
    assert not Statement.objects.exists() and not BalanceStatementLine.objects.exists()
    # Kept to be looked at; the same file may be uploaded again (and fails again).
    assert bytes(StatementUpload.objects.get().content) == BAD
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, BAD, name="bad.csv")
    assert again.status_code == 202 and again.json()["id"] != response.json()["id"]


@pytest.mark.django_db
def test_a_header_holding_nul_fails_the_upload_once_and_is_kept_readable(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, b"date,account,commodity,balance,x\x00y\n2025-12-03,W,BTC,1,2\n")
    detail = client.get(response.json()["url"]).json()
    # Failed, not left running: its error, whose field holds the NUL, is stored escaped.
    assert detail["status"] == "failed" and detail["errors"]
    assert [error["field"] for error in detail["errors"]] == ["x\\x00y"]
    assert StatementUpload.objects.get().attempts == 1


@pytest.mark.django_db
def test_rows_naming_nothing_known_fail_the_whole_file(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    content = STATEMENT + b"2025-12-03,NOPE-1,BTC,1\n"
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, content, name="bad.csv")
    detail = client.get(response.json()["url"]).json()
    assert detail["status"] == "failed"
    assert [(e["file"], e["row"], e["field"]) for e in detail["errors"]] == [
        ("bad.csv", 3, "account")
    ]
    assert "NOPE-1" in detail["errors"][0]["message"]
    assert not Statement.objects.exists() and not BalanceStatementLine.objects.exists()


@pytest.mark.django_db
def test_one_byte_over_the_limit_is_refused_naming_it_and_nothing_is_stored(
    world, api_client_for, queued, settings, django_capture_on_commit_callbacks
):
    settings.STATEMENT_UPLOAD_MAX_BYTES = 4096
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client_for("staff"), sized(4097), name="big.csv")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == "file"
    assert "4,097 bytes" in body["detail"] and "4,096 bytes" in body["detail"]
    assert not StatementUpload.objects.exists() and not Statement.objects.exists()
    assert queued == []


@pytest.mark.django_db
def test_a_body_far_over_the_limit_is_refused_before_it_is_read(world, api_client_for, settings):
    settings.STATEMENT_UPLOAD_MAX_BYTES = 4096
    response = post(api_client_for("staff"), sized(200_000), name="huge.csv")
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "too_large"
    assert "4,096 bytes" in response.json()["detail"]
    assert not StatementUpload.objects.exists()


@pytest.mark.django_db
def test_the_pool_file_limit_is_a_setting(setup_only_world, api_client_for, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 100
    response = api_client_for("staff").post(
        f"{API}/imports/",
        {"source": "csv", "file": SimpleUploadedFile("pool.csv", b"x" * 101)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "file"
    assert "at most 100 bytes" in response.json()["detail"]
    assert not ImportBatch.objects.exists()
    with pytest.raises(InvalidSetup, match="at most 100 bytes"):
        production.import_batch_create(source="csv", file_name="pool.csv", content=b"x" * 101)


@pytest.fixture
def setup_only_world(chart):
    from tests.holdings.api.test_endpoints import build_setup

    return build_setup()


@pytest.mark.django_db(transaction=True)
def test_an_upload_of_the_largest_allowed_size_is_read_by_the_worker(
    tx_world, worker, api_client_for, settings
):
    # Above FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to disk as it arrives, then stored.
    settings.STATEMENT_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    content = sized(settings.STATEMENT_UPLOAD_MAX_BYTES)
    client = api_client_for("staff")
    response = post(client, content, name="largest.csv")
    assert response.status_code == 202, response.content
    url = response.json()["url"]
    wait_for(lambda: client.get(url).json()["status"] not in ("pending", "running"))
    detail = client.get(url).json()
    assert detail["status"] == "succeeded", detail["errors"]
    assert detail["file_size"] == len(content) == settings.STATEMENT_UPLOAD_MAX_BYTES
    statement = Statement.objects.get()
    assert statement.lines_count == 2
    assert hashlib.sha256(bytes(statement.content)).hexdigest() == detail["file_sha256"]


@pytest.mark.django_db(transaction=True)
def test_a_stalled_upload_is_read_again_by_the_sweep(tx_world, worker, settings):
    upload, queued = statement_uploads.statement_upload_create(
        kind="custodian", file_name="stalled.csv", content=STATEMENT
    )
    assert queued
    StatementUpload.objects.filter(pk=upload.pk).update(status=BatchStatus.RUNNING)
    settings.IMPORT_STALE_AFTER_MINUTES = 0

    result = tasks.resume_stalled_imports.delay().get(timeout=60)
    assert result == {"resumed": [], "statement_uploads": [upload.pk]}
    wait_for(lambda: StatementUpload.objects.get(pk=upload.pk).status == BatchStatus.SUCCEEDED)
    assert StatementUpload.objects.get(pk=upload.pk).attempts == 1
    assert Statement.objects.count() == 1


@pytest.mark.django_db
def test_reading_an_upload_twice_keeps_one_statement(world):
    upload, _ = statement_uploads.statement_upload_create(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    first = tasks.import_statement_upload.apply(args=[upload.pk]).get()
    again = tasks.import_statement_upload.apply(args=[upload.pk]).get()
    assert first == again
    assert first["status"] == "succeeded" and first["statement"] == Statement.objects.get().pk
    assert StatementUpload.objects.get().attempts == 1


def test_the_task_is_acknowledged_late_and_retried_on_transient_errors():
    task = tasks.import_statement_upload
    assert task.acks_late and task.reject_on_worker_lost
    from django.db import OperationalError

    assert OperationalError in task.autoretry_for


# --- the command -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_queues_each_file_or_reads_it_with_sync(
    world, tmp_path, queued, django_capture_on_commit_callbacks
):
    path = tmp_path / "cold.csv"
    path.write_bytes(STATEMENT)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_statement", "--kind", "custodian", str(path), stdout=out)
    upload = StatementUpload.objects.get()
    assert out.getvalue().strip() == f"cold.csv: upload {upload.pk} queued"
    assert queued == [upload.pk]

    other = tmp_path / "cold-2.csv"
    other.write_bytes(STATEMENT.replace(b"10.00000000", b"9.50000000"))
    out = StringIO()
    call_command("import_statement", "--kind", "custodian", "--sync", str(other), stdout=out)
    kept = Statement.objects.latest("id")
    assert out.getvalue().strip() == f"cold-2.csv: statement {kept.pk}, 1 lines"
    assert len(queued) == 1

    out = StringIO()
    call_command("import_statement", "--kind", "custodian", "--sync", str(other), stdout=out)
    assert "already uploaded" in out.getvalue() and f"statement {kept.pk}" in out.getvalue()


@pytest.mark.django_db
def test_the_command_with_sync_names_the_rows_and_fields_of_a_bad_file(world, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD)
    with pytest.raises(CommandError, match="row 3, field balance"):
        call_command("import_statement", "--kind", "custodian", "--sync", str(path))
    assert not Statement.objects.exists()
    assert StatementUpload.objects.get().status == BatchStatus.FAILED


# --- the admin ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_upload_goes_to_the_upload_page_with_its_status(
    world,
    as_role,  # noqa: F811
    queued,
    django_capture_on_commit_callbacks,
):
    client = as_role("staff")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("admin:holdings_statement_import"),
            {"kind": "custodian", "file": SimpleUploadedFile("cold.csv", STATEMENT)},
        )
    upload = StatementUpload.objects.get()
    page = reverse("admin:holdings_statementupload_change", args=[upload.pk])
    assert response.status_code == 302 and response["Location"] == page
    pending = client.get(page)
    text = pending.content.decode()
    assert "This upload is pending; the page refreshes itself" in text
    assert 'http-equiv="refresh"' in text
    [message] = [str(m) for m in pending.context["messages"]]
    assert message.startswith(f"cold.csv is queued as upload #{upload.pk}")

    for callback in callbacks:
        callback()
    done = client.get(page).content.decode()
    assert "Succeeded" in done and 'http-equiv="refresh"' not in done
    statement = Statement.objects.get()
    assert reverse("admin:holdings_statement_change", args=[statement.pk]) in done

    again = client.post(
        reverse("admin:holdings_statement_import"),
        {"kind": "custodian", "file": SimpleUploadedFile("again.csv", STATEMENT)},
        follow=True,
    )
    [message] = [str(m) for m in again.context["messages"]]
    assert f"was uploaded already, as upload #{upload.pk}" in message
    assert StatementUpload.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_shows_a_failed_upload_with_its_errors(
    world,
    as_role,  # noqa: F811
    queued,
    django_capture_on_commit_callbacks,
):
    client = as_role("staff")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:holdings_statement_import"),
            {"kind": "custodian", "file": SimpleUploadedFile("bad.csv", BAD)},
        )
    upload = StatementUpload.objects.get()
    text = client.get(
        reverse("admin:holdings_statementupload_change", args=[upload.pk])
    ).content.decode()
    assert "Failed" in text and "bad.csv" in text and "balance" in text
    assert not Statement.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_file_over_the_limit(world, as_role, settings):  # noqa: F811
    settings.STATEMENT_UPLOAD_MAX_BYTES = 1024
    response = as_role("staff").post(
        reverse("admin:holdings_statement_import"),
        {"kind": "custodian", "file": SimpleUploadedFile("big.csv", sized(1025))},
    )
    assert response.status_code == 200
    assert "at most 1,024 bytes" in response.content.decode()
    assert not StatementUpload.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["auditor", "staff", "approver"])
def test_the_upload_pages_render_for_every_role(world, as_role, role):  # noqa: F811
    upload, _ = statement_uploads.statement_upload_create(
        kind="custodian", file_name="cold.csv", content=STATEMENT
    )
    client = as_role(role)
    for url in (
        reverse("admin:holdings_statementupload_changelist"),
        reverse("admin:holdings_statementupload_change", args=[upload.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])


# --- the failed files' retention ---------------------------------------------------------


@pytest.mark.django_db
def test_the_cleanup_drops_old_failed_files_and_keeps_their_records(world, settings):
    settings.FAILED_CONTENT_KEEP_DAYS = 30
    now = timezone.now()
    old_upload = statement_uploads.statement_upload_run(
        upload_id=statement_uploads.statement_upload_create(
            kind="custodian", file_name="old.csv", content=BAD
        )[0].pk
    )
    recent_upload = statement_uploads.statement_upload_run(
        upload_id=statement_uploads.statement_upload_create(
            kind="lender", file_name="recent.csv", content=BAD
        )[0].pk
    )
    kept_upload = statement_uploads.statement_upload_run(
        upload_id=statement_uploads.statement_upload_create(
            kind="custodian", file_name="good.csv", content=STATEMENT
        )[0].pk
    )
    old_batch = production.import_batch_run(
        batch_id=production.import_batch_create(
            source="csv", file_name="old-pool.csv", content=b"not,a,pool,file\n"
        ).pk
    )
    assert old_upload.status == recent_upload.status == old_batch.status == BatchStatus.FAILED
    long_ago = now - timedelta(days=31)
    StatementUpload.objects.filter(pk=old_upload.pk).update(finished_at=long_ago)
    ImportBatch.objects.filter(pk=old_batch.pk).update(finished_at=long_ago)

    result = tasks.drop_failed_content.apply().get()

    assert result == {"batches": [old_batch.pk], "statement_uploads": [old_upload.pk]}
    old_upload.refresh_from_db()
    assert bytes(old_upload.content) == b"" and old_upload.content_dropped_at is not None
    assert old_upload.errors and old_upload.file_sha256 == hashlib.sha256(BAD).hexdigest()
    assert old_upload.file_size == len(BAD)
    old_batch.refresh_from_db()
    assert bytes(old_batch.content) == b"" and old_batch.content_dropped_at is not None
    assert old_batch.errors and old_batch.status == BatchStatus.FAILED
    recent_upload.refresh_from_db()
    assert bytes(recent_upload.content) == BAD and recent_upload.content_dropped_at is None
    kept_upload.refresh_from_db()
    assert kept_upload.content_dropped_at is None
    assert bytes(Statement.objects.get().content) == STATEMENT
    # Once dropped, a batch cannot be imported again; the cleanup does nothing twice.
    with pytest.raises(InvalidSetup, match="upload the file again"):
        production.import_batch_retry(batch=old_batch.pk)
    assert tasks.drop_failed_content.apply().get() == {"batches": [], "statement_uploads": []}
    # The audit log shows the drop, never the file.
    for table, pk in (
        ("holdings_importbatch", old_batch.pk),
        ("holdings_statementupload", old_upload.pk),
    ):
        rows = AuditLog.objects.filter(table_name=table, record_id=str(pk))
        assert rows.exists()
        for row in rows:
            assert "content" not in (row.old or {}) and "content" not in (row.new or {})
        assert any((row.new or {}).get("content_dropped_at") for row in rows)


@pytest.mark.django_db
def test_the_cleanup_is_scheduled_nightly():
    task = PeriodicTask.objects.get(task="holdings.drop_failed_content")
    assert task.enabled and task.crontab is not None


@pytest.mark.django_db
def test_a_batch_whose_file_was_dropped_says_so_and_offers_no_retry(
    world,
    as_role,  # noqa: F811
):
    batch = production.import_batch_run(
        batch_id=production.import_batch_create(
            source="csv", file_name="old-pool.csv", content=b"not,a,pool,file\n"
        ).pk
    )
    ImportBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now() - timedelta(days=400))
    statement_uploads.failed_content_drop()
    page = as_role("staff").get(reverse("admin:holdings_importbatch_change", args=[batch.pk]))
    text = page.content.decode()
    assert "dropped on" in text
    assert reverse("admin:holdings_importbatch_retry", args=[batch.pk]) not in text
