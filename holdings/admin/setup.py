"""The set-up in the admin: sites, pools, pool accounts and wallets with their addresses.
Finance staff and approvers keep it; a pool account or a wallet is created with its ledger
account by holdings.services.setup, and an address is added by the service that refuses one
another wallet already owns."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.safestring import SafeString

from holdings import chart
from holdings.admin.base import hashrate, link
from holdings.admin.forms.setup import (
    PoolAccountAddForm,
    PoolAccountChangeForm,
    WalletAddForm,
    WalletAddressForm,
    WalletChangeForm,
)
from holdings.admin.setup_file import LOAD_ROLES, setup_load_view
from holdings.models import Pool, PoolAccount, Site, Wallet, WalletAddress
from holdings.services import setup
from ledger.admin import RoleAdmin, adopt, allowed
from ledger.models import Commodity
from ledger.roles import OPERATE_ROLES, READ_ROLES


@admin.register(Site)
class SiteAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "name",
        "region",
        "commodity",
        "deployed",
        "pool_account_count",
        "is_active",
    )
    list_filter = ("region", "commodity", "is_active")
    search_fields = ("code", "name", "region")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Site]:
        return (
            super().get_queryset(request).annotate(pool_account_total=models.Count("pool_accounts"))
        )

    @admin.display(description="deployed hashrate", ordering="deployed_hashrate_hs")
    def deployed(self, obj: Site) -> str:
        return hashrate(obj.deployed_hashrate_hs, str(obj.commodity_id))

    @admin.display(description="pool accounts", ordering="pool_account_total")
    def pool_account_count(self, obj: Site) -> int:
        return getattr(obj, "pool_account_total", 0)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:  # a new site is active
            return ("code", "name", "region", "commodity", "deployed_hashrate_hs")
        return ("code", "name", "region", "commodity", "deployed_hashrate_hs", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The coin a site mines is its pool accounts' too: set once, with the site.
        return ("code", "commodity") if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "commodity":  # the coins a pool account can mine
            kwargs["queryset"] = Commodity.objects.filter(
                code__in=list(chart.POOL_RECEIVABLES)
            ).order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(partial(setup_load_view, self))
        return [path("load/", view, name="holdings_site_load"), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        can_load = allowed(request.user, LOAD_ROLES)
        return super().changelist_view(
            request, {**(extra_context or {}), "can_load_setup": can_load}
        )

    def save_model(self, request: HttpRequest, obj: Site, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = self.call_service(
            lambda: setup.site_create(
                code=data["code"],
                name=data["name"],
                region=data["region"],
                deployed_hashrate_hs=data["deployed_hashrate_hs"],
                commodity=data["commodity"].code,
            )
        )
        adopt(obj, created)


@admin.register(Pool)
class PoolAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = ("code", "name", "kind", "api_base_url")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    fields = ("code", "name", "kind", "api_base_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Pool, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = self.call_service(
            lambda: setup.pool_create(
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                api_base_url=data.get("api_base_url") or "",
            )
        )
        adopt(obj, created)


POOL_ACCOUNT_EDITABLE = PoolAccountChangeForm.Meta.fields


@admin.register(PoolAccount)
class PoolAccountAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "name",
        "pool",
        "site",
        "commodity",
        "source",
        "receivable",
        "fetch_daily",
        "is_active",
    )
    list_filter = ("pool", "commodity", "source", "fetch_daily", "is_active")
    search_fields = ("code", "name", "site__code")
    list_select_related = ("pool", "site", "receivable_account")

    @admin.display(description="receivable account", ordering="receivable_account__code")
    def receivable(self, obj: PoolAccount) -> SafeString | str:
        account = obj.receivable_account
        return link(account, f"{account.code} {account.name}")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return PoolAccountAddForm.Meta.fields
        return ("code", "pool", "commodity", "source", "receivable", *POOL_ACCOUNT_EDITABLE)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("code", "pool", "commodity", "source", "receivable")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = PoolAccountChangeForm if obj is not None else PoolAccountAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: PoolAccount, form: Any, change: bool) -> None:
        if change:
            changed = [name for name in POOL_ACCOUNT_EDITABLE if name in form.changed_data]
            if changed:
                obj.save(update_fields=changed)
            return
        created = self.call_service(lambda: setup.pool_account_create(**form.service_arguments()))
        adopt(obj, created)


class WalletAddressInline(admin.TabularInline):
    """Addresses are added (by the service), never changed or removed: payouts name them."""

    model = WalletAddress
    form = WalletAddressForm
    fields = ("address", "label")
    extra = 1
    can_delete = False

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if self.has_add_permission(request, obj) else 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, OPERATE_ROLES)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Wallet)
class WalletAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "name",
        "custodian",
        "commodity",
        "ledger_account",
        "address_count",
        "is_active",
    )
    list_filter = ("commodity", "is_active")
    search_fields = ("code", "name", "custodian", "addresses__address")
    list_select_related = ("account",)
    inlines = (WalletAddressInline,)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Wallet]:
        return super().get_queryset(request).annotate(address_total=models.Count("addresses"))

    @admin.display(description="ledger account", ordering="account__code")
    def ledger_account(self, obj: Wallet) -> SafeString | str:
        return link(obj.account, f"{obj.account.code} {obj.account.name}")

    @admin.display(description="addresses", ordering="address_total")
    def address_count(self, obj: Wallet) -> int:
        return getattr(obj, "address_total", 0)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return WalletAddForm.Meta.fields
        return ("code", "commodity", "ledger_account", "name", "custodian", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else ("code", "commodity", "ledger_account")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = WalletChangeForm if obj is not None else WalletAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Wallet, form: Any, change: bool) -> None:
        if change:
            changed = [name for name in WalletChangeForm.Meta.fields if name in form.changed_data]
            if changed:
                obj.save(update_fields=changed)
            return
        created = self.call_service(lambda: setup.wallet_create(**form.service_arguments()))
        adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Only new addresses arrive (existing ones are read-only); each goes through the
        # service, which refuses an address that another wallet already owns.
        added = []
        for address_form in formset.extra_forms:
            data = getattr(address_form, "cleaned_data", None)
            if not address_form.has_changed() or not data:
                continue
            added.append(
                self.call_service(
                    partial(
                        setup.wallet_address_add,
                        wallet=form.instance,
                        address=data["address"],
                        label=data.get("label") or "",
                    )
                )
            )
        # What the admin's change message reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = added, [], []
