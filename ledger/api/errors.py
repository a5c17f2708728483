"""Every error answers with one JSON shape, never 500 for a caller's mistake.

    {"code": "...", "detail": "what is wrong", "field": "postings[1].quantity",
     "errors": [{"field": ..., "code": ..., "detail": ...}, ...]}

Ledger errors become 400 (409 for a clash with what is recorded, 403 for what the user may
not do, such as approving their own journal) naming the field at fault.
Validation errors name the first field at fault in `field` and list every problem in `errors`,
with paths such as `postings[0].value`. Other API errors (401, 403, 404, 405, 406, 415) carry
`code` and `detail` only.

What Django answers before or after a view (a path that matches no route, a body too large,
an error that escaped) is JSON in the same shape under /api/ too: see the handlers at the
end, named in the root URLconf.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ledger.errors import Conflict, Forbidden, LedgerError

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, LedgerError):
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, Conflict)
            else status.HTTP_403_FORBIDDEN
            if isinstance(exc, Forbidden)
            else status.HTTP_400_BAD_REQUEST
        )
        return Response(exc.as_dict(), status=code)
    if isinstance(exc, DataError):
        # A value PostgreSQL cannot take (a NUL byte in text, say) that got past validation,
        # for instance in an authentication header: the caller's input, so a 400, not a 500.
        logger.warning("database refused request data: %s", exc)
        return Response(
            {
                "code": "invalid_input",
                "detail": "The request contains a value the ledger cannot store.",
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        # A rule PostgreSQL keeps refused the write at commit, after the services' own checks
        # passed: the books stand as they were (nothing was written). Typically the records
        # were changed below the application (the nightly integrity check names them).
        diag = getattr(exc.__cause__, "diag", None)
        rule = getattr(diag, "constraint_name", None) or "integrity_violation"
        message = getattr(diag, "message_primary", None) or str(exc).splitlines()[0]
        logger.error("the database refused a write: %s", message)
        return Response(
            {"code": rule, "detail": f"The ledger's database refused this: {message}"},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        response.data = validation_error_body(exc.detail)
    elif isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data = {"code": getattr(detail, "code", "error"), "detail": str(detail)}
    return response


def validation_error_body(detail: Any) -> dict[str, Any]:
    errors = list(_flatten(detail, ""))
    if not errors:  # pragma: no cover - DRF never raises an empty ValidationError
        errors = [{"field": None, "code": "invalid", "detail": "Invalid input."}]
    first = errors[0]
    body: dict[str, Any] = {"code": first["code"], "detail": first["detail"]}
    if first["field"]:
        body["field"] = first["field"]
    body["errors"] = errors
    return body


def _flatten(detail: Any, path: str) -> Iterator[dict[str, Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                where = path
            elif isinstance(key, int):
                where = f"{path}[{key}]"
            else:
                where = f"{path}.{key}" if path else str(key)
            yield from _flatten(value, where)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                yield from _flatten(item, f"{path}[{index}]")
            else:
                yield from _flatten(item, path)
    else:
        code = detail.code if isinstance(detail, ErrorDetail) and detail.code else "invalid"
        yield {"field": path or None, "code": code, "detail": str(detail)}


# --- Django's own error pages, as JSON under /api/ ----------------------------------------

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(code: str, detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status_code)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A path under /api/ that names no route (`manual-journals/abc/`) is a JSON 404."""
    if _is_api(request):
        return json_error("not_found", "No such resource: nothing answers at this path.", 404)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413; another request Django
    refuses before the view (a malformed one) is a 400."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return json_error(
                "request_too_large", f"The request body is larger than {limit} bytes.", 413
            )
        return json_error("bad_request", "The request is malformed.", 400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return json_error("permission_denied", "This is not allowed.", 403)
    return defaults.permission_denied(request, exception)  # type: ignore[arg-type]


def server_error(request: HttpRequest) -> HttpResponse:
    """Whatever escaped a view is logged by Django; the caller gets the API's shape."""
    if _is_api(request):
        return json_error("server_error", "The server failed to answer this request.", 500)
    return defaults.server_error(request)
