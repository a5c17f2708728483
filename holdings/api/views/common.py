"""What the holdings API's views share: the errors they document, reading a query, the
filtered list."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse
from rest_framework import generics
from rest_framework.request import Request

from ledger.api.serializers import ErrorSerializer
from ledger.api.views import LedgerView

_DESCRIBED = {
    400: "Bad input: `field` names what is wrong, `errors` lists every problem.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "Authenticated, but the role does not allow this.",
    404: "No such object (or page).",
    409: "The request clashes with what is recorded.",
    415: "The body must be multipart/form-data.",
}
JSON_415 = OpenApiResponse(
    ErrorSerializer, description="The body must be JSON (Content-Type: application/json)."
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error answers of an operation, for its schema."""
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIBED[code]) for code in codes}


LIST_ERRORS = errors(400, 401, 403, 404)


def validated_query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def code_of(value: Any) -> str | None:
    return None if value is None else value.code


class FilteredList(LedgerView, generics.ListAPIView):
    """A read-only list, paginated, filtered by django-filter (an unknown value is a 400)."""

    filter_backends = [DjangoFilterBackend]
