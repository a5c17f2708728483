"""A query parameter an operation does not take is a 400 naming it, never ignored.

What an operation takes is what the API's schema says it takes: its filters (django-filter),
its query serializer, its pagination (`page`, `page_size`, `cursor`), `format` where it
answers CSV. The schema is built from the same declarations the views use, once per
process, so what is accepted and what is documented cannot drift apart. `format` is
always accepted (`?format=json`), as DRF reads it on every view.
"""

from __future__ import annotations

import re
from functools import cache

from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request

ALWAYS_ACCEPTED = frozenset({"format"})
_PLACEHOLDER = re.compile(r"\{[^}]*\}|<[^>]*>")


def _shape(path: str) -> str:
    """/api/v1/loans/{code}/ and api/v1/loans/<str:code>/ both become /api/v1/loans/{}/."""
    return "/" + _PLACEHOLDER.sub("{}", path).lstrip("/")


@cache
def _declared() -> dict[tuple[str, str], frozenset[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    declared = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            declared[(_shape(path), method.upper())] = frozenset(names)
    return declared


def accepted_query_parameters(request: Request) -> frozenset[str]:
    """The query parameters the schema declares for this request's operation."""
    match = request.resolver_match
    route = match.route if match is not None else request.path
    method = "GET" if request.method == "HEAD" else request.method or "GET"
    declared = _declared().get((_shape(route), method), frozenset())
    return declared | ALWAYS_ACCEPTED


def refuse_unknown_query_parameters(request: Request) -> None:
    accepted = accepted_query_parameters(request)
    unknown = [name for name in request.query_params if name not in accepted]
    if not unknown:
        return
    listed = ", ".join(sorted(accepted)) or "none"
    raise ValidationError(
        {
            name: [
                ErrorDetail(
                    f"is not a parameter of this operation (it takes: {listed}).",
                    code="unknown_parameter",
                )
            ]
            for name in unknown
        }
    )
