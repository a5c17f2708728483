"""The whole set-up from one file (YAML or CSV), all or nothing, or a dry run of it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.setup import SetupFileSerializer, SetupReportSerializer
from holdings.api.views.common import errors
from holdings.services.setup_file import setup_file_load
from ledger.api.views import LedgerView
from ledger.roles import OPERATE_ROLES


@extend_schema(tags=["setup"])
class SetupFileLoad(LedgerView):
    serializer_class = SetupReportSerializer
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="setup_load",
        summary="Set up sites, pools, wallets and pool accounts from one file",
        description=(
            "All or nothing: the first problem refuses the whole file (400), naming the file, "
            "the row (CSV) or the path (YAML, e.g. `wallets[1].addresses[0]`) and the field, "
            "and nothing is written. A code already set up is left as it is and listed under "
            "`existing`. With `dry_run` everything is checked and what would be created is "
            "reported (200), without writing."
        ),
        request={"multipart/form-data": SetupFileSerializer},
        responses={
            201: OpenApiResponse(SetupReportSerializer, description="Set up."),
            200: OpenApiResponse(SetupReportSerializer, description="Dry run: nothing written."),
            **errors(400, 401, 403, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = SetupFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        file = body.validated_data["file"]
        dry_run = body.validated_data["dry_run"]
        report = setup_file_load(name=file.name, content=file.read(), dry_run=dry_run)
        return Response(
            SetupReportSerializer(report.as_dict()).data,
            status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED,
        )
