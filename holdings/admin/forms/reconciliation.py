"""Forms of the reconciliation pages: reconcile a day now, upload a statement."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from holdings.models import ReconciliationKind, StatementKind
from holdings.services.production import size_text, too_large
from ledger.dates import validate_report_date


class ReconcileForm(forms.Form):
    as_of = forms.DateField(
        label="Day (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The UTC day to reconcile, at its end.",
        validators=[validate_report_date],
    )
    kinds = forms.MultipleChoiceField(
        choices=ReconciliationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to run every kind.",
    )


class StatementUploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=StatementKind.choices,
        help_text=(
            "Custodian or pool balances: columns date,account,commodity,balance (the account "
            "is a wallet's or a pool account's code). Lender: date,loan,commodity,"
            "principal_outstanding,accrued_interest,collateral_units."
        ),
    )
    file = forms.FileField(label="Statement (CSV)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = size_text(settings.STATEMENT_UPLOAD_MAX_BYTES)
        self.fields["file"].help_text = f"All or nothing, at most {limit}."

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        refused = too_large(upload.name, upload.size, settings.STATEMENT_UPLOAD_MAX_BYTES)
        if refused:
            raise forms.ValidationError(refused + ".")
        return upload
