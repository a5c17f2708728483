"""The application's database role, against the test database: it reads and writes rows and
does all the product does, and nothing that would let it switch a rule off."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import pre_migrate
from psycopg import errors

from cango_treasury.database_roles import connected_as_owner
from ledger import selectors, services
from ledger.models import Account, JournalEntry

D = Decimal
ROLE_MIGRATION = importlib.import_module("ledger.migrations.0014_application_role")


@pytest.fixture
def app_settings(application_database) -> dict[str, Any]:
    if not application_database:
        pytest.skip("no application role: DATABASE_OWNER_URL is not set")
    return application_database


def connect(database: dict[str, Any]) -> psycopg.Connection:
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        **(database["OPTIONS"] or {}),
    )


@pytest.fixture
def as_app(app_settings) -> Iterator[psycopg.Connection]:
    """A raw connection as the application's role (the suite itself is the owner)."""
    with connect(app_settings) as conn:
        yield conn


@contextmanager
def django_as(database: dict[str, Any]) -> Iterator[None]:
    """Django's own connection, as `database`'s role, for the block."""
    keys = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    saved = {key: connection.settings_dict[key] for key in keys}
    connection.close()
    connection.settings_dict.update({key: database[key] for key in keys})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def refused(conn: psycopg.Connection, sql: str, error: type[Exception]) -> str:
    with pytest.raises(error) as caught, conn.transaction():
        conn.execute(sql)  # type: ignore[arg-type]
    return str(caught.value)


def raw_entry(debit: int, credit: int, quantity: str, value: str) -> str:
    return (
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status, "
        "payload_hash, created_at) VALUES ('2025-10-02', 'raw', 'general', 'posted', '', now()) "
        "RETURNING id) INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, "
        "effective_date, quantity, value) VALUES "
        f"((SELECT id FROM e), {debit}, 'USD', 2, '2025-10-02', {quantity}, {value}), "
        f"((SELECT id FROM e), {credit}, 'USD', 2, '2025-10-02', -1.00, -1.00)"
    )


@pytest.mark.django_db
def test_the_application_role_owns_nothing_and_is_no_superuser(as_app):
    role, superuser, createrole, createdb, bypassrls = as_app.execute(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    assert role == settings.DATABASE_APPLICATION_ROLE
    assert (superuser, createrole, createdb, bypassrls) == (False, False, False, False)
    owned = as_app.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "AND n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'"
    ).fetchone()
    assert owned == (0,)


@pytest.mark.django_db
def test_the_application_role_cannot_disable_a_trigger(as_app):
    for statement in (
        "ALTER TABLE ledger_journalentry DISABLE TRIGGER ALL",
        "ALTER TABLE ledger_posting DISABLE TRIGGER USER",
        "ALTER TABLE holdings_lot DISABLE TRIGGER ALL",
    ):
        assert "must be owner of table" in refused(as_app, statement, errors.InsufficientPrivilege)
    trigger = as_app.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_journalentry'::regclass "
        "AND NOT tgisinternal LIMIT 1"
    ).fetchone()[0]
    assert "must be owner" in refused(
        as_app, f'DROP TRIGGER "{trigger}" ON ledger_journalentry', errors.InsufficientPrivilege
    )
    assert "permission denied" in refused(
        as_app, "TRUNCATE ledger_journalentry CASCADE", errors.InsufficientPrivilege
    )


@pytest.mark.django_db
def test_the_application_role_cannot_switch_to_replica_mode(as_app):
    message = refused(
        as_app, "SET session_replication_role = replica", errors.InsufficientPrivilege
    )
    assert 'permission denied to set parameter "session_replication_role"' in message
    assert "permission denied" in refused(
        as_app,
        "SELECT set_config('session_replication_role', 'replica', true)",
        errors.InsufficientPrivilege,
    )


@pytest.mark.django_db
def test_the_application_role_creates_nothing(as_app):
    server = as_app.info.server_version
    if server >= 150000:  # before 15 every role may create in the public schema by default
        assert "permission denied for schema public" in refused(
            as_app, "CREATE TABLE escape (id int)", errors.InsufficientPrivilege
        )
    assert "permission denied" in refused(
        as_app,
        "CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql "
        "AS 'BEGIN RETURN NULL; END'",
        errors.InsufficientPrivilege,
    )


@pytest.mark.django_db
def test_the_application_role_creates_no_temporary_table_nor_function(as_app):
    """A temporary table of its own carried a trigger of its own, whose statements passed the
    guards of the roll-ups, the audit log and the checks at commit as nested trigger work."""
    assert "permission denied to create temporary tables" in refused(
        as_app, "CREATE TEMP TABLE escape (id int)", errors.InsufficientPrivilege
    )
    assert "permission denied to create temporary tables" in refused(
        as_app,
        "CREATE FUNCTION pg_temp.escape() RETURNS trigger LANGUAGE plpgsql "
        "AS 'BEGIN UPDATE ledger_dailybalance SET quantity = quantity + 1; RETURN NULL; END'",
        errors.InsufficientPrivilege,
    )


@pytest.mark.django_db(transaction=True)
def test_the_deploy_check_warns_when_the_application_may_create_temporary_tables(app_settings):
    from cango_treasury.checks import application_creates_nothing

    role = connection.ops.quote_name(app_settings["USER"])
    database = connection.ops.quote_name(app_settings["NAME"])
    with django_as(app_settings):
        assert application_creates_nothing() == []
    with connection.cursor() as cursor:  # the suite is the owner
        cursor.execute(f"GRANT TEMPORARY ON DATABASE {database} TO {role}")
    try:
        with django_as(app_settings):
            [warning] = application_creates_nothing()
        assert warning.id == "cango_treasury.W002"
        assert app_settings["USER"] in warning.msg
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM {role}")


