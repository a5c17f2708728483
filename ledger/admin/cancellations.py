"""Cancellations of documents: approved or rejected by an approver who did not ask."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ledger import selectors, services
from ledger.admin.base import (
    RoleAdmin,
    WaitingFilter,
    allowed,
    amount,
    entry_label,
    entry_link,
    refusal,
    username,
)
from ledger.errors import LedgerError
from ledger.forms import ConfirmForm, RejectJournalForm, add_service_error
from ledger.models import Cancellation, CancellationStatus
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES
from ledger.roles import APPROVE_ROLES


class CancellationWaitingFilter(WaitingFilter):
    options = selectors.CANCELLATIONS_WAITING

    def waiting(
        self, request: HttpRequest, queryset: models.QuerySet, value: str
    ) -> models.QuerySet:
        return selectors.waiting_cancellations(queryset, value, user=request.user)


@admin.register(Cancellation)
class CancellationAdmin(RoleAdmin):
    """Cancellations: asked for from an entry's page; approved or rejected here by a finance
    approver who did not ask. Nothing here is edited or deleted."""

    decide_roles = APPROVE_ROLES
    list_display = (
        "label",
        "document",
        "entry_link",
        "effective_date",
        "status",
        "requested_by",
        "decided_by",
        "reversal_link",
    )
    list_filter = (CancellationWaitingFilter, "status")
    search_fields = ("document", "reason")
    list_select_related = ("entry", "reversal", "requested_by", "decided_by")
    fields = (
        "label",
        "document",
        "entry_link",
        "entry_postings",
        "effective_date",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "reversal_link",
    )
    readonly_fields = fields
    change_form_template = "admin/ledger/cancellation/change_form.html"

    @admin.display(description="cancellation")
    def label(self, obj: Cancellation) -> str:
        return f"#{obj.pk}"

    @admin.display(description="entry")
    def entry_link(self, obj: Cancellation) -> str:
        return entry_link(obj.entry)

    @admin.display(description="the entry's postings (reversed by the approval)")
    def entry_postings(self, obj: Cancellation) -> str:
        postings = obj.entry.postings.select_related("account").order_by("id")
        rows = (
            (
                posting.account,
                amount(posting.quantity, posting.scale, posting.commodity_id),
                amount(posting.value, VALUE_PLACES, FUNCTIONAL_CURRENCY),
            )
            for posting in postings
        )
        return format_html(
            '<table class="entry-postings"><tbody>{}</tbody></table>',
            format_html_join(
                "", '<tr><td>{}</td><td class="amount">{}</td><td class="amount">{}</td></tr>', rows
            ),
        )

    @admin.display(description="reversal")
    def reversal_link(self, obj: Cancellation) -> str:
        return entry_link(obj.reversal) if obj.reversal is not None else "-"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="ledger_cancellation_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="ledger_cancellation_reject",
            ),
            *super().get_urls(),
        ]

    def can_decide(self, request: HttpRequest, cancellation: Cancellation) -> bool:
        return (
            cancellation.status == CancellationStatus.REQUESTED
            and allowed(request.user, self.decide_roles)
            and cancellation.requested_by_id != request.user.pk
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        cancellation = self.get_object(request, unquote(object_id))
        can_decide = cancellation is not None and self.can_decide(request, cancellation)
        extra_context = {**(extra_context or {}), "can_decide": can_decide}
        return super().change_view(request, object_id, form_url, extra_context)

    def _decide(
        self,
        request: HttpRequest,
        object_id: str,
        form: Any,
        decide: Callable[..., Any],
        *,
        doing: str,
        does: str,
    ) -> tuple[Cancellation, HttpResponse | None]:
        """`doing` and `does` name the decision in refusals ("Approving", "approves")."""
        if not allowed(request.user, self.decide_roles):
            raise refusal(f"{doing} a cancellation", self.decide_roles)
        cancellation = self.get_object(request, unquote(object_id))
        if cancellation is None:
            raise Http404(f"no cancellation {object_id}")
        if cancellation.requested_by_id == request.user.pk:
            raise PermissionDenied(
                f"You asked for the cancellation of {cancellation.document}: nobody "
                f"{does} their own request. A finance approver other "
                "than the one who asked decides it."
            )
        if request.method == "POST" and form.is_valid():
            try:
                decided = decide(cancellation)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                message = (
                    f"{decided.document} cancelled: reversed by entry "
                    f"{entry_label(decided.reversal)}."
                    if decided.reversal is not None
                    else f"Cancellation of {decided.document} rejected."
                )
                self.log_change(request, decided, message)
                self.message_user(request, message, messages.SUCCESS)
                return cancellation, HttpResponseRedirect(
                    reverse("admin:ledger_cancellation_change", args=[decided.pk])
                )
        return cancellation, None

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        cancellation, done = self._decide(
            request,
            object_id,
            form,
            lambda c: services.cancellation_approve(cancellation=c, by=request.user),
            doing="Approving",
            does="approves",
        )
        if done is not None:
            return done
        return self.confirm_page(
            request,
            original=cancellation,
            form=form,
            title=f"Approve the cancellation of {cancellation.document}",
            intro=f"Asked for by {username(cancellation.requested_by)}: {cancellation.reason}. "
            f"Approving reverses entry {entry_label(cancellation.entry)} at "
            f"{cancellation.effective_date} and undoes its lots, disposals and loan figures, "
            "in one transaction.",
            submit_label="Approve and reverse",
        )

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        form = RejectJournalForm(request.POST if request.method == "POST" else None)
        cancellation, done = self._decide(
            request,
            object_id,
            form,
            lambda c: services.cancellation_reject(
                cancellation=c, by=request.user, reason=form.cleaned_data["reason"]
            ),
            doing="Rejecting",
            does="rejects",
        )
        if done is not None:
            return done
        return self.confirm_page(
            request,
            original=cancellation,
            form=form,
            title=f"Reject the cancellation of {cancellation.document}",
            intro=f"Asked for by {username(cancellation.requested_by)}: {cancellation.reason}. "
            "Nothing is reversed; the request keeps your reason.",
            submit_label="Reject",
        )
