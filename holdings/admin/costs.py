"""Site costs and fixed assets in the admin. Every role reads. Finance staff and approvers
import files of invoices and meter readings (posted at once, the file kept as evidence) and
type invoices, which wait for a finance approver other than their author: the approver
approves them from the list (the action "Approve and post"). Nothing is changed or deleted
here: a posted invoice is undone by its cancellation. HPC contracts are recorded here too,
their monthly revenue shown as posted."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import SafeString

from holdings.admin.base import EvidenceUploadAdmin, usd
from holdings.admin.forms.costs import CostFileForm, RejectForm, TypedInvoiceForm
from holdings.errors import ImportFailed
from holdings.importers.site_costs import INVOICE_HEADER, METER_HEADER
from holdings.models import (
    CostStatus,
    HpcContract,
    HpcRevenue,
    MeterReading,
    SiteCost,
)
from holdings.services import costs, hpc
from ledger.admin import RoleAdmin, allowed, entry_link, refusal
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES

# The report pages' drill-down filters the list by site and period.
DRILL_DOWN = ("site__code", "period_end__gte", "period_end__lte")


def _import(
    admin_page: EvidenceUploadAdmin,
    request: HttpRequest,
    *,
    run: Any,
    title: str,
    header: str,
    done_url: str,
) -> HttpResponse:
    if not admin_page.has_upload_permission(request):
        raise refusal(title, admin_page.upload_roles)
    post = request.method == "POST"
    form = CostFileForm(request.POST if post else None, request.FILES if post else None)
    if post and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            record, created = run(content=upload.read(), file_name=upload.name, by=request.user)
        except ImportFailed as exc:
            for error in exc.errors:
                where = f"row {error['row']}, field {error['field']}: " if error.get("row") else ""
                form.add_error("file", f"{error.get('file')}: {where}{error['message']}")
        except LedgerError as exc:
            form.add_error("file", exc.message)
        else:
            admin_page.message_user(
                request,
                f"{upload.name}: {record.rows} row(s) recorded."
                if created
                else f"{upload.name} was imported already (file {record.pk}): nothing new.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(done_url)
    return admin_page.upload_page(
        request,
        form=form,
        title=title,
        intro=f"A CSV file with the header {header} (the README describes each column). All "
        "or nothing: a bad row refuses the file, naming its row and field.",
        submit_label="Import",
    )


@admin.register(SiteCost)
class SiteCostAdmin(EvidenceUploadAdmin):
    list_display = (
        "period_end",
        "site",
        "kind",
        "origin",
        "reference",
        "vendor",
        "amount_display",
        "status",
        "entry_display",
    )
    list_filter = ("kind", "origin", "status", "site")
    date_hierarchy = "period_end"
    search_fields = ("reference", "vendor", "site__code")
    search_help_text = "Invoice number, vendor or site."
    actions = ["approve"]
    add_roles = OPERATE_ROLES
    fields = (
        "site",
        "kind",
        "origin",
        "vendor",
        "reference",
        "period_start",
        "period_end",
        "kwh",
        "energy",
        "demand",
        "taxes",
        "credits",
        "amount",
        "hosting_basis",
        "description",
        "paid",
        "status",
        "entry_display",
        "reverses",
        "file",
        "row",
        "created_by",
        "created_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[SiteCost]:
        return super().get_queryset(request).select_related("site", "entry")

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        return lookup in DRILL_DOWN or super().lookup_allowed(lookup, value, request)

    @admin.display(description="amount (USD)", ordering="amount")
    def amount_display(self, obj: SiteCost) -> str:
        return usd(obj.amount)

    @admin.display(description="journal entry")
    def entry_display(self, obj: SiteCost) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not allowed(request.user, APPROVE_ROLES):
            actions.pop("approve", None)
        return actions

    @admin.action(description="Approve and post the selected typed invoices")
    def approve(self, request: HttpRequest, queryset: QuerySet[SiteCost]) -> None:
        done = 0
        for cost in queryset.order_by("pk"):
            try:
                costs.site_cost_approve(cost=cost, by=request.user)
            except LedgerError as exc:
                self.message_user(request, f"#{cost.pk}: {exc.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} invoice(s) approved and posted.", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.import_view)
        reject = self.admin_site.admin_view(self.reject_view)
        return [
            path("import/", view, name="holdings_sitecost_import"),
            path("<int:pk>/reject/", reject, name="holdings_sitecost_reject"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Django's own lookup: an id naming nothing (`abc`) is its "doesn't exist" answer.
        cost = self.get_object(request, unquote(object_id))
        waiting = cost is not None and cost.status == CostStatus.SUBMITTED
        extra = {
            **(extra_context or {}),
            "can_reject": waiting and allowed(request.user, APPROVE_ROLES),
        }
        return super().change_view(request, object_id, form_url, extra)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Refuse a typed invoice, with a reason (a finance approver other than its author)."""
        if not allowed(request.user, APPROVE_ROLES):
            raise refusal("Rejecting an invoice", APPROVE_ROLES)
        cost = get_object_or_404(SiteCost, pk=pk)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                costs.site_cost_reject(
                    cost=cost, by=request.user, reason=form.cleaned_data["reason"]
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_change(request, cost, "Rejected")
                self.message_user(request, f"Invoice {cost.reference} is rejected.")
                return HttpResponseRedirect(
                    reverse("admin:holdings_sitecost_change", args=[cost.pk])
                )
        return self.record_page(
            request,
            form=form,
            title=f"Reject invoice {cost.reference}",
            intro="The invoice is not posted; its author and the reason are kept.",
            submit_label="Reject",
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return _import(
            self,
            request,
            run=costs.site_costs_import,
            title="Import invoices (CSV)",
            header=INVOICE_HEADER,
            done_url=reverse("admin:holdings_sitecost_changelist"),
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Type an invoice: recorded, then posted when a finance approver approves it."""
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
        post = request.method == "POST"
        form = TypedInvoiceForm(request.POST if post else None)
        if post and form.is_valid():
            line = form.line()
            if line is not None:
                try:
                    with transaction.atomic():
                        cost = costs.site_cost_submit(line=line, by=request.user)
                except LedgerError as exc:
                    add_service_error(form, exc)
                else:
                    self.log_addition(request, cost, f"Typed invoice {cost.reference}")
                    self.message_user(
                        request,
                        f"Invoice {cost.reference} is recorded; a finance approver other than "
                        "you posts it.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:holdings_sitecost_change", args=[cost.pk])
                    )
        return self.record_page(
            request,
            form=form,
            title="Type an invoice",
            intro="An invoice typed here waits for a finance approver other than you, who "
            "approves and posts it from the list. Power: the energy charge, demand charges, "
            "taxes and credits; hosting: the amount and its basis; other: the amount and what "
            "it is.",
            submit_label="Record",
        )

    def record_page(self, request: HttpRequest, *, form: Any, **labels: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "plan": None,
            "media": self.media + form.media,
            **labels,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/holdings/record_form.html", context)


@admin.register(MeterReading)
class MeterReadingAdmin(EvidenceUploadAdmin):
    list_display = ("period_end", "period_start", "site", "kwh", "hpc_kwh", "file")
    list_filter = ("site",)
    fields = ("site", "period_start", "period_end", "kwh", "hpc_kwh", "file", "row", "created_at")
    readonly_fields = fields

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="holdings_meterreading_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return _import(
            self,
            request,
            run=costs.meter_readings_import,
            title="Import meter readings (CSV)",
            header=METER_HEADER,
            done_url=reverse("admin:holdings_meterreading_changelist"),
        )


class HpcContractForm(forms.ModelForm):
    class Meta:
        model = HpcContract
        fields = [
            "code",
            "customer",
            "site",
            "capacity_mw",
            "monthly_fee",
            "usage_rate",
            "start",
            "term_months",
        ]


@admin.register(HpcContract)
class HpcContractAdmin(RoleAdmin):
    """HPC contracts: finance staff and approvers record them; their revenue is recognised
    at each month end (manage.py close_site_costs)."""

    add_roles = OPERATE_ROLES
    list_display = ("code", "customer", "site", "capacity_mw", "monthly_fee", "usage_rate")
    list_filter = ("site",)
    fields = tuple(HpcContractForm.Meta.fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return HpcContractForm if obj is None else super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            raise self.change_refusal(request, obj)
        data = form.cleaned_data
        try:
            created = hpc.hpc_contract_create(**data, by=request.user)
        except LedgerError as exc:  # the form checked the same rules: not expected
            raise PermissionDenied(exc.message) from exc
        obj.pk = created.pk


@admin.register(HpcRevenue)
class HpcRevenueAdmin(EvidenceUploadAdmin):
    list_display = ("month", "contract", "days", "fixed_fee", "usage_kwh", "usage_fee", "amount")
    list_filter = ("contract",)
    fields = ("contract", "month", "days", "fixed_fee", "usage_kwh", "usage_fee", "amount", "entry")
    readonly_fields = fields
