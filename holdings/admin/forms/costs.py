"""The forms of the site costs' admin pages: a file of invoices or meter readings, and an
invoice typed by a person (checked as a file's row is, by holdings.importers.site_costs)."""

from __future__ import annotations

from typing import Any

from django import forms

from holdings.importers.site_costs import (
    HOSTING_BASES,
    KINDS,
    CostFileError,
    InvoiceLine,
    parse_typed_invoice,
)

MAX_COST_FILE_BYTES = 20 * 1024 * 1024
TYPED = "typed invoice"


class CostFileForm(forms.Form):
    file = forms.FileField(label="File (CSV)")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_COST_FILE_BYTES:
            raise forms.ValidationError(
                f"{upload.name} is larger than {MAX_COST_FILE_BYTES // 2**20} MB."
            )
        return upload


def _text(label: str, help_text: str = "", required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, required=required, help_text=help_text, max_length=500)


class TypedInvoiceForm(forms.Form):
    """An invoice a person types: waits for a finance approver other than its author."""

    site = _text("Site", "The site's code.", required=True)
    kind = forms.ChoiceField(choices=[(k, k) for k in KINDS])
    vendor = _text("Vendor")
    reference = _text("Invoice number", required=True)
    period_start = forms.CharField(
        label="Period start", widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.CharField(label="Period end", widget=forms.DateInput(attrs={"type": "date"}))
    kwh = _text("Energy (kWh)", "Power: the energy billed.")
    energy = _text("Energy charge (USD)", "Power: kWh x tariff.")
    demand = _text("Demand charges (USD)")
    taxes = _text("Taxes (USD)")
    credits = _text("Credits (USD)", "Power: curtailment and demand-response credits.")
    amount = _text("Amount (USD)", "Hosting and other costs; power: charges less credits.")
    hosting_basis = forms.ChoiceField(
        choices=[("", "-"), *((b, b) for b in HOSTING_BASES)], required=False
    )
    description = _text("Description")
    paid = forms.BooleanField(required=False, label="Paid in cash")

    def line(self) -> InvoiceLine | None:
        """The invoice, or None with the problems added to their fields."""
        values = {name: str(value or "") for name, value in self.cleaned_data.items()}
        values["paid"] = "true" if self.cleaned_data.get("paid") else "false"
        try:
            return parse_typed_invoice(values, source=TYPED)
        except CostFileError as exc:
            for error in exc.errors:
                field = error.field if error.field in self.fields else None
                self.add_error(field, error.message)
            return None


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, max_length=2000)
