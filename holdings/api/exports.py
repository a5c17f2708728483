"""Exports of the books as files auditors check with their own tools.

`GET exports/beancount/?as_of=` answers the journal through `as_of` as a beancount file
(holdings.exports), streamed as it is written. Every role reads it (the default permission
class); errors are JSON, whatever the request accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.selectors.exports import beancount_export
from ledger.api.serializers import ErrorSerializer, UTCDateField
from ledger.api.views import LedgerView

BEANCOUNT_MEDIA_TYPE = "text/plain"

_DESCRIBED = {
    400: "Bad input: `field` names what is wrong, `errors` lists every problem.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "Authenticated, but the role does not allow this.",
}


class BeancountQuerySerializer(serializers.Serializer):
    as_of = UTCDateField(
        required=False,
        help_text="UTC date YYYY-MM-DD: entries through the end of that day; today (UTC) by "
        "default.",
    )


class BeancountRenderer(BaseRenderer):
    """What content negotiation settles on: the file itself is a streamed response, and
    errors are rendered as JSON (finalize_response)."""

    media_type = BEANCOUNT_MEDIA_TYPE
    format = "beancount"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:  # pragma: no cover - finalize_response renders errors as JSON
        return JSONRenderer().render(data)


@extend_schema(tags=["reports"])
class BeancountExportView(LedgerView):
    renderer_classes = [BeancountRenderer]

    @extend_schema(
        operation_id="exports_beancount",
        summary="The journal through a UTC date as a beancount file",
        description=(
            "Every posted entry through `as_of` as a beancount transaction (postings to "
            "accounts in a commodity other than USD held at their USD cost, lot by lot with "
            "acquisition date and a `lot-<id>` label), an `open` per account (named "
            "`<root>:<code>:...` down the chart's tree, the ledger code as metadata), a "
            "`price` per price, and a `balance` assertion per account at the start of the "
            "next day. `bean-check` accepts it; its balances are the trial balance's, in "
            "units and in USD at cost. Sent as the attachment "
            "`cango-treasury-<as_of>.beancount`."
        ),
        parameters=[BeancountQuerySerializer],
        responses={
            (200, BEANCOUNT_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.STR, description="The beancount file (UTF-8)."
            ),
            **{
                (code, "application/json"): OpenApiResponse(ErrorSerializer, description=text)
                for code, text in _DESCRIBED.items()
            },
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = BeancountQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.now().date()  # the UTC date
        pieces = beancount_export(as_of=as_of)
        # The generator itself, so that closing the response closes its transaction.
        response = StreamingHttpResponse(
            pieces, content_type=f"{BEANCOUNT_MEDIA_TYPE}; charset=utf-8"
        )
        name = f"cango-treasury-{as_of.isoformat()}.beancount"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response):  # an error
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
