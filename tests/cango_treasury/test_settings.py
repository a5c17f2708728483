"""Settings from the environment: what production must set, the broker, the import sweep.

Each case imports the settings in a process of its own with exactly the environment given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from cango_treasury.celery import app as celery_app
from holdings.models import BatchStatus, ImportBatch
from holdings.selectors import production
from holdings.tasks import verify_lots

ROOT = Path(__file__).resolve().parents[2]
APP_URL = "postgresql://cango_app:app-secret@db.example.com:5432/cango_treasury"
OWNER_URL = "postgresql://cango_owner:owner-secret@db.example.com:5432/cango_treasury"
# Set empty (a local .env cannot fill them in) or, where empty is not a value, left out.
BLANK = ("CANGO_DEVELOPMENT", "DATABASE_URL", "DATABASE_OWNER_URL", "DJANGO_SECRET_KEY")
VARIABLES = (
    *BLANK,
    "DJANGO_DEBUG",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CELERY_BROKER_VISIBILITY_TIMEOUT",
    "IMPORT_SWEEP_EVERY_MINUTES",
    "IMPORT_STALE_AFTER_MINUTES",
)
PRODUCTION = {"DATABASE_URL": APP_URL, "DJANGO_SECRET_KEY": "k" * 60}


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update(dict.fromkeys(BLANK, ""))
    env.update(
        CANGO_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="cango_treasury.settings"
    )
    env.update(variables)
    return env


def load(tmp_path: Path, *names: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Import the settings and print the named ones as JSON."""
    script = (
        "import json\n"
        "from django.conf import settings\n"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def values(tmp_path: Path, *names: str, **variables: str) -> dict:
    result = load(tmp_path, *names, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refusal(tmp_path: Path, **variables: str) -> str:
    result = load(tmp_path, "DEBUG", **variables)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr.strip().splitlines()[-1]


# --- what production must set ---------------------------------------------------------------


def test_production_refuses_to_start_without_database_url(tmp_path):
    message = refusal(tmp_path, DJANGO_SECRET_KEY="k" * 60)
    assert "DATABASE_URL is not set" in message
    assert "DJANGO_SECRET_KEY" not in message
    assert "CANGO_DEVELOPMENT=true" in message
    # Nothing was started or written in its place: no embedded database, no key.
    assert not (tmp_path / "data" / "postgres").exists()


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    message = refusal(tmp_path, DATABASE_URL=APP_URL)
    assert "DJANGO_SECRET_KEY is not set" in message
    assert "DATABASE_URL" not in message.split(".")[0]
    assert not (tmp_path / "data" / "secret_key").exists()


def test_both_missing_are_named_at_once(tmp_path):
    message = refusal(tmp_path)
    assert "DATABASE_URL is not set" in message and "DJANGO_SECRET_KEY is not set" in message


def test_debug_does_not_choose_the_embedded_database(tmp_path):
    assert "DATABASE_URL is not set" in refusal(tmp_path, DJANGO_DEBUG="true")


def test_debug_may_generate_its_secret_key(tmp_path):
    loaded = values(tmp_path, "DEBUG", DATABASE_URL=APP_URL, DJANGO_DEBUG="true")
    assert loaded == {"DEBUG": True}
    assert (tmp_path / "data" / "secret_key").exists()


def test_production_with_both_starts(tmp_path):
    loaded = values(tmp_path, "DEBUG", "SECRET_KEY", **PRODUCTION)
    assert loaded == {"DEBUG": False, "SECRET_KEY": "k" * 60}
    assert not (tmp_path / "data" / "secret_key").exists()


def test_development_mode_falls_back_to_a_generated_key(tmp_path):
    loaded = values(tmp_path, "SECRET_KEY", DATABASE_URL=APP_URL, CANGO_DEVELOPMENT="true")
    assert loaded["SECRET_KEY"] == (tmp_path / "data" / "secret_key").read_text().strip()


# --- the two database roles -------------------------------------------------------------------


def test_the_owner_url_is_used_for_migrations_only(tmp_path):
    loaded = values(
        tmp_path,
        "DATABASES",
        "DATABASE_OWNER",
        "DATABASE_APPLICATION_ROLE",
        DATABASE_OWNER_URL=OWNER_URL,
        **PRODUCTION,
    )
    default = loaded["DATABASES"]["default"]
    assert (default["USER"], default["PASSWORD"], default["HOST"]) == (
        "cango_app",
        "app-secret",
        "db.example.com",
    )
    assert loaded["DATABASE_OWNER"] == {
        "USER": "cango_owner",
        "PASSWORD": "owner-secret",
        "HOST": "db.example.com",
        "PORT": 5432,
        "OPTIONS": {},
    }
    assert loaded["DATABASE_APPLICATION_ROLE"] == "cango_app"


def test_without_an_owner_url_the_application_owns_its_tables(tmp_path):
    loaded = values(tmp_path, "DATABASE_OWNER", "DATABASE_APPLICATION_ROLE", **PRODUCTION)
    assert loaded == {"DATABASE_OWNER": {}, "DATABASE_APPLICATION_ROLE": ""}
    same = values(
        tmp_path,
        "DATABASE_OWNER",
        "DATABASE_APPLICATION_ROLE",
        DATABASE_OWNER_URL=APP_URL,
        **PRODUCTION,
    )
    assert same == {"DATABASE_OWNER": {}, "DATABASE_APPLICATION_ROLE": ""}


def test_the_owner_url_must_name_the_same_database(tmp_path):
    message = refusal(
        tmp_path, DATABASE_OWNER_URL=OWNER_URL.replace("/cango_treasury", "/other"), **PRODUCTION
    )
    assert "DATABASE_OWNER_URL names the database 'other'" in message


def test_the_deploy_check_warns_when_the_application_owns_its_tables(tmp_path):
    def check(**variables: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--tag", "security"],
            cwd=ROOT,
            env=environment(tmp_path, **variables),
            capture_output=True,
            text=True,
            timeout=120,
        )

    alone = check(**PRODUCTION)
    assert "cango_treasury.W001" in alone.stdout + alone.stderr
    assert "DATABASE_OWNER_URL is not set" in alone.stdout + alone.stderr
    two_roles = check(DATABASE_OWNER_URL=OWNER_URL, **PRODUCTION)
    assert "cango_treasury.W001" not in two_roles.stdout + two_roles.stderr


# --- the broker -------------------------------------------------------------------------------


def test_the_visibility_timeout_is_set_on_redis_and_sqs(tmp_path):
    names = ("CELERY_BROKER_TRANSPORT_OPTIONS", "CELERY_BROKER_VISIBILITY_TIMEOUT")
    default = values(tmp_path, *names, CELERY_BROKER_URL="redis://127.0.0.1:6379/0", **PRODUCTION)
    assert default == {
        "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 1800},
        "CELERY_BROKER_VISIBILITY_TIMEOUT": 1800,
    }
    for url in ("redis://127.0.0.1:6379/0", "rediss://cache.example.com:6380/1", "sqs://"):
        loaded = values(
            tmp_path,
            *names,
            CELERY_BROKER_URL=url,
            CELERY_BROKER_VISIBILITY_TIMEOUT="600",
            **PRODUCTION,
        )
        assert loaded["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"visibility_timeout": 600}, url


def test_the_celery_app_takes_the_visibility_timeout(tmp_path):
    script = (
        "from cango_treasury.celery import app\n"
        "print(app.conf.broker_transport_options['visibility_timeout'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment(
            tmp_path,
            CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
            CELERY_BROKER_VISIBILITY_TIMEOUT="900",
            **PRODUCTION,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["900"]


def test_the_filesystem_broker_has_no_visibility_timeout_and_a_bad_one_is_refused(tmp_path):
    loaded = values(tmp_path, "CELERY_BROKER_TRANSPORT_OPTIONS", **PRODUCTION)
    assert "visibility_timeout" not in loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert loaded["CELERY_BROKER_TRANSPORT_OPTIONS"]["data_folder_in"].startswith(
        str(tmp_path / "data" / "broker")
    )
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT" in refusal(
        tmp_path, CELERY_BROKER_VISIBILITY_TIMEOUT="0", **PRODUCTION
    )


def test_the_suite_has_a_broker_of_its_own(broker_folders):
    """Whatever CELERY_BROKER_URL says, a task a test sends lands in the suite's folder."""
    wanted = os.environ.get("TEST_CELERY_BROKER_URL") or "filesystem://"
    assert celery_app.conf.broker_url == wanted
    assert celery_app.conf.result_backend == "django-db"
    if wanted != "filesystem://":
        return
    own = str(broker_folders["queue"])
    assert celery_app.conf.broker_transport_options["data_folder_in"] == own
    assert not own.startswith(str(django_settings.DATA_DIR))
    before = set(broker_folders["queue"].iterdir())
    verify_lots.delay()
    sent = set(broker_folders["queue"].iterdir()) - before
    assert len(sent) == 1
    for message in sent:
        message.unlink()


def test_a_broker_in_the_environment_is_not_the_suites(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TEST_CELERY_BROKER_URL"}
    # Nothing listens there: had the suite used it, sending would fail.
    env.update(
        CELERY_BROKER_URL="redis://127.0.0.1:9/0", CELERY_RESULT_BACKEND="redis://127.0.0.1:9/1"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Its temporary files in this test's: a pytest with no --basetemp takes the
            # user's temporary root back to mode 0700, which locks the embedded PostgreSQL
            # of another test running meanwhile (its data under that root) out of its files.
            f"--basetemp={tmp_path / 'pytest'}",
            f"{Path(__file__).relative_to(ROOT)}::test_the_suite_has_a_broker_of_its_own",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


# --- the stalled-import sweep -----------------------------------------------------------------


def test_the_sweep_interval_and_threshold_come_from_the_environment(tmp_path):
    names = ("CELERY_BEAT_SCHEDULE", "IMPORT_SWEEP_EVERY_MINUTES", "IMPORT_STALE_AFTER_MINUTES")
    assert values(tmp_path, *names, **PRODUCTION) == {
        "CELERY_BEAT_SCHEDULE": {},
        "IMPORT_SWEEP_EVERY_MINUTES": 0,
        "IMPORT_STALE_AFTER_MINUTES": 15,
    }
    loaded = values(
        tmp_path,
        *names,
        IMPORT_SWEEP_EVERY_MINUTES="5",
        IMPORT_STALE_AFTER_MINUTES="45",
        **PRODUCTION,
    )
    assert loaded == {
        "CELERY_BEAT_SCHEDULE": {
            "Resume stalled imports": {
                "task": "holdings.resume_stalled_imports",
                "schedule": str(timedelta(minutes=5)),
            }
        },
        "IMPORT_SWEEP_EVERY_MINUTES": 5,
        "IMPORT_STALE_AFTER_MINUTES": 45,
    }
    assert "IMPORT_STALE_AFTER_MINUTES" in refusal(
        tmp_path, IMPORT_STALE_AFTER_MINUTES="-1", **PRODUCTION
    )


@pytest.mark.django_db(transaction=True)  # beat commits as it goes
def test_beat_writes_the_sweep_interval_into_the_schedule():
    saved = celery_app.conf.beat_schedule
    celery_app.conf.beat_schedule = {
        "Resume stalled imports": {
            "task": "holdings.resume_stalled_imports",
            "schedule": timedelta(minutes=5),
        }
    }
    try:
        DatabaseScheduler(app=celery_app)
    finally:
        celery_app.conf.beat_schedule = saved
    task = PeriodicTask.objects.get(name="Resume stalled imports")
    assert task.task == "holdings.resume_stalled_imports"
    assert task.crontab is None
    assert (task.interval.every, task.interval.period) == (300, "seconds")


@pytest.mark.django_db
def test_the_stalled_threshold_is_read_when_the_sweep_runs(settings):
    batch = ImportBatch.objects.create(
        source="csv", file_name="waiting.csv", file_sha256="0" * 64, content=b""
    )
    ImportBatch.objects.filter(pk=batch.pk).update(
        created_at=timezone.now() - timedelta(minutes=20), status=BatchStatus.PENDING
    )
    settings.IMPORT_STALE_AFTER_MINUTES = 30
    assert production.stalled_batch_ids() == []
    settings.IMPORT_STALE_AFTER_MINUTES = 10
    assert production.stalled_batch_ids() == [batch.pk]
