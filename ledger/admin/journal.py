"""The journal: posted entries, read-only, and the page that asks for an entry's document
to be cancelled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import OuterRef, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from ledger import cancellations, services
from ledger.admin.base import (
    RoleAdmin,
    allowed,
    amount,
    entry_label,
    entry_link,
    journal_label,
    refusal,
)
from ledger.admin.journal_filters import (
    AccountFilter,
    DateRangeFilter,
    DocumentTypeFilter,
    document_object,
)
from ledger.errors import LedgerError
from ledger.fields import ExactDecimalField
from ledger.forms import CancellationRequestForm, add_service_error
from ledger.models import CancellationStatus, JournalEntry, Posting
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES
from ledger.roles import OPERATE_ROLES, READ_ROLES


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("account", "commodity", "quantity_display", "value_display")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Posting]:
        return super().get_queryset(request).select_related("account").order_by("id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="quantity")
    def quantity_display(self, obj: Posting) -> str:
        return amount(obj.quantity, obj.scale, obj.commodity_id)

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def value_display(self, obj: Posting) -> str:
        return amount(obj.value, VALUE_PLACES)


def _reversed_by(entry: JournalEntry) -> JournalEntry | None:
    try:
        return entry.reversed_by
    except ObjectDoesNotExist:
        return None


def _report_path(path: str) -> str | None:
    """The report page an entry was reached from (its `report` parameter, e.g. an account
    detail with its dates), to link back to: a path of this site's report pages only."""
    try:
        prefix = reverse("admin:reports_index")
    except NoReverseMatch:
        return None
    if not path.startswith(prefix) or "//" in path or any(c in path for c in '\\"<> \n'):
        return None
    return path


