"""Loans in the admin: their terms, accounts, today's status and every event, read-only;
finance staff and approvers record an event (a draw, a pledge, a release, a repayment, a
liquidation, a day's interest) through holdings.services.loans."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from holdings.admin.base import EvidenceAdmin, RecordAdmin, units, usd
from holdings.admin.forms.loans import LoanEventRecordForm
from holdings.errors import HoldingsError
from holdings.models import Loan, LoanEvent, LoanEventKind
from holdings.selectors import loans, worklist
from ledger.admin import allowed, entry_link, utc_today
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.roles import READ_ROLES


def loan_event_kind(event: LoanEvent) -> SafeString | str:
    """The event's kind; an LTV tier crossing stands out, with the tiers it crossed."""
    if event.kind != LoanEventKind.TIER:
        return event.get_kind_display()
    details = event.details or {}
    return format_html(
        '<strong class="loan-tier-crossed" style="color: var(--error-fg, #ba2121)">'
        "&#9888; LTV tier crossed: {} &rarr; {} (LTV {})</strong>",
        details.get("previous", "-"),
        details.get("tier", "-"),
        details.get("ltv") or "-",
    )


def loan_event_details(event: LoanEvent) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted((event.details or {}).items()))


class LoanEventInline(admin.TabularInline):
    model = LoanEvent
    fields = (
        "effective_date",
        "kind_display",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
        "created_by",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[LoanEvent]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "loan__principal_commodity", "loan__collateral_commodity", "entry", "created_by"
            )
            .order_by("effective_date", "id")
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="kind")
    def kind_display(self, obj: LoanEvent) -> SafeString | str:
        return loan_event_kind(obj)

    @admin.display(description="amount")
    def amount_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.principal_commodity
        return units(obj.amount, commodity.decimal_places, commodity.code) if obj.amount else "-"

    @admin.display(description="units")
    def units_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.collateral_commodity
        return units(obj.units, commodity.decimal_places, commodity.code) if obj.units else "-"

    @admin.display(description="details")
    def details_display(self, obj: LoanEvent) -> str:
        return loan_event_details(obj)

    @admin.display(description="journal entry")
    def entry_display(self, obj: LoanEvent) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"


class LoanTierFilter(admin.SimpleListFilter):
    """The loans at an LTV tier at the end of today (UTC), as the dashboard's alerts count
    them (holdings.selectors.worklist)."""

    title = "LTV tier today (UTC)"
    parameter_name = "ltv_tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("alert", "Past OK (warning or worse)"),
            ("ok", "OK"),
            ("warning", "Warning"),
            ("margin_call", "Margin call"),
            ("liquidation", "Liquidation"),
            (worklist.UNKNOWN_TIER, "Not known (no price today)"),
        ]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value not in dict(self.lookups(request, None)):
            raise IncorrectLookupParameters(f"{value!r} is not an LTV tier")
        ids = worklist.loans_at(tier=value, as_of=utc_today(), queryset=queryset)
        return queryset.filter(pk__in=ids)


