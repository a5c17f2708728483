"""Who acted: the actor the audit triggers (ledger/sql/audit.sql) record on
every change.

PostgreSQL writes the audit log; the application only tells it who is acting, through three
settings of the database session (`cango.actor`, `cango.actor_user_id`, `cango.context`):

- a request (admin or API): the logged-in user, set by AuditActorMiddleware, and for an API
  token by the token authentication once it knows the user (``acting_user``);
- a Celery task: ``task:<name>`` (task_prerun/task_postrun);
- a management command: ``command:<name>`` (BaseCommand.execute);
- anything else (psql, raw SQL from a shell): the triggers fall back to the database role.

The settings are set for the session, not with SET LOCAL: Django runs in autocommit, where a
transaction-local setting would end with the first statement (the one-statement posting path
has no transaction to set it in). Each actor is therefore set when it starts acting and
cleared when it stops, and set again on any connection opened meanwhile.

This module also reads the log (``audit_log``), for the API and the admin.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

from ledger.models import AuditLog

logger = logging.getLogger(__name__)

CONTEXT_LENGTH = 300
_SET = (
    "SELECT set_config('cango.actor', %s, false), set_config('cango.actor_user_id', %s, false),"
    " set_config('cango.context', %s, false)"
)


@dataclass(frozen=True)
class Actor:
    label: str  # user:<username>, task:<name>, command:<name>
    user_id: int | None = None
    context: str = ""


_current: ContextVar[Actor | None] = ContextVar("cango_audit_actor", default=None)


def current_actor() -> Actor | None:
    return _current.get()


def user_actor(user: Any, context: str = "") -> Actor | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Actor(label=f"user:{user.get_username()}", user_id=user.pk, context=context)


def _values(actor: Actor | None) -> tuple[str, str, str]:
    if actor is None or not actor.label:
        return ("", "", "")
    user_id = "" if actor.user_id is None else str(actor.user_id)
    # A setting cannot hold NUL, which a request's path may (%00): written visibly instead.
    label, context = (text.replace("\x00", "\\x00") for text in (actor.label, actor.context))
    return (label, user_id, context[:CONTEXT_LENGTH])


def _apply(actor: Actor | None) -> None:
    """Tell the database session who acts; a connection not open yet is told on opening."""
    if connection.connection is None:
        return
    values = _values(actor)
    # Outside a transaction the session keeps what was set; inside one, a rollback would
    # undo it, so what the session holds is known again only after the next setting.
    if not connection.in_atomic_block and getattr(connection, "_audit_actor", None) == values:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(_SET, values)
    except DatabaseError:
        connection._audit_actor = None  # type: ignore[attr-defined]
        if values[0]:
            raise
        # Clearing failed (a broken connection): drop it rather than leave an actor behind.
        logger.warning("could not clear the audit actor; closing the connection")
        connection.close()
        return
    connection._audit_actor = None if connection.in_atomic_block else values  # type: ignore[attr-defined]


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.alias != "default":
        return
    values = _values(_current.get())
    if values[0]:
        with connection.cursor() as cursor:
            cursor.execute(_SET, values)
    connection._audit_actor = values if not connection.in_atomic_block else None


connection_created.connect(_on_connection_created, dispatch_uid="ledger.audit.actor")


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    """Within the block, audit rows name `actor` (None: the database role)."""
    token = _current.set(actor)
    try:
        # Inside the try: an actor the session refuses is still reset, never left behind
        # for the thread's next request.
        _apply(actor)
        yield
    finally:
        _current.reset(token)
        _apply(_current.get())


def act_as(actor: Actor | None) -> None:
    """Change the actor of the block in progress (an API token identifies its user only
    after the middleware began the request); the block's end restores what was before it."""
    _current.set(actor)
    _apply(actor)


def acting_user(user: Any) -> None:
    """The request in progress is made by `user` (called once authentication knows it)."""
    current = _current.get()
    if current is None:  # not inside a request (no middleware): nothing to change
        return
    actor = user_actor(user, context=current.context)
    if actor is not None and actor != current:
        act_as(actor)


class AuditActorMiddleware:
    """Every request acts as its user (the session's; the API's token authentication
    replaces it with the token's user)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = f"{request.method} {request.path}"[:CONTEXT_LENGTH]
        user = getattr(request, "user", None)
        # Anonymous so far (an API token is read later, by the view): nothing to tell the
        # database yet, but the request's context is kept for when the user is known.
        actor = user_actor(user, context) or Actor(label="", context=context)
        with acting_as(actor):
            return self.get_response(request)


# --- Celery tasks and management commands ------------------------------------------------

_task_blocks: dict[str, Any] = {}


def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task is None or task_id is None:
        return
    outer = _current.get()
    context = f"task {task_id}"
    if outer is not None:  # run eagerly, inside a request or command
        context = f"{context}, from {outer.label}"
    block = acting_as(Actor(label=f"task:{task.name}", context=context))
    block.__enter__()
    _task_blocks[task_id] = block


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    block = _task_blocks.pop(task_id or "", None)
    if block is not None:
        block.__exit__(None, None, None)


def install_task_hooks() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, dispatch_uid="ledger.audit.task_started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="ledger.audit.task_finished", weak=False)


def install_command_hook() -> None:
    """Management commands act as `command:<name>` (Django sends no signal for them)."""
    from django.core.management.base import BaseCommand

    execute = BaseCommand.execute
    if getattr(execute, "_audited", False):
        return

    @functools.wraps(execute)
    def audited_execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with acting_as(Actor(label=f"command:{name}", context=f"manage.py {name}")):
            return execute(self, *args, **options)

    audited_execute._audited = True  # type: ignore[attr-defined]
    BaseCommand.execute = audited_execute  # type: ignore[method-assign]


# --- reading the log ---------------------------------------------------------------------


def table_of(model_label: str) -> str | None:
    """`holdings.lot` -> `holdings_lot`; None for an unknown model."""
    try:
        return apps.get_model(model_label)._meta.db_table
    except (LookupError, ValueError):
        return None


@functools.cache
def models_by_table() -> dict[str, type[Model]]:
    return {
        model._meta.db_table: model
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy
    }


def model_label(table: str) -> str | None:
    model = models_by_table().get(table)
    return model._meta.label_lower if model is not None else None


def audited_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM ledger_audited_table ORDER BY table_name")
        return [row[0] for row in cursor.fetchall()]


def actor_label(actor: str) -> str:
    """A bare name is a user's: `alice` -> `user:alice`."""
    return actor if ":" in actor else f"user:{actor}"


def audit_log(
    *,
    table: str | None = None,
    record_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[AuditLog]:
    """The log, newest first; `start` and `end` are UTC dates, both included."""
    rows = AuditLog.objects.order_by("-id")
    if table is not None:
        rows = rows.filter(table_name=table)
    if record_id is not None:
        rows = rows.filter(record_id=record_id)
    if actor is not None:
        rows = rows.filter(actor=actor_label(actor))
    if action is not None:
        rows = rows.filter(action=action)
    if start is not None:
        rows = rows.filter(at__gte=_utc_midnight(start))
    if end is not None and end < date.max:
        rows = rows.filter(at__lt=_utc_midnight(end + timedelta(days=1)))
    return rows


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
