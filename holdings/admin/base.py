"""What the holdings admin's pages share: figures written at their scale, links to other
admin pages, and the base classes of evidence (read-only rows, some arriving as uploaded
files) and of records made through a service on the add page."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from holdings.models import Price
from holdings.selectors.production import hashrate_unit, in_unit
from ledger.admin import RoleAdmin, allowed, refusal, utc_time
from ledger.money import VALUE_PLACES, to_scale
from ledger.roles import OPERATE_ROLES

# A batch page refreshes itself this often (seconds) while the batch waits or runs.
REFRESH_SECONDS = 3


def units(quantity: Decimal | None, places: int, unit: str = "") -> str:
    """A quantity with its scale's decimals and thousands separators."""
    if quantity is None:
        return "-"
    text = f"{to_scale(quantity, places):,f}"
    return f"{text} {unit}" if unit else text


def usd(value: Decimal | None) -> str:
    return units(value, VALUE_PLACES)


def hashrate(hashes_per_second: Decimal | None, commodity: str) -> str:
    """A hashrate in the unit that fits the coin (EH/s for BTC, TH/s KAS, GH/s ETC)."""
    if hashes_per_second is None:
        return "-"
    unit = hashrate_unit(commodity)[0]
    return f"{in_unit(hashes_per_second, commodity):,f} {unit}"


def link(obj: models.Model | None, label: Any = None) -> SafeString | str:
    """A link to the object's admin page, or "-"."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def price_text(price: Price | None) -> SafeString | str:
    if price is None:
        return "-"
    return format_html(
        '<a href="{}">{} {}</a> ({}, {})',
        reverse("admin:holdings_price_change", args=[price.pk]),
        f"{price.price:f}",
        price.quote_id,
        price.source,
        utc_time(price.timestamp),
    )


def raw_json(data: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(data, indent=2, sort_keys=True))


class EvidenceAdmin(RoleAdmin):
    """Read-only for everyone: the rows are evidence."""

    show_full_result_count = False


class EvidenceUploadAdmin(EvidenceAdmin):
    """Evidence that arrives as files: a one-form upload page on the changelist."""

    upload_roles: frozenset[str] = OPERATE_ROLES

    def has_upload_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.upload_roles)

    def upload_page(
        self,
        request: HttpRequest,
        *,
        form: forms.Form,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/holdings/upload_form.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_upload": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context)


class RecordAdmin(RoleAdmin):
    """Read-only rows that finance staff and approvers record through a service on the add
    page; auditors read them."""

    add_roles = OPERATE_ROLES
    show_full_result_count = False

    def add_refusal(self, request: HttpRequest) -> PermissionDenied:
        return refusal(f"Recording a {self.opts.verbose_name}", self.add_roles)

    def record_page(
        self, request: HttpRequest, *, form: forms.Form, plan: Any = None, **labels: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "plan": plan,
            "media": self.media + form.media,
            **labels,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/holdings/record_form.html", context)
