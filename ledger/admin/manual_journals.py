"""Manual journals (maker-checker): drafted, submitted, then approved (posted) or rejected
by an approver who is not the maker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator

from ledger import selectors, services
from ledger.admin.base import (
    CheckedAutocompleteFields,
    RoleAdmin,
    WaitingFilter,
    adopt,
    allowed,
    entry_label,
    entry_link,
    figure,
    journal_label,
    refusal,
    username,
    utc_today,
)
from ledger.admin.manual_journal_attachments import (
    AttachmentViews,
    attachments_url,
    documents_note,
)
from ledger.errors import LedgerError
from ledger.forms import (
    ConfirmForm,
    ManualJournalForm,
    ManualJournalLineForm,
    ManualJournalLineFormSet,
    RejectJournalForm,
    add_service_error,
)
from ledger.models import Account, ManualJournal, ManualJournalLine, ManualJournalStatus
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, READ_ROLES


def _editable(journal: ManualJournal | None, user: Any) -> bool:
    """A new journal, or a draft of the user's own."""
    if journal is None:
        return allowed(user, OPERATE_ROLES)
    return journal.is_draft and journal.created_by_id == getattr(user, "pk", None)


EDIT_LINE_FIELDS = ("account", "commodity", "debit", "credit", "value")
SHOW_LINE_FIELDS = ("account", "commodity", "debit_amount", "credit_amount", "value_amount")


def _debit(line: ManualJournalLine) -> bool:
    return line.quantity > 0 or (line.quantity == 0 and line.value > 0)


def _side_amount(line: ManualJournalLine, *, debit: bool) -> str:
    """The line's amount with its commodity, in the Debit or the Credit column ("" if not)."""
    if _debit(line) != debit:
        return ""
    commodity = line.account.commodity
    return f"{figure(abs(line.quantity), commodity.decimal_places)} {commodity.code}"


