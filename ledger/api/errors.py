"""Ledger errors become 400 (409 for an idempotency conflict) with what is wrong, never 500."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ledger.errors import IdempotencyConflict, LedgerError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, LedgerError):
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, IdempotencyConflict)
            else status.HTTP_400_BAD_REQUEST
        )
        return Response(exc.as_dict(), status=code)
    return drf_exception_handler(exc, context)