@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_write_an_unbalanced_entry(chart, as_app):
    debit = Account.objects.get(code="1000").pk
    credit = Account.objects.get(code="3000").pk
    with pytest.raises(errors.CheckViolation) as caught, as_app.transaction():
        as_app.execute(raw_entry(debit, credit, "5.00", "5.00"))  # type: ignore[arg-type]
        as_app.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert "ledger_entry_balanced" in str(caught.value)
    # A balanced one, by the same raw SQL, is taken: the role writes rows, within the rules.
    with as_app.transaction():
        as_app.execute(raw_entry(debit, credit, "1.00", "1.00"))  # type: ignore[arg-type]
    assert JournalEntry.objects.filter(memo="raw").count() == 1


@pytest.mark.django_db
def test_every_table_sequence_and_function_is_granted_and_nothing_more(as_app):
    """Those of every migration, before ledger 0014 and after it (default privileges)."""
    missing = as_app.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT ("
        "has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') AND "
        "has_table_privilege(c.oid, 'UPDATE') AND has_table_privilege(c.oid, 'DELETE'))"
    ).fetchall()
    assert missing == []
    beyond = as_app.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND ("
        "has_table_privilege(c.oid, 'TRUNCATE') OR has_table_privilege(c.oid, 'TRIGGER') "
        "OR has_table_privilege(c.oid, 'REFERENCES'))"
    ).fetchall()
    assert beyond == []
    sequences = as_app.execute(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "AND NOT has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'USAGE')"
    ).fetchall()
    assert sequences == []
    functions = as_app.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND NOT has_function_privilege(p.oid, 'EXECUTE')"
    ).fetchall()
    assert functions == []
    tables = as_app.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchone()[0]
    assert tables > 50  # the whole schema, not an empty database


@pytest.mark.django_db(transaction=True)
def test_what_the_product_does_at_run_time_works_as_the_application_role(chart, as_app):
    with as_app.transaction():
        as_app.execute("SET LOCAL synchronous_commit = off")
        as_app.execute("SELECT set_config('cango.actor', 'test', false)")
        as_app.execute("SELECT pg_advisory_xact_lock(hashtext('cango'))")
        as_app.execute("LOCK TABLE ledger_journalentry IN SHARE ROW EXCLUSIVE MODE")
        as_app.execute("LOCK TABLE holdings_price IN SHARE ROW EXCLUSIVE MODE")
        with as_app.cursor().copy("COPY django_content_type (app_label, model) FROM STDIN") as copy:
            copy.write_row(("roles_test", "copied"))
        assert as_app.execute(
            "SELECT count(*) FROM django_content_type WHERE app_label = 'roles_test'"
        ).fetchone() == (1,)
        as_app.execute("SELECT count(*) FROM pg_stat_activity").fetchone()
        raise psycopg.Rollback()  # nothing of this is kept


@pytest.mark.django_db(transaction=True)
def test_the_application_role_posts_an_entry_through_the_service(chart, app_settings):
    with django_as(app_settings):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (settings.DATABASE_APPLICATION_ROLE,)
        entry = services.entry_post(
            effective_date=date(2025, 10, 1),
            memo="mined, as the application",
            postings=[("1300", D("0.5"), D("50000.00")), ("4000", D("-50000"), D("-50000"))],
        )
        balance = selectors.account_balance(account="1300", as_of=date(2025, 10, 1))
        assert (balance.quantity, balance.value) == (D("0.5"), D("50000.00"))
        assert JournalEntry.objects.get(pk=entry.pk).memo == "mined, as the application"


@pytest.mark.django_db(transaction=True)
def test_migrate_connects_as_the_owner_and_then_no_more(app_settings):
    seen: list[str] = []

    def who(**kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            seen.append(cursor.fetchone()[0])

    owner = settings.DATABASE_OWNER["USER"]
    with django_as(app_settings):
        with connected_as_owner(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (owner,)
        pre_migrate.connect(who, dispatch_uid="roles-test")
        try:
            call_command("migrate", verbosity=0)
        finally:
            pre_migrate.disconnect(dispatch_uid="roles-test")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (settings.DATABASE_APPLICATION_ROLE,)
    assert seen and set(seen) == {owner}


@pytest.mark.django_db
def test_the_role_migration_grants_and_its_reverse_revokes(app_settings):
    role = settings.DATABASE_APPLICATION_ROLE

    def can_insert() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT has_table_privilege(%s, 'ledger_journalentry', 'INSERT')", [role]
            )
            return cursor.fetchone()[0]

    assert can_insert()
    with connection.schema_editor() as editor:
        ROLE_MIGRATION.revoke(django_apps, editor)
    assert not can_insert()
    with connection.schema_editor() as editor:
        ROLE_MIGRATION.grant(django_apps, editor)
    assert can_insert()  # the test's transaction undoes both


@pytest.mark.django_db
def test_the_role_migration_does_nothing_without_an_application_role(settings):
    settings.DATABASE_APPLICATION_ROLE = ""
    with connection.schema_editor() as editor:
        ROLE_MIGRATION.revoke(django_apps, editor)
        assert editor.deferred_sql == []
    settings.DATABASE_APPLICATION_ROLE = "no_such_role_here"
    with connection.schema_editor() as editor:
        ROLE_MIGRATION.grant(django_apps, editor)
