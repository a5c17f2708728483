"""The OpenAPI schema lists every status an operation can answer, not only its own.

Some errors come from machinery every view shares rather than from the view: the role
check (401, 403), throttling (429), the query parameter check (400 for a parameter the
operation does not declare), a path that names no object (404), the exception handler for
writes (409 for a clash with what is recorded, 415 for a body of another media type, 413
for a body too large). LedgerAutoSchema adds those an operation does not describe itself,
in the API's error shape, so that the schema says what a client can get.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from ledger.api.serializers import ErrorSerializer

SHARED_ERRORS = {
    400: "Bad input, or a query parameter the operation does not take: `field` names it.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "Authenticated, but the role does not allow this.",
    404: "No such object (or page).",
    409: "The request clashes with what is recorded.",
    413: "The request body is larger than the API accepts.",
    415: "The body is not of a media type this operation reads.",
    429: "Too many requests: wait the seconds `Retry-After` names.",
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LedgerAutoSchema(AutoSchema):
    def _get_paginator(self) -> Any:
        # Only reads are paginated: a write that answers a list answers it whole.
        if self.method != "GET":
            return None
        return super()._get_paginator()

    def _shared_error_codes(self) -> list[int]:
        codes = [400, 401, 403, 429]
        if "{" in self.path:
            codes.append(404)
        if self.method in WRITE_METHODS:
            codes += [409, 413, 415]
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code in self._shared_error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    ErrorSerializer, str(code), direction=direction
                )
                responses[str(code)]["description"] = SHARED_ERRORS[code]
        return dict(sorted(responses.items()))
