"""Shared fixtures. Every test runs against real PostgreSQL (embedded unless DATABASE_URL)."""

from __future__ import annotations

import csv
import importlib
import os
import threading
import time
from pathlib import Path

import factory
import pytest
from celery.contrib.testing.worker import start_worker
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.backends.postgresql.operations import DatabaseOperations
from django.db.models.signals import post_migrate
from knox.models import AuthToken
from rest_framework.test import APIClient
from werkzeug import Response

from cango_treasury.celery import app as celery_app
from cango_treasury.database_roles import become_owner
from ledger import roles
from ledger.services import chart_load

CHART = Path(__file__).resolve().parent.parent / "fixtures" / "chart_of_accounts.csv"

# What the tests start (`manage.py` in a subprocess, the `make run` launcher) is on a
# development machine too.
os.environ.setdefault("CANGO_DEVELOPMENT", "true")
# Celery reads these from the environment before its configuration: they go, so that the
# suite's own broker (test_broker below) is the one used, here and in what tests start.
for _variable in (
    "CELERY_BROKER_URL",
    "CELERY_BROKER_READ_URL",
    "CELERY_BROKER_WRITE_URL",
    "CELERY_RESULT_BACKEND",
):
    os.environ.pop(_variable, None)

# How the application connects, before the suite takes the owner's role (below).
APPLICATION_DATABASE = {
    key: settings.DATABASES["default"].get(key)
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The suite connects as the tables' owner, as `migrate` does: it creates its database,
    and some tests switch triggers off (replica mode) to tamper with rows or empty tables."""
    become_owner()


@pytest.fixture(scope="session")
def application_database(django_db_setup):
    """Connection settings of the application's role, for the test database; empty when the
    application is configured to own its tables (no DATABASE_OWNER_URL)."""
    if not settings.DATABASE_APPLICATION_ROLE:
        return {}
    return {**APPLICATION_DATABASE, "NAME": settings.DATABASES["default"]["NAME"]}


# Transactional tests end with a flush (TRUNCATE). The journal refuses TRUNCATE by trigger,
# so the test database's superuser flushes in replica mode, where those triggers are off.
# Django's flush knows the models' tables only: it empties those the migrations made in SQL
# too (the subledger seals...), so that no test finds another's rows, all but the migrations'
# record, the chart version's single row and the subledgers' coverage, which the migrations
# seeded and which refuse to change.
_sql_flush = DatabaseOperations.sql_flush
_KEPT_BY_FLUSH = {"django_migrations", "ledger_chart_version", "holdings_subledgercoverage"}


def _sql_flush_past_guards(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    if tables:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            unknown = {name for (name,) in cursor.fetchall()} - {*tables, *_KEPT_BY_FLUSH}
        tables = [*tables, *sorted(unknown)]
    statements = _sql_flush(
        self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
    )
    if not statements:
        return statements
    return [
        "SET session_replication_role = replica",
        *statements,
        "SET session_replication_role = DEFAULT",
    ]


DatabaseOperations.sql_flush = _sql_flush_past_guards


# What the migrations seed: the commodities and the roles, and the nightly jobs' schedules
# (django-celery-beat's rows). A migration that seeds rows adds its function here.
_SEEDS = [
    ("ledger.migrations.0003_seed_commodities_and_roles", "seed"),
    ("ledger.migrations.0004_integrity_check_schedule", "schedule"),
    ("ledger.migrations.0011_journal_seal_schedule", "schedule"),
    ("holdings.migrations.0003_schedules", "schedule"),
    ("holdings.migrations.0007_loan_schedules", "schedule"),
    ("holdings.migrations.0010_reconciliation_rules", "schedule"),
    ("holdings.migrations.0011_pool_balance_schedule", "schedule"),
    ("holdings.migrations.0014_statement_uploads", "schedule"),
    ("holdings.migrations.0017_site_costs_and_fixed_assets", "seed"),
    ("holdings.migrations.0021_month_end_costs_schedule", "schedule"),
]


def ensure_reference_data() -> None:
    """What the migrations seed, seeded again by the migrations' own functions (each
    creates only what is missing)."""
    for module, function in _SEEDS:
        getattr(importlib.import_module(module), function)(django_apps, None)


def _reseed_after_flush(**kwargs) -> None:
    ensure_reference_data()


# A transactional test ends with a flush, which empties every table and then sends
# post_migrate (as `migrate` does): the reference data is seeded again right there, so every
# test starts with it whatever ran before it on the same database (tests run in any order,
# in parallel, each worker on a database of its own).
post_migrate.connect(
    _reseed_after_flush,
    sender=django_apps.get_app_config("ledger"),
    dispatch_uid="tests.reseed_after_flush",
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher costs about a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_api_throttling(settings):
    """The suite sends hundreds of requests from one address: the API's rates are off unless
    a test sets them (`settings.REST_FRAMEWORK`), and every test starts with no count."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None},
    }
    cache.clear()
    yield
    cache.clear()


