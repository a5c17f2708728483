"""Forms of the holdings admin.

As in the ledger's admin (ledger.forms), the rules stay in the services: a form that creates
something asks the service whether it would accept the input, in a savepoint that is always
rolled back, so the admin shows the service's own message on the form; the admin's
save_model then calls the service for real.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from holdings import chart
from holdings.addresses import AddressError, normalize_txid
from holdings.models import ImportSource, Loan, LoanEvent, PoolAccount, Wallet, WalletAddress
from holdings.services import loans, setup, treasury
from holdings.services.production import size_text, too_large
from ledger.dates import validate_posting_date
from ledger.errors import LedgerError
from ledger.forms import add_service_error, service_refusal
from ledger.models import Account, Commodity
from ledger.text import validate_printable_line

MAX_PRICE_FILE_BYTES = 20 * 1024 * 1024


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
    """A new pool sub-account: holdings.services.pool_account_create also opens its
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
            commodity.queryset = _pool_commodities()
            commodity.initial = "BTC"

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
    """A new wallet: holdings.services.wallet_create also opens its ledger account."""

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
            commodity.queryset = _wallet_commodities()
            commodity.initial = "BTC"

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
    """A new address of a wallet, added by holdings.services.wallet_address_add."""

    class Meta:
        model = WalletAddress
        fields = ("address", "label")
        widgets = {"address": forms.TextInput(attrs={"size": 70})}


# --- uploads -----------------------------------------------------------------------------


class PriceUploadForm(forms.Form):
    file = forms.FileField(
        label="Prices (CSV)",
        help_text="Columns timestamp,base,quote,price,source; timestamps in UTC (…Z). All or "
        "nothing: a price already recorded with another value refuses the whole file.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PRICE_FILE_BYTES:
            raise forms.ValidationError(
                f"{upload.name} is larger than {MAX_PRICE_FILE_BYTES // 2**20} MB."
            )
        return upload


class PoolFileUploadForm(forms.Form):
    source = forms.ChoiceField(
        choices=ImportSource.choices, help_text="The format of the file: which pool's export."
    )
    pool_account = forms.ModelChoiceField(
        queryset=PoolAccount.objects.filter(is_active=True).order_by("code"),
        required=False,
        help_text="The pool account the file belongs to. Only a generic CSV, whose rows name "
        "their pool accounts, may leave it blank.",
    )
    file = forms.FileField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = size_text(settings.IMPORT_UPLOAD_MAX_BYTES)
        self.fields["file"].help_text = f"As the pool exported it, at most {limit}."

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        refused = too_large(upload.name, upload.size, settings.IMPORT_UPLOAD_MAX_BYTES)
        if refused:
            raise forms.ValidationError(refused + ".")
        return upload


# --- sales and transfers -----------------------------------------------------------------

NAMED_LOT = re.compile(r"\s*#?([0-9]+)\s*[:=,]\s*([0-9]+(?:\.[0-9]+)?)\s*")


class UTCDateTimeField(forms.CharField):
    """An ISO 8601 timestamp that says it is UTC (…Z or …+00:00); nothing is guessed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault(
            "help_text", "UTC, written 2026-01-10T15:30:00Z (the Z, or +00:00, is required)."
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> datetime:  # type: ignore[override]
        text = super().clean(value)
        try:
            moment = datetime.fromisoformat(text) if "T" in text else None
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError("Write the timestamp as 2026-01-10T15:30:00Z.")
        if moment.tzinfo is None or moment.utcoffset() != timedelta(0):
            raise forms.ValidationError("The timestamp must be in UTC: end it with Z or +00:00.")
        validate_posting_date(moment)
        return moment


def _wallets() -> Any:
    return Wallet.objects.filter(is_active=True).select_related("commodity").order_by("code")


class SaleRecordForm(forms.Form):
    """A sale to preview and then record through holdings.treasury."""

    reference = forms.CharField(
        max_length=100,
        help_text="The trade's id at the venue (one sale per id).",
        validators=[validate_printable_line],
    )
    wallet = forms.ModelChoiceField(
        queryset=_wallets(), to_field_name="code", help_text="The wallet the units leave."
    )
    units = forms.DecimalField(help_text="Units sold, in the wallet's commodity.")
    sold_at = UTCDateTimeField(label="Sold at")
    proceeds_commodity = forms.ChoiceField(
        choices=[("USDT", "USDT"), ("USD", "USD")], help_text="What the units were sold for."
    )
    gross_proceeds = forms.DecimalField(help_text="Proceeds before the venue's fee.")
    fee = forms.DecimalField(
        initial=0, required=False, help_text="The venue's fee, in the proceeds' commodity."
    )
    proceeds_value = forms.DecimalField(
        required=False,
        decimal_places=2,
        label="Proceeds value (USD)",
        help_text="USD value of the gross proceeds; blank for USDT: the day's USDT price.",
    )
    proceeds_wallet = forms.ModelChoiceField(
        queryset=_wallets().filter(commodity_id="USDT"),
        to_field_name="code",
        required=False,
        help_text="The USDT wallet the proceeds arrive in (USDT proceeds only).",
    )
    lots = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        label="Lots (specific identification)",
        help_text="One lot per line, written lot id:units (e.g. 12:0.5). Blank: first in, "
        "first out.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["wallet"].queryset = _wallets()  # type: ignore[attr-defined]
        self.fields["proceeds_wallet"].queryset = _wallets().filter(  # type: ignore[attr-defined]
            commodity_id="USDT"
        )

    def clean_lots(self) -> list[tuple[int, Any]] | None:
        text = self.cleaned_data.get("lots") or ""
        named = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            match = NAMED_LOT.fullmatch(line)
            if match is None:
                raise forms.ValidationError(f"Line {n}: write lot id:units, e.g. 12:0.5.")
            named.append((int(match.group(1)), forms.DecimalField().clean(match.group(2))))
        return named or None

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "wallet": data["wallet"],
            "units": data["units"],
            "sold_at": data["sold_at"],
            "proceeds_commodity": data["proceeds_commodity"],
            "gross_proceeds": data["gross_proceeds"],
            "fee": data.get("fee") or Decimal(0),
            "proceeds_value": data.get("proceeds_value"),
            "proceeds_wallet": data.get("proceeds_wallet"),
            "lots": data.get("lots"),
        }

    def preview(self) -> treasury.SalePlan | None:
        """The plan the service makes of the form's sale (writing nothing), or None with the
        service's refusal on the form."""
        try:
            return treasury.sale_preview(**self.service_arguments())
        except LedgerError as error:
            add_service_error(self, error)
            return None


class TransferRecordForm(forms.Form):
    """An on-chain transfer between two of the company's wallets."""

    txid = forms.CharField(
        max_length=66,
        label="Transaction id",
        help_text="64 hex characters (stored lower-cased).",
    )
    from_wallet = forms.ModelChoiceField(queryset=_wallets(), to_field_name="code")
    to_wallet = forms.ModelChoiceField(queryset=_wallets(), to_field_name="code")
    units = forms.DecimalField(help_text="Units that arrive in the destination wallet.")
    fee_units = forms.DecimalField(
        initial=0,
        required=False,
        label="Network fee (units)",
        help_text="Paid by the source wallet on top of the units sent.",
    )
    sent_at = UTCDateTimeField(label="Sent at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("from_wallet", "to_wallet"):
            self.fields[name].queryset = _wallets()  # type: ignore[attr-defined]

    def clean_txid(self) -> str:
        try:
            return normalize_txid(self.cleaned_data["txid"].strip())
        except AddressError as exc:
            raise forms.ValidationError(str(exc)[:1].upper() + str(exc)[1:] + ".") from exc

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "txid": data["txid"],
            "from_wallet": data["from_wallet"],
            "to_wallet": data["to_wallet"],
            "units": data["units"],
            "fee_units": data.get("fee_units") or Decimal(0),
            "sent_at": data["sent_at"],
        }


# --- loans -------------------------------------------------------------------------------

LOAN_EVENT_KINDS = [
    ("draw", "Draw of principal"),
    ("pledge", "Collateral pledged"),
    ("release", "Collateral released"),
    ("repayment", "Repayment"),
    ("liquidation", "Liquidation by the lender"),
    ("accrual", "A day's interest"),
]
# What each kind needs besides the loan, the kind and the date.
LOAN_EVENT_NEEDS = {
    "draw": ("amount",),
    "pledge": ("units", "wallet"),
    "release": ("units", "wallet"),
    "repayment": ("amount",),
    "liquidation": ("units", "proceeds"),
    "accrual": (),
}


class LoanEventRecordForm(forms.Form):
    """An event of a loan, recorded through holdings.loans."""

    loan = forms.ModelChoiceField(queryset=Loan.objects.none(), to_field_name="code")
    kind = forms.ChoiceField(choices=LOAN_EVENT_KINDS)
    on = forms.DateField(
        label="On (UTC date)", input_formats=["%Y-%m-%d"], validators=[validate_posting_date]
    )
    amount = forms.DecimalField(
        required=False, help_text="Draw or repayment, in the loan's commodity."
    )
    units = forms.DecimalField(
        required=False, help_text="Collateral pledged, released or liquidated."
    )
    proceeds = forms.DecimalField(
        required=False, help_text="Liquidation: what the lender kept, in the loan's commodity."
    )
    wallet = forms.ModelChoiceField(
        queryset=Wallet.objects.none(),
        to_field_name="code",
        required=False,
        help_text="Pledge: the wallet the collateral leaves; release: where it returns; a "
        "USDT loan's draw or repayment: its USDT wallet.",
    )
    control = forms.ChoiceField(
        choices=[(loans.RETAINED, "Retained"), (loans.TRANSFERRED, "Transferred to the lender")],
        initial=loans.RETAINED,
        required=False,
        help_text="Pledge, release, liquidation: who controls the collateral.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loan"].queryset = Loan.objects.select_related(  # type: ignore[attr-defined]
            "principal_commodity", "collateral_commodity"
        ).order_by("code")
        self.fields["wallet"].queryset = _wallets()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        for name in LOAN_EVENT_NEEDS.get(kind or "", ()):
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, f"A {kind} needs this.")
        return data

    def record(self, user: Any) -> LoanEvent:
        """Call the service; a LedgerError is the caller's to show."""
        data = self.cleaned_data
        loan, kind, on = data["loan"], data["kind"], data["on"]
        control = data.get("control") or loans.RETAINED
        wallet = data.get("wallet")
        if kind == "draw":
            return loans.loan_draw(
                loan=loan, amount=data["amount"], on=on, to_wallet=wallet, created_by=user
            )
        if kind == "pledge":
            return loans.loan_pledge(
                loan=loan,
                units=data["units"],
                from_wallet=data["wallet"],
                on=on,
                control=control,
                created_by=user,
            )
        if kind == "release":
            return loans.loan_release(
                loan=loan,
                units=data["units"],
                to_wallet=data["wallet"],
                on=on,
                control=control,
                created_by=user,
            )
        if kind == "repayment":
            return loans.loan_repay(
                loan=loan, amount=data["amount"], on=on, from_wallet=wallet, created_by=user
            )
        if kind == "liquidation":
            return loans.loan_liquidate(
                loan=loan,
                units=data["units"],
                proceeds=data["proceeds"],
                on=on,
                control=control,
                created_by=user,
            )
        return loans.loan_accrue(loan=loan, on=on)
