"""The form of a pool file uploaded in the admin, imported as a batch."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from holdings.models import ImportSource, PoolAccount
from holdings.services.production import size_text, too_large


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
