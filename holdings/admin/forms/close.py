"""Forms of the month-end close page: the month to look at, and the close itself."""

from __future__ import annotations

import re
from datetime import date

from django import forms

from ledger.dates import REPORT_CEILING, REPORT_FLOOR

MONTH = re.compile(r"(\d{4})-(\d{2})")


class MonthForm(forms.Form):
    month = forms.CharField(
        label="Month",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
        help_text="The month to close, as YYYY-MM.",
    )

    def clean_month(self) -> date:
        text = self.cleaned_data["month"].strip()
        match = MONTH.fullmatch(text)
        if match is None:
            raise forms.ValidationError(f"{text!r} is not a month: write it as YYYY-MM")
        year, number = int(match.group(1)), int(match.group(2))
        if not 1 <= number <= 12:
            raise forms.ValidationError(f"{text}: there is no month {number}")
        if not REPORT_FLOOR.year <= year <= REPORT_CEILING.year:
            raise forms.ValidationError(
                f"{text} is outside {REPORT_FLOOR.year} to {REPORT_CEILING.year}"
            )
        return date(year, number, 1)


class MonthCloseForm(forms.Form):
    month = forms.CharField(widget=forms.HiddenInput, max_length=7)
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Required when any check fails: why the month is closed all the same.",
    )

    def clean_month(self) -> date:
        return MonthForm.clean_month(self)  # type: ignore[arg-type]
