"""Forms of the set-up: a pool account or a wallet added (the service asked first, see
holdings.admin.forms) or changed, a wallet's new address; and the active wallets that the
treasury's and the loans' forms choose from."""

from __future__ import annotations

from typing import Any

from django import forms

from holdings import chart
from holdings.models import ImportSource, PoolAccount, Wallet, WalletAddress
from holdings.services import setup
from holdings.services.setup_file import MAX_FILE_BYTES
from ledger.forms import add_service_error, service_refusal
from ledger.models import Account, Commodity


def _pool_commodities() -> Any:
    return Commodity.objects.filter(code__in=list(chart.POOL_RECEIVABLES)).order_by("code")


def _wallet_commodities() -> Any:
    return Commodity.objects.filter(code__in=list(chart.WALLET_PARENTS)).order_by("code")


def _wallet_parent_choices() -> list[tuple[str, str]]:
    codes = [code for parents in chart.WALLET_PARENTS.values() for code in parents]
    names = dict(Account.objects.filter(code__in=codes).values_list("code", "name"))
    return [(code, f"{code} {names.get(code, '')}".strip()) for code in codes]


# --- pool accounts -----------------------------------------------------------------------


class PoolAccountAddForm(forms.ModelForm):
    """A new pool sub-account: holdings.services.setup.pool_account_create also opens its
    receivable account under the pool receivables of its commodity."""

    source = forms.ChoiceField(
        required=False,
        choices=[("", "The pool's own format"), *ImportSource.choices],
        help_text="The format of its files; blank: the pool's kind (generic CSV for others).",
    )

    class Meta:
        model = PoolAccount
        fields = (
            "code",
            "pool",
            "name",
            "site",
            "commodity",
            "source",
            "api_user",
            "api_key_env",
            "api_secret_env",
            "fetch_daily",
        )
        help_texts = {
            "code": "Letters, digits, '.', '_' or '-'. Its receivable account is "
            "<receivables>-<code>.",
            "api_key_env": "The name of the variable, never the key itself.",
            "api_secret_env": "The name of the variable, never the secret itself.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        commodity = self.fields.get("commodity")
        if isinstance(commodity, forms.ModelChoiceField):
            # No default: a sub-account mining KAS or ETC must not become BTC by oversight.
            commodity.queryset = _pool_commodities()
            commodity.help_text = "The coin the sub-account mines."

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "pool": data["pool"],
            "name": data["name"],
            "commodity": data["commodity"].code,
            "source": data.get("source") or None,
            "site": data.get("site"),
            "api_user": data.get("api_user") or "",
            "api_key_env": data.get("api_key_env") or "",
            "api_secret_env": data.get("api_secret_env") or "",
            "fetch_daily": bool(data.get("fetch_daily")),
        }

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors:
            refusal = service_refusal(lambda: setup.pool_account_create(**self.service_arguments()))
            if refusal is not None:
                add_service_error(self, refusal)


class PoolAccountChangeForm(forms.ModelForm):
    """What may change on a pool account. Its code, pool, commodity and format stay: its
    receivable account and its imported records depend on them."""

    class Meta:
        model = PoolAccount
        fields = (
            "name",
            "site",
            "api_user",
            "api_key_env",
            "api_secret_env",
            "fetch_daily",
            "is_active",
        )


# --- wallets -----------------------------------------------------------------------------


class WalletAddForm(forms.ModelForm):
    """A new wallet: holdings.services.setup.wallet_create also opens its ledger account."""

    parent_account = forms.ChoiceField(
        choices=(),
        help_text="Where its ledger account sits: cold storage, hot wallets, or pledged as "
        "collateral (restricted).",
    )

    class Meta:
        model = Wallet
        fields = ("code", "name", "custodian", "commodity", "parent_account")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent_account"].choices = _wallet_parent_choices()  # type: ignore[attr-defined]
        commodity = self.fields.get("commodity")
        if isinstance(commodity, forms.ModelChoiceField):
            # The parent account says the coin (1250 holds KAS): left blank, it is the
            # parent's; chosen, it must agree with it.
            commodity.queryset = _wallet_commodities()
            commodity.required = False
            commodity.empty_label = "The parent account's"
            commodity.help_text = "Blank: the commodity of the parent account chosen below."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        parent = data.get("parent_account")
        if parent and not data.get("commodity"):
            implied = next(
                (code for code, parents in chart.WALLET_PARENTS.items() if parent in parents),
                None,
            )
            data["commodity"] = Commodity.objects.filter(code=implied).first()
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "name": data["name"],
            "commodity": data["commodity"].code,
            "parent_account": data["parent_account"],
            "custodian": data.get("custodian") or "",
        }

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors:
            refusal = service_refusal(lambda: setup.wallet_create(**self.service_arguments()))
            if refusal is not None:
                add_service_error(self, refusal)


class WalletChangeForm(forms.ModelForm):
    class Meta:
        model = Wallet
        fields = ("name", "custodian", "is_active")


class WalletAddressForm(forms.ModelForm):
    """A new address of a wallet, added by holdings.services.setup.wallet_address_add."""

    class Meta:
        model = WalletAddress
        fields = ("address", "label")
        widgets = {"address": forms.TextInput(attrs={"size": 70})}


def active_wallets() -> Any:
    """The active wallets, by code, that a form chooses from."""
    return Wallet.objects.filter(is_active=True).select_related("commodity").order_by("code")


class SetupFileForm(forms.Form):
    file = forms.FileField(
        label="Set-up file (YAML or CSV)",
        help_text="YAML: lists sites, pools, pool_accounts and wallets (each wallet with its "
        "addresses). CSV (.csv): one row per object, its kind (site, pool, pool_account, "
        "wallet, address) in a kind column. All or nothing.",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        help_text="Check everything and show what would be created, without writing.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"{upload.name} is larger than {MAX_FILE_BYTES} bytes.")
        return upload
