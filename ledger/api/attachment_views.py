"""The supporting documents of a manual journal in the API: listed and downloaded by every
role, attached by finance staff and approvers while the journal is a draft or submitted
(409 once it is approved or rejected; 400 when empty or larger than
MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES). Thin: validate, call one service or selector, shape."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from ledger import selectors, services
from ledger.api.control_views import _errors
from ledger.api.views import LedgerView
from ledger.models import ManualJournal, ManualJournalAttachment
from ledger.roles import OPERATE_ROLES
from ledger.services.manual_journals import size_text


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.get_username", read_only=True)
    download = serializers.SerializerMethodField(
        help_text="Where its bytes are downloaded, checked against `sha256`."
    )

    class Meta:
        model = ManualJournalAttachment
        fields = (
            "id",
            "journal",
            "file_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "download",
        )
        read_only_fields = fields

    def get_download(self, obj: ManualJournalAttachment) -> str:
        return reverse(
            "manual-journal-attachment-content",
            args=[obj.journal_id, obj.pk],
            request=self.context.get("request"),
        )


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        max_length=255,
        allow_empty_file=True,  # refused below, with the service's words
        help_text="The document, at most MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES "
        f"({size_text(settings.MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES)} unless configured).",
    )

    def validate_file(self, upload: Any) -> Any:
        problem = services.attachment_problem(upload.name, upload.size)
        if problem is not None:
            raise serializers.ValidationError(problem, code="file_size")
        return upload


@extend_schema(tags=["manual journals"])
class ManualJournalAttachmentListCreate(LedgerView):
    serializer_class = AttachmentSerializer
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="manual_journals_attachments_list",
        summary="A manual journal's supporting documents, oldest first",
        responses={200: AttachmentSerializer(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        journal = get_object_or_404(ManualJournal.objects.only("pk"), pk=pk)
        rows = selectors.journal_attachments(journal=journal)
        return Response(AttachmentSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="manual_journals_attachments_create",
        summary="Attach a supporting document (while the journal is a draft or submitted)",
        description="Kept in the database as uploaded, with its size and SHA-256. Once the "
        "journal is approved its documents never change: attaching then answers 409.",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={
            201: OpenApiResponse(AttachmentSerializer, description="Attached."),
            **_errors(400, 401, 403, 404, 409, 415),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        journal = get_object_or_404(ManualJournal.objects.only("pk"), pk=pk)
        body = AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        attachment = services.manual_journal_attach(
            journal=journal,
            by=request.user,
            file_name=upload.name,
            content=upload.read(),
            content_type=upload.content_type or "",
        )
        shown = AttachmentSerializer(
            selectors.journal_attachments(journal=journal).get(pk=attachment.pk),
            context={"request": request},
        ).data
        return Response(
            shown, status=status.HTTP_201_CREATED, headers={"Location": shown["download"]}
        )


@extend_schema(tags=["manual journals"])
class ManualJournalAttachmentContent(LedgerView):
    serializer_class = AttachmentSerializer

    @extend_schema(
        operation_id="manual_journals_attachments_content",
        summary="A supporting document's bytes, as uploaded",
        description="Served only when they hash to the SHA-256 recorded (409 otherwise); the "
        "hash is sent in `Repr-Digest` (RFC 9530) and `X-Content-SHA256`.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The document, in its own content type."
            ),
            **_errors(401, 403, 404, 409),
        },
    )
    def get(self, request: Request, pk: int, attachment: int) -> HttpResponse:
        try:
            found, content = selectors.attachment_verified(journal=pk, attachment=attachment)
        except ManualJournalAttachment.DoesNotExist as exc:
            raise Http404(f"manual journal {pk} has no document {attachment}") from exc
        response = HttpResponse(content, content_type=found.content_type)
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=found.file_name) or "attachment"
        )
        response["Content-Length"] = str(found.size)
        digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
        response["Repr-Digest"] = f"sha-256=:{digest}:"
        response["X-Content-SHA256"] = found.sha256
        response["X-Content-Type-Options"] = "nosniff"
        return response