@admin.register(JournalEntry)
class JournalEntryAdmin(RoleAdmin):
    # No add (a person's entry is a manual journal, approved by another before it posts), no
    # change, no delete: posted entries are immutable. A mistake is undone by cancelling the
    # entry's document, asked for here and approved by another person.
    cancel_roles = OPERATE_ROLES
    list_display = (
        "sequence_label",
        "effective_date",
        "kind",
        "short_memo",
        "debits_display",
        "created_by_name",
        "reversal",
        "status",
    )
    list_display_links = ("sequence_label",)
    list_filter = (AccountFilter, DateRangeFilter, "kind", DocumentTypeFilter, "status")
    date_hierarchy = "effective_date"
    search_fields = ("memo", "idempotency_key", "sequence__exact")
    search_help_text = "Memo, idempotency key or sequence number (#123 or 123)."
    list_select_related = ("created_by", "reversal_of", "reversed_by")
    show_full_result_count = False
    # "Select all" on a journal of millions must not reverse it wholesale by one click.
    actions = None
    inlines = (PostingInline,)
    fields = (
        "sequence_label",
        "effective_date",
        "kind",
        "status",
        "memo",
        "debits_display",
        "idempotency_key",
        "payload_hash",
        "reversal",
        "document",
        "cancellation",
        "created_by_name",
        "approved_by_name",
        "manual_journal_link",
        "created_at",
    )
    readonly_fields = fields
    change_form_template = "admin/ledger/journalentry/change_form.html"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.cancel_roles)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[JournalEntry]:
        # The entry's total debits (USD) in the same query as the list: no query per row.
        debits = (
            Posting.objects.filter(entry_id=OuterRef("pk"), value__gt=0)
            .order_by()
            .values("entry_id")
            .annotate(total=Sum("value"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .select_related(
                "created_by", "approved_by", "reversal_of", "reversed_by", "manual_journal"
            )
            .annotate(debits=Subquery(debits, output_field=ExactDecimalField()))
        )

    @admin.display(description=f"amount ({FUNCTIONAL_CURRENCY} debits)", ordering="debits")
    def debits_display(self, obj: JournalEntry) -> str:
        debits = getattr(obj, "debits", None) or Decimal(0)
        return amount(debits, VALUE_PLACES).removesuffix(" Dr")

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet, search_term: str
    ) -> tuple[models.QuerySet, bool]:
        term = search_term.strip()
        if term.startswith("#") and term[1:].isdigit():
            return queryset.filter(sequence=int(term[1:])), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="sequence", ordering="sequence")
    def sequence_label(self, obj: JournalEntry) -> str:
        return entry_label(obj)

    @admin.display(description="memo")
    def short_memo(self, obj: JournalEntry) -> str:
        return Truncator(obj.memo).chars(80)

    @admin.display(description="created by")
    def created_by_name(self, obj: JournalEntry) -> str:
        return obj.created_by.get_username() if obj.created_by else "-"

    @admin.display(description="approved by")
    def approved_by_name(self, obj: JournalEntry) -> str:
        return obj.approved_by.get_username() if obj.approved_by else "-"

    @admin.display(description="manual journal")
    def manual_journal_link(self, obj: JournalEntry) -> str:
        try:
            journal = obj.manual_journal  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "-"
        url = reverse("admin:ledger_manualjournal_change", args=[journal.pk])
        return format_html('<a href="{}">{}</a>', url, journal_label(journal))

    @admin.display(description="reversal")
    def reversal(self, obj: JournalEntry) -> str:
        parts = []
        if obj.reversal_of is not None:
            parts.append(format_html("reverses {}", entry_link(obj.reversal_of)))
        reversed_by = _reversed_by(obj)
        if reversed_by is not None:
            parts.append(format_html("reversed by {}", entry_link(reversed_by)))
        if not parts:
            return "-"
        return format_html_join("; ", "{}", ((part,) for part in parts))

    @admin.display(description="document")
    def document(self, obj: JournalEntry) -> str:
        """The document's name, linking to its page (a pool record and its pool file, a
        payout and its txid, a sale and its disposals, a manual journal and its approver)."""
        name = cancellations.document_of(obj)
        found = document_object(obj)
        if found is None:
            return name
        opts = found._meta
        if opts.model_name == "cancellation":
            name = f"cancellation #{found.pk}"
        try:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[found.pk])
        except NoReverseMatch:
            return name
        return format_html('<a href="{}">{}</a>', url, name)

    @admin.display(description="cancellation")
    def cancellation(self, obj: JournalEntry) -> str:
        found = obj.cancellations.order_by("-id").first()
        if found is None:
            return "-"
        url = reverse("admin:ledger_cancellation_change", args=[found.pk])
        return format_html(
            '<a href="{}">#{}</a> {}', url, found.pk, found.get_status_display().lower()
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.cancel_view)
        return [
            path("<path:object_id>/cancel/", view, name="ledger_journalentry_cancel"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        entry = self.get_object(request, unquote(object_id))
        can_cancel = (
            entry is not None
            and entry.reversal_of_id is None
            and self.has_cancel_permission(request)
            and not entry.cancellations.exclude(status=CancellationStatus.REJECTED).exists()
        )
        extra_context = {
            **(extra_context or {}),
            "can_cancel": can_cancel,
            "back_to_report": _report_path(request.GET.get("report", "")),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask for the entry's document to be cancelled; another person approves."""
        if not self.has_cancel_permission(request):
            raise refusal("Asking for a document's cancellation", self.cancel_roles)
        entry = self.get_object(request, unquote(object_id))
        if entry is None:
            raise Http404(f"no journal entry {object_id}")
        form = CancellationRequestForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                cancellation, _created = services.cancellation_request(
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    effective_date=form.cleaned_data["effective_date"] or None,
                    by=request.user,
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.message_user(
                    request,
                    f"Cancellation of {cancellation.document} asked for: a finance approver "
                    "other than you approves it (only then is anything reversed).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ledger_cancellation_change", args=[cancellation.pk])
                )
        return self.confirm_page(
            request,
            original=entry,
            form=form,
            title=f"Cancel the document of entry {entry_label(entry)}",
            intro=(
                f"{cancellations.document_of(entry)} ({entry.effective_date}, "
                f"{Truncator(entry.memo).chars(80)}). Once another person approves, its entry "
                "is reversed and what it did to lots, disposals and loans is undone with it; "
                "if later events depend on it, it is refused, naming them."
            ),
            submit_label="Ask for the cancellation",
        )
