"""Writes a client may retry: an Idempotency-Key makes the same request again answer what
the first created, and refuses the key with other content.

The key is claimed (inserted) before the work is done, in the same transaction: a second
request with the key waits on the first's row and, once it commits, answers its result; if
the first rolled back, the second does the work itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import psycopg
from django.db import IntegrityError, models, transaction

from holdings.models import RequestKey
from ledger.errors import IdempotencyConflict, InvalidEntry
from ledger.services import MAX_KEY_LENGTH

Result = TypeVar("Result", bound=models.Model)


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, bool | int) else str(value)


def payload_hash(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(_plain(payload), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_once(
    *,
    key: str | None,
    scope: str,
    payload: Mapping[str, Any],
    create: Callable[[], Result],
    load: Callable[[int], Result],
) -> tuple[Result, bool]:
    """`create()` once per key; the same key and payload again answers `load(id)` of what
    it created (False: a replay)."""
    if key is None:
        return create(), True
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidEntry(
            f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters", field="idempotency_key"
        )
    digest = payload_hash(payload)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = RequestKey.objects.create(key=key, scope=scope, payload_hash=digest)
        except IntegrityError as exc:
            if not isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise
            first = RequestKey.objects.get(key=key)
            if first.scope != scope or first.payload_hash != digest or first.result_id is None:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was already used for another request ({first.scope})",
                    field="idempotency_key",
                ) from None
            return load(first.result_id), False
        result = create()
        claim.result_id = result.pk
        claim.save(update_fields=["result_id"])
    return result, True