class ManualJournalLineInline(CheckedAutocompleteFields, admin.TabularInline):
    """The lines as accountants write them: account, commodity, Debit or Credit (in the
    account's commodity), USD value; kept signed (debit positive, credit negative)."""

    model = ManualJournalLine
    form = ManualJournalLineForm
    formset = ManualJournalLineFormSet
    fields = EDIT_LINE_FIELDS
    readonly_fields = ("commodity",)
    autocomplete_fields = ("account",)
    extra = 2
    min_num = 0
    verbose_name = "line"
    verbose_name_plural = (
        "lines: each a debit or a credit, in its account's commodity, with its USD value (a "
        "USD line's value is its amount)"
    )

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 2 if obj is None else 1

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return EDIT_LINE_FIELDS if _editable(obj, request.user) else SHOW_LINE_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("commodity",) if _editable(obj, request.user) else SHOW_LINE_FIELDS

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[ManualJournalLine]:
        return super().get_queryset(request).select_related("account__commodity").order_by("id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)  # a draft's line, while it is a draft

    @admin.display(description="commodity")
    def commodity(self, obj: ManualJournalLine) -> str:
        return obj.account.commodity_id if obj.account_id is not None else "-"

    @admin.display(description="debit")
    def debit_amount(self, obj: ManualJournalLine) -> str:
        if not _debit(obj):
            return ""
        return figure(obj.quantity, obj.account.commodity.decimal_places)

    @admin.display(description="credit")
    def credit_amount(self, obj: ManualJournalLine) -> str:
        if _debit(obj):
            return ""
        return figure(-obj.quantity, obj.account.commodity.decimal_places)

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def value_amount(self, obj: ManualJournalLine) -> str:
        return figure(abs(obj.value), VALUE_PLACES)


def _accounts() -> dict[str, list[Any]]:
    """Each account's commodity and scale, for the page's script (the commodity column, a
    USD value filled from its amount)."""
    return {
        str(pk): [commodity, places]
        for pk, commodity, places in Account.objects.values_list(
            "pk", "commodity_id", "commodity__decimal_places"
        )
    }


def _totals(journal: ManualJournal | None) -> dict[str, str]:
    """The journal's debits, credits and their difference in USD, as the books hold it."""
    if journal is None or journal.pk is None:
        zero = figure(Decimal(0), VALUE_PLACES)
        return {"debits": zero, "credits": zero, "difference": zero}
    totals = selectors.journal_totals(journal=journal)
    return {
        "debits": figure(totals.debits, VALUE_PLACES),
        "credits": figure(totals.credits, VALUE_PLACES),
        "difference": figure(totals.difference, VALUE_PLACES),
    }


class JournalWaitingFilter(WaitingFilter):
    options = selectors.JOURNALS_WAITING

    def waiting(
        self, request: HttpRequest, queryset: models.QuerySet, value: str
    ) -> models.QuerySet:
        return selectors.waiting_journals(queryset, value, user=request.user, today=utc_today())


@admin.register(ManualJournal)
class ManualJournalAdmin(AttachmentViews, RoleAdmin):
    """Finance staff and approvers draft a journal with its lines and submit it; a finance
    approver who is not its maker approves it (then it is posted) or rejects it with a
    reason. Every step goes through ledger.services; PostgreSQL refuses the rest."""

    add_roles = OPERATE_ROLES
    decide_roles = APPROVE_ROLES
    form = ManualJournalForm
    inlines = (ManualJournalLineInline,)
    list_display = (
        "label",
        "status",
        "effective_date",
        "short_memo",
        "kind",
        "debits",
        "maker",
        "submitted_at",
        "decided_by",
        "posted_entry",
    )
    list_display_links = ("label",)
    list_filter = (JournalWaitingFilter, "status", "kind")
    search_fields = ("memo", "=id")
    list_select_related = ("created_by", "approved_by", "rejected_by", "entry")
    date_hierarchy = "effective_date"
    change_form_template = "admin/ledger/manualjournal/change_form.html"

    class Media:
        js = ("ledger/manual_journal.js",)

    # --- who may do what

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return allowed(request.user, OPERATE_ROLES)
        return _editable(obj, request.user)

    def change_refusal(self, request: HttpRequest, obj: Any) -> PermissionDenied:
        if obj is not None and not obj.is_draft:
            return PermissionDenied(
                f"{journal_label(obj)} is {obj.get_status_display().lower()}: only a draft "
                "is changed, by its maker."
            )
        return PermissionDenied("Only its maker changes a draft journal.")

    def refuse_own(self, request: HttpRequest, journal: ManualJournal, doing: str) -> None:
        """Maker-checker: nobody approves or rejects their own journal."""
        if journal.created_by_id == request.user.pk:
            raise PermissionDenied(
                f"{journal_label(journal)} is yours: nobody {doing} their own journal. A "
                "finance approver other than its maker decides it."
            )

    def can_submit(self, request: HttpRequest, journal: ManualJournal) -> bool:
        return _editable(journal, request.user)

    def can_decide(self, request: HttpRequest, journal: ManualJournal) -> bool:
        """Approve or reject: an approver, not the maker (the service refuses too)."""
        return (
            journal.status == ManualJournalStatus.SUBMITTED
            and allowed(request.user, self.decide_roles)
            and journal.created_by_id != request.user.pk
        )

    # --- list and page

    @admin.display(description="journal", ordering="id")
    def label(self, obj: ManualJournal) -> str:
        return journal_label(obj)

    @admin.display(description="memo")
    def short_memo(self, obj: ManualJournal) -> str:
        return Truncator(obj.memo).chars(80)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[ManualJournal]:
        positive = Q(lines__value__gt=0)
        return (
            super().get_queryset(request).annotate(debit_total=Sum("lines__value", filter=positive))
        )

    @admin.display(description=f"debits ({FUNCTIONAL_CURRENCY})", ordering="debit_total")
    def debits(self, obj: ManualJournal) -> str:
        total = getattr(obj, "debit_total", None)
        return figure(total, VALUE_PLACES) if total is not None else "-"

    @admin.display(description="maker", ordering="created_by__username")
    def maker(self, obj: ManualJournal) -> str:
        return username(obj.created_by)

    @admin.display(description="approved or rejected by")
    def decided_by(self, obj: ManualJournal) -> str:
        return username(obj.approved_by or obj.rejected_by)

    @admin.display(description="posted as")
    def posted_entry(self, obj: ManualJournal) -> str:
        return entry_link(obj.entry) if obj.entry is not None else "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ManualJournalForm.Meta.fields
        fields: tuple[str, ...] = (
            "status",
            "effective_date",
            "memo",
            "kind",
            "maker",
            "created_at",
            "submitted_at",
        )
        if obj.status == ManualJournalStatus.APPROVED:
            fields += ("approved_by", "approved_at", "posted_entry")
        if obj.status == ManualJournalStatus.REJECTED:
            fields += ("rejected_by", "rejected_at", "rejection_reason")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        fixed = tuple(
            f for f in self.get_fields(request, obj) if f not in ManualJournalForm.Meta.fields
        )
        return fixed if _editable(obj, request.user) else self.get_fields(request, obj)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "title": "Draft a manual journal",
            "show_save_and_add_another": False,
            "journal_accounts": _accounts(),
            "journal_totals": _totals(None),
        }
        return super().add_view(request, form_url, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        journal = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if journal is not None:
            context.update(
                can_submit=self.can_submit(request, journal),
                can_decide=self.can_decide(request, journal),
                can_copy=journal.status == ManualJournalStatus.REJECTED
                and allowed(request.user, OPERATE_ROLES),
                title=f"{journal_label(journal)}: {journal.get_status_display().lower()}",
                show_save_and_add_another=False,
                journal_totals=_totals(journal),
                attachments=self.attachment_rows(request, journal),
                attachments_url=attachments_url(journal),
                can_attach=self.can_attach(request, journal),
                documents_note=documents_note(journal),
            )
            if _editable(journal, request.user):
                context["journal_accounts"] = _accounts()
        return super().change_view(request, object_id, form_url, context)

    # --- saving: the journal and its lines in one service call

    def save_model(self, request: HttpRequest, obj: ManualJournal, form: Any, change: bool) -> None:
        """Saved with its lines, by the service, in save_related."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        (lines,) = formsets
        postings = [line for _, line in lines.lines()]
        header = {name: form.cleaned_data[name] for name in ManualJournalForm.Meta.fields}
        for formset in formsets:  # written by the service, not the formset
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if change:
            journal = self.call_service(
                lambda: services.manual_journal_update(
                    journal=form.instance.pk, by=request.user, postings=postings, **header
                )
            )
        else:
            journal, _created = self.call_service(
                lambda: services.manual_journal_create(by=request.user, postings=postings, **header)
            )
        adopt(form.instance, journal)

    # --- actions: submit, approve, reject, copy

    def get_urls(self) -> list[Any]:
        def view(action: str) -> Any:
            return self.admin_site.admin_view(getattr(self, f"{action}_view"))

        return (
            self.attachment_urls()
            + [
                path(
                    f"<path:object_id>/{action}/",
                    view(action),
                    name=f"ledger_manualjournal_{action}",
                )
                for action in ("submit", "approve", "reject", "copy")
            ]
            + super().get_urls()
        )

    def _journal_or_404(self, request: HttpRequest, object_id: str) -> ManualJournal:
        journal = self.get_object(request, unquote(object_id))
        if journal is None:
            raise Http404(f"no manual journal {object_id}")
        return journal

    def _page(
        self,
        request: HttpRequest,
        journal: ManualJournal,
        form: Any,
        *,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        response = self.confirm_page(
            request,
            original=journal,
            form=form,
            title=title,
            intro=intro,
            submit_label=submit_label,
        )
        response.template_name = "admin/ledger/manualjournal/action_form.html"
        assert response.context_data is not None
        lines = journal.lines.select_related("account__commodity").order_by("id")
        response.context_data["lines"] = [
            {
                "account": line.account,
                "debit": _side_amount(line, debit=True),
                "credit": _side_amount(line, debit=False),
                "value": figure(abs(line.value), VALUE_PLACES),
            }
            for line in lines
        ]
        response.context_data["journal_totals"] = _totals(journal)
        response.context_data["journal"] = journal
        return response

    def _done(self, request: HttpRequest, journal: ManualJournal, message: str) -> HttpResponse:
        self.log_change(request, journal, message)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:ledger_manualjournal_change", args=[journal.pk]))

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, OPERATE_ROLES):
            raise refusal("Submitting a manual journal", OPERATE_ROLES)
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_submit(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                return self._done(
                    request, journal, f"{journal_label(journal)} submitted for approval."
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Submit {journal_label(journal)} for approval",
            intro="Once submitted it can no longer be edited. A finance approver other than "
            "you approves it (it is then posted) or rejects it with a reason.",
            submit_label="Submit for approval",
        )

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, self.decide_roles):
            raise refusal("Approving a manual journal", self.decide_roles)
        self.refuse_own(request, journal, "approves")
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_approve(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                assert journal.entry is not None
                return self._done(
                    request,
                    journal,
                    f"{journal_label(journal)} approved and posted as entry "
                    f"{entry_label(journal.entry)}.",
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Approve {journal_label(journal)}",
            intro=f"Made by {username(journal.created_by)}. Approving posts these lines to "
            "the journal now, recorded as made by its maker and approved by you.",
            submit_label="Approve and post",
        )

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, self.decide_roles):
            raise refusal("Rejecting a manual journal", self.decide_roles)
        self.refuse_own(request, journal, "rejects")
        form = RejectJournalForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_reject(
                    journal=journal, by=request.user, reason=form.cleaned_data["reason"]
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                return self._done(
                    request,
                    journal,
                    f"{journal_label(journal)} rejected: {journal.rejection_reason}",
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Reject {journal_label(journal)}",
            intro=f"Made by {username(journal.created_by)}. Nothing is posted; the journal "
            "keeps your reason. Rejected is final: its maker drafts a new journal.",
            submit_label="Reject",
        )

    def copy_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, OPERATE_ROLES):
            raise refusal("Drafting a copy of a manual journal", OPERATE_ROLES)
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                copy = services.manual_journal_copy(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, copy, f"Copy of {journal_label(journal)}")
                self.message_user(
                    request,
                    f"{journal_label(copy)} drafted from {journal_label(journal)}: edit it, then "
                    "submit it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ledger_manualjournal_change", args=[copy.pk])
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Draft a copy of {journal_label(journal)}",
            intro="A new draft with the same date, memo and lines, yours to edit and submit.",
            submit_label="Draft a copy",
        )