@admin.register(Loan)
class LoanAdmin(EvidenceAdmin):
    """Loans, read-only: their terms, accounts, today's status and every event."""

    list_display = (
        "code",
        "lender",
        "principal_commodity",
        "rate_display",
        "day_count",
        "start_date",
        "maturity_date",
        "tiers_display",
        "tier_today",
    )
    list_filter = (LoanTierFilter, "principal_commodity", "day_count")
    date_hierarchy = "start_date"
    search_fields = ("code", "lender")
    search_help_text = "Loan code or lender."
    list_select_related = (
        "principal_commodity",
        "collateral_commodity",
        "principal_account",
        "interest_account",
        "pledged_account",
        "lent_account",
    )
    inlines = (LoanEventInline,)
    fields = (
        "code",
        "lender",
        "principal_commodity",
        "collateral_commodity",
        "rate_display",
        "day_count",
        "start_date",
        "maturity_date",
        "tiers_display",
        "cure_hours",
        "principal_account",
        "interest_account",
        "pledged_account",
        "lent_account",
        "status_display",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Loan]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    @staticmethod
    def _status(obj: Loan) -> loans.LoanStatus | str:
        try:
            return loans.loan_status(loan=obj, as_of=timezone.now().date())
        except HoldingsError as error:
            return error.message

    @admin.display(description="annual rate", ordering="annual_rate")
    def rate_display(self, obj: Loan) -> str:
        return f"{obj.annual_rate * 100:f}".rstrip("0").rstrip(".") + "%"

    @admin.display(description="LTV tiers (warning / margin call / liquidation)")
    def tiers_display(self, obj: Loan) -> str:
        return f"{obj.warning_ltv:f} / {obj.margin_call_ltv:f} / {obj.liquidation_ltv:f}"

    @admin.display(description="tier today (UTC)")
    def tier_today(self, obj: Loan) -> str:
        status = self._status(obj)
        return status.tier if isinstance(status, loans.LoanStatus) else "-"

    @admin.display(description="status today (UTC)")
    def status_display(self, obj: Loan) -> SafeString | str:
        status = self._status(obj)
        if not isinstance(status, loans.LoanStatus):
            return f"Not available: {status}"
        principal = obj.principal_commodity
        collateral = obj.collateral_commodity
        rows = [
            ("as of", str(status.as_of)),
            ("principal", units(status.principal, principal.decimal_places, principal.code)),
            ("interest", units(status.interest, principal.decimal_places, principal.code)),
            ("debt value (USD)", usd(status.debt_value)),
            (
                "collateral",
                units(status.collateral_units, collateral.decimal_places, collateral.code),
            ),
            (
                "price (USD)",
                "-" if status.collateral_price is None else f"{status.collateral_price:f}",
            ),
            ("collateral value (USD)", usd(status.collateral_value)),
            ("LTV", "-" if status.ltv is None else f"{status.ltv:f}"),
            ("tier", status.tier),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )


class LoanEventKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(LoanEventKind.choices)

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        return queryset.filter(kind=value) if value else queryset


@admin.register(LoanEvent)
class LoanEventAdmin(RecordAdmin):
    """Every loan's events, read-only; finance staff and approvers record one on the add
    page through holdings.services.loans."""

    list_display = (
        "event_label",
        "effective_date",
        "loan",
        "kind_display",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
    )
    list_filter = (LoanEventKindFilter, ("loan", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "effective_date"
    search_fields = ("loan__code", "loan__lender")
    search_help_text = "Loan code or lender."
    list_select_related = (
        "loan__principal_commodity",
        "loan__collateral_commodity",
        "entry",
        "created_by",
    )
    fields = (
        "loan",
        "kind_display",
        "effective_date",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[LoanEvent]:
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .order_by("-effective_date", "-id")
        )

    @admin.display(description="event", ordering="id")
    def event_label(self, obj: LoanEvent) -> str:
        return f"#{obj.pk}"

    @admin.display(description="kind", ordering="kind")
    def kind_display(self, obj: LoanEvent) -> SafeString | str:
        return loan_event_kind(obj)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.principal_commodity
        return units(obj.amount, commodity.decimal_places, commodity.code) if obj.amount else "-"

    @admin.display(description="units", ordering="units")
    def units_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.collateral_commodity
        return units(obj.units, commodity.decimal_places, commodity.code) if obj.units else "-"

    @admin.display(description="details")
    def details_display(self, obj: LoanEvent) -> str:
        return loan_event_details(obj)

    @admin.display(description="journal entry")
    def entry_display(self, obj: LoanEvent) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Record a loan event through holdings.services.loans."""
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
        post = request.method == "POST"
        form = LoanEventRecordForm(request.POST if post else None)
        if post and form.is_valid():
            try:
                with transaction.atomic():
                    event = form.record(request.user)
            except LedgerError as exc:
                if exc.field in ("from_wallet", "to_wallet"):
                    form.add_error("wallet", exc.message)
                else:
                    add_service_error(form, exc)
            else:
                self.log_addition(request, event, f"Recorded {event.kind} of loan {event.loan_id}")
                self.message_user(
                    request,
                    f"Loan {event.loan.code}: {event.get_kind_display().lower()} on "
                    f"{event.effective_date} is recorded.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:holdings_loanevent_change", args=[event.pk])
                )
        return self.record_page(
            request,
            form=form,
            title="Record a loan event",
            intro="A draw, collateral pledged or released, a repayment (interest first), a "
            "liquidation by the lender, or a day's interest. Collateral moves first in, first "
            "out; the LTV tier is checked after every move of collateral or debt.",
            submit_label="Record the event",
        )