class LateAnswer:
    """A pytest-httpserver handler that answers only after the client gave up (a timeout).
    `finish()` lets it answer and waits until the server has logged the request: the server
    is the session's, and a request answered later would show in the log of the next test."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.released = threading.Event()

    def __call__(self, _request) -> Response:
        self.released.wait(10)
        return Response("too late")

    def finish(self) -> None:
        logged = len(self.server.log) + 1
        self.released.set()
        deadline = time.monotonic() + 10
        while len(self.server.log) < logged and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.server.log) == logged


def token_for(user) -> str:
    """A new API token of `user` (the token itself; the database keeps its digest)."""
    _instance, token = AuthToken.objects.create(user=user)
    return token


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


@pytest.fixture
def reference_data(db):
    """The database with what the migrations seed: there for every test (`migrate` seeded
    it, and every flush seeds it again: _reseed_after_flush above)."""


@pytest.fixture
def chart(reference_data):
    with CHART.open(newline="") as handle:
        chart_load(rows=list(csv.DictReader(handle)))


@pytest.fixture
def staff_user(reference_data):
    return UserFactory(username="staff", role=roles.FINANCE_STAFF)


@pytest.fixture
def approver_user(reference_data):
    return UserFactory(username="approver", role=roles.FINANCE_APPROVER)


@pytest.fixture
def second_approver(reference_data):
    return UserFactory(username="approver2", role=roles.FINANCE_APPROVER)


@pytest.fixture
def auditor_user(reference_data):
    return UserFactory(username="auditor", role=roles.AUDITOR)


@pytest.fixture
def no_role_user(reference_data):
    return UserFactory(username="nobody")


ROLE_USERS = {
    "anonymous": None,
    "no_role": "no_role_user",
    "staff": "staff_user",
    "approver": "approver_user",
    "auditor": "auditor_user",
}


@pytest.fixture
def api_client_for(request, reference_data):
    """api_client_for("auditor") -> an APIClient authenticated by that role's token."""

    def make(role: str) -> APIClient:
        client = APIClient()
        fixture = ROLE_USERS[role]
        if fixture is not None:
            user = request.getfixturevalue(fixture)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
        return client

    return make


@pytest.fixture(scope="session")
def broker_folders(tmp_path_factory):
    """One broker folder for the whole run: the app's producer pool keeps the transport it
    was first given, so every test's worker must use the same folders."""
    root = tmp_path_factory.mktemp("broker")
    folders = {name: root / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    return folders


@pytest.fixture(scope="session", autouse=True)
def test_broker(broker_folders):
    """The suite's own broker, whatever CELERY_BROKER_URL says: a message a test sends never
    reaches a worker of `make run` or of a live deployment. TEST_CELERY_BROKER_URL names a
    real one (Redis...) for a run that wants it. Results go to the test database. Each
    process of a parallel run (pytest -n) has a queue of its own, its messages for its worker
    (whose tasks read its database)."""
    conf = celery_app.conf
    saved = {
        "broker_url": conf.broker_url,
        "broker_transport_options": dict(conf.broker_transport_options),
        "result_backend": conf.result_backend,
        "task_default_queue": conf.task_default_queue,
    }
    conf.task_default_queue = f"cango-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    conf.broker_url = os.environ.get("TEST_CELERY_BROKER_URL") or "filesystem://"
    conf.broker_transport_options = (
        {
            "data_folder_in": str(broker_folders["queue"]),
            "data_folder_out": str(broker_folders["queue"]),
            "processed_folder": str(broker_folders["processed"]),
            "control_folder": str(broker_folders["control"]),
        }
        if conf.broker_url.startswith("filesystem://")
        else {"visibility_timeout": settings.CELERY_BROKER_VISIBILITY_TIMEOUT}
    )
    conf.result_backend = "django-db"
    try:
        yield conf.broker_url
    finally:
        for key, value in saved.items():
            setattr(conf, key, value)


@pytest.fixture
def worker(test_broker, broker_folders):
    """An in-process worker on the suite's broker (not the one `make run` uses)."""
    if test_broker.startswith("filesystem://"):
        for leftover in broker_folders["queue"].iterdir():
            leftover.unlink()  # messages an earlier test left unconsumed
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield
