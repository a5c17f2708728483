"""Forms of the treasury: a sale to preview and then record, an on-chain transfer between
the company's wallets; timestamps written in UTC, nothing guessed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms

from holdings.addresses import AddressError, normalize_txid
from holdings.admin.forms.setup import active_wallets
from holdings.services import treasury
from ledger.dates import validate_posting_date
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.text import validate_printable_line

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


class SaleRecordForm(forms.Form):
    """A sale to preview and then record through holdings.services.treasury."""

    reference = forms.CharField(
        max_length=100,
        help_text="The trade's id at the venue (one sale per id).",
        validators=[validate_printable_line],
    )
    wallet = forms.ModelChoiceField(
        queryset=active_wallets(), to_field_name="code", help_text="The wallet the units leave."
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
        queryset=active_wallets().filter(commodity_id="USDT"),
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
        self.fields["wallet"].queryset = active_wallets()  # type: ignore[attr-defined]
        self.fields["proceeds_wallet"].queryset = active_wallets().filter(  # type: ignore[attr-defined]
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
            return treasury.sale_preview(
                **self.service_arguments(), reference=self.cleaned_data["reference"]
            )
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
    from_wallet = forms.ModelChoiceField(queryset=active_wallets(), to_field_name="code")
    to_wallet = forms.ModelChoiceField(queryset=active_wallets(), to_field_name="code")
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
            self.fields[name].queryset = active_wallets()  # type: ignore[attr-defined]

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
