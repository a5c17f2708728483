"""Shared fixtures. Every test runs against real PostgreSQL (embedded unless DATABASE_URL)."""

from __future__ import annotations

import csv
import importlib
from pathlib import Path

import factory
import pytest
from celery.contrib.testing.worker import start_worker
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.backends.postgresql.operations import DatabaseOperations
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cango_treasury.celery import app as celery_app
from ledger import roles
from ledger.services import chart_load

CHART = Path(__file__).resolve().parent.parent / "fixtures" / "chart_of_accounts.csv"

# Transactional tests end with a flush (TRUNCATE). The journal refuses TRUNCATE by trigger,
# so the test database's superuser flushes in replica mode, where those triggers are off.
_sql_flush = DatabaseOperations.sql_flush


def _sql_flush_past_guards(self, style, tables, *, reset_sequences=False, allow_cascade=False):
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


_SEED_MIGRATION = importlib.import_module("ledger.migrations.0003_seed_commodities_and_roles")


def ensure_reference_data() -> None:
    """What the migrations seed (a flush of a transactional test removes it), re-seeded by
    the migration's own function."""
    _SEED_MIGRATION.seed(django_apps, None)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the production hasher costs about a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    ensure_reference_data()


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
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
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


@pytest.fixture
def worker(broker_folders):
    """An in-process worker on a broker folder of its own (not the one `make run` uses)."""
    saved = dict(celery_app.conf.broker_transport_options)
    celery_app.conf.broker_transport_options = {
        "data_folder_in": str(broker_folders["queue"]),
        "data_folder_out": str(broker_folders["queue"]),
        "processed_folder": str(broker_folders["processed"]),
        "control_folder": str(broker_folders["control"]),
    }
    for leftover in broker_folders["queue"].iterdir():
        leftover.unlink()  # messages an earlier test left unconsumed
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        celery_app.conf.broker_transport_options = saved
