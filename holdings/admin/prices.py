"""Prices in the admin: evidence, read-only; finance staff and approvers import a CSV file
of them through holdings.services.prices."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse

from holdings.admin.base import EvidenceUploadAdmin
from holdings.admin.forms.prices import PriceUploadForm
from holdings.importers.prices import PRICE_HEADER, parse_prices
from holdings.importers.records import ImportFileError
from holdings.models import Price
from holdings.services import prices
from ledger.admin import refusal
from ledger.errors import LedgerError


@admin.register(Price)
class PriceAdmin(EvidenceUploadAdmin):
    list_display = ("timestamp", "base", "quote", "price_exact", "source", "created_at")
    list_filter = ("base", "quote", "source")
    date_hierarchy = "timestamp"
    search_fields = ("source",)
    search_help_text = "The price's source."
    fields = ("base", "quote", "timestamp", "price_exact", "source", "created_at")
    readonly_fields = fields

    @admin.display(description="price", ordering="price")
    def price_exact(self, obj: Price) -> str:
        return f"{obj.price:f}"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="holdings_price_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise refusal("Importing prices", self.upload_roles)
        form = PriceUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                quotes = parse_prices(upload.read(), file_name=upload.name)
                created, known = prices.prices_import(
                    quotes=quotes,
                    file_name=upload.name,
                    skip_identical=form.cleaned_data["skip_identical"],
                )
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            except LedgerError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    f"{upload.name}: {created} price(s) imported, {known} already recorded.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:holdings_price_changelist"))
        return self.upload_page(
            request,
            form=form,
            title="Import prices (CSV)",
            intro=f"A CSV file with the header {PRICE_HEADER}, one price per base, quote and "
            "timestamp. Prices already recorded are refused, unless skipped because "
            "identical.",
            submit_label="Import the prices",
        )
