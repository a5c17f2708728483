"""Commodities and the chart of accounts, listed as a tree with today's balances."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Func
from django.http import HttpRequest
from django.utils.html import format_html

from ledger import selectors, services
from ledger.admin.base import RoleAdmin, adopt, amount, utc_today
from ledger.forms import AccountAddForm, AccountChangeForm
from ledger.models import Account, Commodity
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES

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


class TreePath(Func):
    """The codes from the root down to the account: ordering by it lists the chart as a tree
    (parents before their children, siblings by code); its length is the depth plus one."""

    arity = 1
    template = (
        "(WITH RECURSIVE up(id, parent_id, code, depth) AS ("
        " SELECT a.id, a.parent_id, a.code::text, 0 FROM ledger_account a"
        " WHERE a.id = %(expressions)s"
        " UNION ALL"
        " SELECT p.id, p.parent_id, p.code::text, up.depth + 1"
        " FROM ledger_account p JOIN up ON p.id = up.parent_id WHERE up.depth < 64)"
        " SELECT array_agg(up.code ORDER BY up.depth DESC) FROM up)"
    )
    output_field = ArrayField(models.TextField())


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
    )
    list_display_links = ("code", "tree_name")
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

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # One read of every balance for the page, not one per row.
        found = {row.account_id: row for row in selectors.balances(as_of=utc_today())}
        for account in changelist.result_list:
            account.balance_today = found.get(account.pk)
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

    @admin.display(description="balance today (UTC)")
    def balance_quantity(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return amount(balance.quantity, balance.scale, balance.commodity)

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def balance_value(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return amount(balance.value, VALUE_PLACES)

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
