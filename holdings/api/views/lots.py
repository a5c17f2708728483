"""Lots as they stood at a UTC date, in JSON or CSV."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.lots import LotSerializer, LotsQuerySerializer
from holdings.api.views.common import code_of, errors, validated_query
from holdings.selectors import lots as lots_selectors
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    PAGE_PARAMETERS,
    CSVReportMixin,
    CSVTable,
    report_responses,
)
from ledger.api.views import LedgerView


@extend_schema(tags=["lots"])
class LotList(CSVReportMixin, LedgerView):
    serializer_class = LotSerializer
    csv_table = CSVTable(name="lots", row=LotSerializer())

    @extend_schema(
        operation_id="lots_list",
        summary="Lots (acquisition date and cost) as of a UTC date, oldest first",
        description="In JSON paginated; the CSV (?format=csv) holds every lot asked for.",
        parameters=[LotsQuerySerializer, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        responses=report_responses(
            LotSerializer(many=True), errors(400, 401, 403, 404), "A page of lots."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(LotsQuerySerializer, request)
        self.name_csv(
            code_of(query.get("commodity")),
            code_of(query.get("account")),
            query.get("as_of") or timezone.now().date(),
            "open" if query["open"] else "all",
        )
        lots = lots_selectors.lots(
            as_of=query.get("as_of"),
            account=code_of(query.get("account")),
            commodity=code_of(query.get("commodity")),
            open_only=query["open"],
        ).select_related("commodity")
        page = self.paginate_queryset(lots)
        rows = LotSerializer(lots if page is None else page, many=True).data
        return self.get_paginated_response(rows)
