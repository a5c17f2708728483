"""The supporting documents of a manual journal in the admin: listed and downloaded by
every role (the SHA-256 checked on the way out), attached and deleted by finance staff and
approvers until the journal is decided (the service and PostgreSQL refuse after)."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header

from ledger import selectors, services
from ledger.admin.base import allowed, journal_label
from ledger.errors import LedgerError
from ledger.forms import AttachmentUploadForm, ConfirmForm, add_service_error
from ledger.models import ManualJournal, ManualJournalAttachment, ManualJournalStatus
from ledger.roles import OPERATE_ROLES

OPEN = (ManualJournalStatus.DRAFT, ManualJournalStatus.SUBMITTED)


def attachments_url(journal: ManualJournal) -> str:
    return reverse("admin:ledger_manualjournal_attachments", args=[journal.pk])


def documents_note(journal: ManualJournal) -> str:
    """Why documents can no longer be attached or deleted, or "" while they can."""
    if journal.status == ManualJournalStatus.APPROVED:
        return (
            f"{journal_label(journal)} is approved and posted: its supporting documents stay as "
            "they were approved; none can be added, changed or deleted."
        )
    if journal.status == ManualJournalStatus.REJECTED:
        return f"{journal_label(journal)} is rejected: its supporting documents stay as they are."
    return ""


class AttachmentViews:
    """Mixed into ManualJournalAdmin: its pages for a journal's supporting documents."""

    # Provided by the ModelAdmin this is mixed into.
    admin_site: Any
    confirm_page: Any
    log_change: Any
    message_user: Any
    _journal_or_404: Any

    def attachment_urls(self) -> list[Any]:
        def view(name: str) -> Any:
            return self.admin_site.admin_view(getattr(self, name))

        return [
            path(
                "<path:object_id>/attachments/",
                view("attachments_view"),
                name="ledger_manualjournal_attachments",
            ),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/download/",
                view("attachment_download_view"),
                name="ledger_manualjournal_attachment_download",
            ),
            path(
                "<path:object_id>/attachments/<int:attachment_id>/delete/",
                view("attachment_delete_view"),
                name="ledger_manualjournal_attachment_delete",
            ),
        ]

    def can_attach(self, request: HttpRequest, journal: ManualJournal) -> bool:
        return journal.status in OPEN and allowed(request.user, OPERATE_ROLES)

    def attachment_rows(self, request: HttpRequest, journal: ManualJournal) -> list[Any]:
        rows = list(selectors.journal_attachments(journal=journal))
        deletable = self.can_attach(request, journal)
        for row in rows:
            row.download_url = reverse(
                "admin:ledger_manualjournal_attachment_download", args=[journal.pk, row.pk]
            )
            row.delete_url = (
                reverse("admin:ledger_manualjournal_attachment_delete", args=[journal.pk, row.pk])
                if deletable and request.user.pk in (row.uploaded_by_id, journal.created_by_id)
                else ""
            )
        return rows

    def attachments_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The journal's documents, and the form that attaches one."""
        journal = self._journal_or_404(request, object_id)
        if request.method == "POST" and not allowed(request.user, OPERATE_ROLES):
            raise PermissionDenied
        form = AttachmentUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                attachment = services.manual_journal_attach(
                    journal=journal,
                    by=request.user,
                    file_name=upload.name,
                    content=upload.read(),
                    content_type=upload.content_type or "",
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                message = (
                    f"{attachment.file_name} attached to {journal_label(journal)} "
                    f"({attachment.size:,} bytes, SHA-256 {attachment.sha256})."
                )
                self.log_change(request, journal, message)
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(attachments_url(journal))
        response: TemplateResponse = self.confirm_page(
            request,
            original=journal,
            form=form,
            title=f"Supporting documents of {journal_label(journal)}",
            intro="Each document is kept in the database as it was uploaded, with its size "
            "and SHA-256, checked again when it is downloaded.",
            submit_label="Attach",
        )
        response.template_name = "admin/ledger/manualjournal/attachments.html"
        assert response.context_data is not None
        response.context_data.update(
            journal=journal,
            attachments=self.attachment_rows(request, journal),
            can_attach=self.can_attach(request, journal) or form.errors,
            documents_note=documents_note(journal),
        )
        return response

    def attachment_download_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> HttpResponse:
        """The document's bytes as uploaded, once they hash to the SHA-256 recorded."""
        journal = self._journal_or_404(request, object_id)
        try:
            attachment, content = selectors.attachment_verified(
                journal=journal.pk, attachment=attachment_id
            )
        except ManualJournalAttachment.DoesNotExist as exc:
            raise Http404(f"{journal_label(journal)} has no document {attachment_id}") from exc
        except selectors.AttachmentAltered as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(attachments_url(journal))
        response = HttpResponse(content, content_type=attachment.content_type)
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=attachment.file_name)
            or "attachment"
        )
        response["Content-Length"] = str(attachment.size)
        digest = base64.b64encode(bytes.fromhex(attachment.sha256)).decode()
        response["Repr-Digest"] = f"sha-256=:{digest}:"
        response["X-Content-SHA256"] = attachment.sha256
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def attachment_delete_view(
        self, request: HttpRequest, object_id: str, attachment_id: int
    ) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, OPERATE_ROLES):
            raise PermissionDenied
        attachment = selectors.journal_attachments(journal=journal).filter(pk=attachment_id).first()
        if attachment is None:
            raise Http404(f"{journal_label(journal)} has no document {attachment_id}")
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.manual_journal_attachment_delete(attachment=attachment, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                message = (
                    f"{attachment.file_name} deleted from {journal_label(journal)} "
                    f"(SHA-256 {attachment.sha256})."
                )
                self.log_change(request, journal, message)
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(attachments_url(journal))
        return self.confirm_page(  # type: ignore[no-any-return]
            request,
            original=journal,
            form=form,
            title=f"Delete {attachment.file_name} from {journal_label(journal)}",
            intro=f"{attachment.file_name}: {attachment.size:,} bytes, SHA-256 "
            f"{attachment.sha256}, attached by {attachment.uploaded_by.get_username()}. A "
            "document is deleted only before its journal is approved or rejected.",
            submit_label="Delete the document",
        )
