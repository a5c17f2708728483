"""The form of a prices file uploaded in the admin."""

from __future__ import annotations

from typing import Any

from django import forms

MAX_PRICE_FILE_BYTES = 20 * 1024 * 1024


class PriceUploadForm(forms.Form):
    file = forms.FileField(
        label="Prices (CSV)",
        help_text="Columns timestamp,base,quote,price,source; timestamps in UTC (…Z). All or "
        "nothing: a price already recorded refuses the whole file, unless identical prices "
        "are skipped; one recorded with another value refuses it either way.",
    )
    skip_identical = forms.BooleanField(
        label="Skip identical prices",
        required=False,
        help_text="Skip prices already recorded with the same value, so a file that overlaps "
        "what is recorded loads.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_PRICE_FILE_BYTES:
            raise forms.ValidationError(
                f"{upload.name} is larger than {MAX_PRICE_FILE_BYTES // 2**20} MB."
            )
        return upload
