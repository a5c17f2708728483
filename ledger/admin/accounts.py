"""Commodities and the chart of accounts, listed as a tree with today's balances."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from ledger import selectors, services
from ledger.admin.base import RoleAdmin, adopt, amount, utc_today
from ledger.dates import parse_report_date
from ledger.forms import AccountAddForm, AccountChangeForm
from ledger.models import Account, Commodity
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES
from ledger.selectors import TreePath

# --- commodities -------------------------------------------------------------------------


@admin.register(Commodity)
class CommodityAdmin(RoleAdmin):
    # A commodity's scale and measurement policy are accounting settings: approvers only.
    add_roles = APPROVE_ROLES
    change_roles = APPROVE_ROLES
    list_display = ("code", "name", "decimal_places", "kind", "measurement_policy")
    list_filter = ("kind", "measurement_policy")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if obj.accounts.exists():  # postings carry the scale; the database refuses a change
            return ("code", "decimal_places")
        return ("code",)  # the primary key: changing it would make a new commodity

    def save_model(self, request: HttpRequest, obj: Commodity, form: Any, change: bool) -> None:
        fields = ("name", "decimal_places", "kind", "measurement_policy")
        if change:
            original = Commodity.objects.get(pk=obj.pk)
            self.call_service(
                lambda: services.commodity_update(
                    commodity=original,
                    **{f: form.cleaned_data[f] for f in fields if f in form.changed_data},
                )
            )
            return
        created = self.call_service(
            lambda: services.commodity_create(
                code=form.cleaned_data["code"], **{f: form.cleaned_data[f] for f in fields}
            )
        )
        obj._state.adding = False
        obj._state.db = created._state.db


# --- accounts ----------------------------------------------------------------------------


ACCOUNT_EDITABLE = ("name", "must_not_go_negative", "is_active")
ACCOUNT_FIXED = ("code", "type", "commodity", "parent")


@admin.register(Account)
class AccountAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "tree_name",
        "type",
        "commodity",
        "must_not_go_negative",
        "is_active",
        "balance_quantity",
        "balance_value",
        "activity_quantity",
        "activity_value",
    )
    list_display_links = ("code", "tree_name")
    change_list_template = "admin/ledger/account/change_list.html"
    list_filter = ("type", "commodity", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("commodity",)
    sortable_by = ()  # always the tree
    list_per_page = 500  # a chart is a few hundred accounts: one page, one tree

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Account]:
        return super().get_queryset(request).annotate(tree_path=TreePath(F("id")))

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # An expression, not the annotation's name: Django also orders the parent choices
        # of account forms by this, on querysets without the annotation.
        return [TreePath(F("id")).asc()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The chart at a date: `as_of` (today by default) and `start` (the first of as_of's
        month by default) are the page's own parameters, not filters: read and taken off the
        query before the list sees it. A bad date is said, naming it, and the default used."""
        today = utc_today()
        query = request.GET.copy()
        days: dict[str, date | None] = {}
        for name in ("as_of", "start"):
            text = query.pop(name, [""])[-1].strip()
            try:
                days[name] = parse_report_date(text) if text else None
            except ValueError as exc:
                messages.error(request, f"{name}: {exc}; write the date as YYYY-MM-DD.")
                days[name] = None
        as_of = days["as_of"] or today
        start = days["start"] or as_of.replace(day=1)
        if start > as_of:
            messages.error(request, f"start: must not be after as_of ({as_of.isoformat()}).")
            start = as_of.replace(day=1)
        request.GET = query  # type: ignore[assignment]  # the list reads its own
        request.chart_dates = (start, as_of)  # type: ignore[attr-defined]
        request.chart_params = {  # type: ignore[attr-defined]  # kept in the list's links
            name: day.isoformat()
            for name, day in (("as_of", as_of), ("start", start))
            if days[name] is not None
        }
        context = {
            "chart_as_of": as_of.isoformat(),
            "chart_start": start.isoformat(),
            "chart_filters": [(key, value) for key, values in query.lists() for value in values],
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        start, as_of = getattr(request, "chart_dates", (utc_today().replace(day=1), utc_today()))
        # Two reads of every balance for the page (the day before start, and as_of), not
        # two per row.
        closing = {row.account_id: row for row in selectors.balances(as_of=as_of)}
        opening = {
            row.account_id: row for row in selectors.balances(as_of=start - timedelta(days=1))
        }
        # The list is filtered already: its links and search form keep the dates from here.
        dates = getattr(request, "chart_params", {})
        changelist.params.update(dates)
        changelist.filter_params.update({name: [day] for name, day in dates.items()})
        detail = reverse("admin:reports_account_detail")
        for account in changelist.result_list:
            account.balance_today = closing.get(account.pk)
            account.balance_opening = opening.get(account.pk)
            account.detail_url = (
                f"{detail}?{urlencode({'account': account.code, 'start': start, 'end': as_of})}"
            )
        return changelist

    @admin.display(description="name")
    def tree_name(self, obj: Account) -> str:
        depth = len(getattr(obj, "tree_path", None) or [obj.code]) - 1
        if depth <= 0:
            return obj.name
        return format_html(
            '<span class="tree-depth-{}" style="padding-left: {}em">{}{}</span>',
            depth,
            depth * 1.5,
            "— " * depth,
            obj.name,
        )

    def _linked(self, obj: Account, text: str) -> str:
        url = getattr(obj, "detail_url", None)
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    @admin.display(description="balance at as-of (UTC)")
    def balance_quantity(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return self._linked(obj, amount(balance.quantity, balance.scale, balance.commodity))

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def balance_value(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return self._linked(obj, amount(balance.value, VALUE_PLACES))

    @admin.display(description="activity from start to as-of")
    def activity_quantity(self, obj: Account) -> str:
        closing, opening = (
            getattr(obj, "balance_today", None),
            getattr(obj, "balance_opening", None),
        )
        if closing is None or opening is None:
            return "-"
        moved = closing.quantity - opening.quantity
        return self._linked(obj, amount(moved, closing.scale, closing.commodity))

    @admin.display(description=f"activity {FUNCTIONAL_CURRENCY}")
    def activity_value(self, obj: Account) -> str:
        closing, opening = (
            getattr(obj, "balance_today", None),
            getattr(obj, "balance_opening", None),
        )
        if closing is None or opening is None:
            return "-"
        return self._linked(obj, amount(closing.value - opening.value, VALUE_PLACES))

    @admin.display(description="balance today (UTC), with its children")
    def balance_detail(self, obj: Account) -> str:
        if obj.pk is None:
            return "-"
        balance = selectors.account_balance(account=obj, as_of=utc_today())
        quantity = amount(balance.quantity, balance.scale, balance.commodity)
        if balance.commodity == FUNCTIONAL_CURRENCY:
            return quantity
        return f"{quantity}, valued {amount(balance.value, VALUE_PLACES, FUNCTIONAL_CURRENCY)}"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return AccountAddForm.Meta.fields
        return (
            "code",
            "name",
            "type",
            "commodity",
            "parent",
            "must_not_go_negative",
            "is_active",
            "balance_detail",
            "created_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (*ACCOUNT_FIXED, "balance_detail", "created_at")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = AccountChangeForm if obj is not None else AccountAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            original = Account.objects.select_related("commodity").get(pk=obj.pk)
            self.call_service(
                lambda: services.account_update(
                    account=original,
                    **{name: changed[name] for name in ACCOUNT_EDITABLE if name in changed},
                )
            )
            return
        created = self.call_service(lambda: services.account_create(**form.service_arguments()))
        adopt(obj, created)
