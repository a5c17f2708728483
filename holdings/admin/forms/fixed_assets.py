"""The forms of the fixed assets' admin pages: a deposit to a vendor, machines received,
and an event of an asset (placed in service, a new useful life, an impairment, a disposal).
The services check the rest (holdings.services.fixed_assets)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from holdings.models import AssetClass, Site

DATE = forms.DateInput(attrs={"type": "date"})


def _usd(label: str, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        decimal_places=2,
        max_digits=20,
        help_text=help_text,
    )


class VendorDepositForm(forms.Form):
    vendor = forms.CharField(max_length=200)
    reference = forms.CharField(max_length=100)
    amount = _usd("Amount (USD)")
    paid_on = forms.DateField(widget=DATE)


class AssetReceiptForm(forms.Form):
    code = forms.CharField(max_length=27, help_text="The batch of machines' code.")
    asset_class = forms.ModelChoiceField(AssetClass.objects.all(), to_field_name="code")
    description = forms.CharField(max_length=500, required=False)
    vendor = forms.CharField(max_length=200, required=False)
    units = forms.IntegerField(min_value=1, initial=1, help_text="Machines in the batch.")
    hashrate_ths = forms.DecimalField(
        label="Hashrate (TH/s)", required=False, min_value=Decimal(0), decimal_places=3
    )
    power_kw = forms.DecimalField(
        label="Power draw (kW)", required=False, min_value=Decimal(0), decimal_places=3
    )
    cost = _usd("Cost (USD)")
    received_on = forms.DateField(widget=DATE)
    deposit = forms.CharField(
        max_length=100, required=False, help_text="The reference of a deposit to apply."
    )
    deposit_applied = _usd("Deposit applied (USD)", required=False)
    paid = forms.BooleanField(required=False, label="The rest paid in cash")

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["deposit"] = data.get("deposit") or None
        data["deposit_applied"] = data.get("deposit_applied") or Decimal("0.00")
        return data


EVENTS = (
    ("in_service", "Placed in service at a site"),
    ("life_change", "New useful life from a month on"),
    ("impairment", "Impairment (a finance approver, with the evidence)"),
    ("disposal", "Disposal"),
)


class AssetEventForm(forms.Form):
    kind = forms.ChoiceField(choices=EVENTS)
    on = forms.DateField(
        widget=DATE,
        label="Date",
        help_text="In service: the first day; new life: the first day of its first month; "
        "impairment: a month end; disposal: the day.",
    )
    site = forms.ModelChoiceField(Site.objects.all(), to_field_name="code", required=False)
    useful_life_months = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=600,
        help_text="In service (the class's by "
        "default) or the new life, in months from the day in service.",
    )
    salvage_value = _usd("Salvage value (USD)", required=False)
    fair_value = _usd("Fair value (USD)", required=False)
    proceeds = _usd("Proceeds (USD)", required=False)
    evidence = forms.CharField(widget=forms.Textarea, required=False)

    NEEDS = {
        "in_service": ("site",),
        "life_change": ("useful_life_months",),
        "impairment": ("fair_value", "evidence"),
        "disposal": ("proceeds",),
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.NEEDS.get(data.get("kind", ""), ()):
            if data.get(name) in (None, ""):
                self.add_error(name, "This field is required for this event.")
        return data
