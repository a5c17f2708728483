"""Forms of the ledger's admin.

The rules stay in ledger.services. A form that creates something asks the service itself
whether it would accept the input (after the form's own validation), in a savepoint that
is always rolled back, so that the admin shows the ledger's own error message on the form
(not a 500) without repeating its checks; the admin's save_model then calls the service
for real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminDateWidget
from django.db import IntegrityError, transaction

from ledger import selectors, services
from ledger.errors import LedgerError
from ledger.models import Account, PeriodClose
from ledger.money import format_amount


class _DryRun(Exception):
    """Raised to roll back a savepoint after the service accepted the input."""


def service_refusal(call: Callable[[], object]) -> LedgerError | None:
    """What the service says to `call()`: None if it would accept it. Nothing is written."""
    try:
        with transaction.atomic():
            call()
            raise _DryRun
    except _DryRun:
        return None
    except LedgerError as exc:
        return exc
    except IntegrityError as exc:  # a database rule the service did not check first
        return LedgerError(f"the database refused it: {exc}", code="integrity_error")


def add_service_error(form: forms.BaseForm, error: LedgerError) -> None:
    """Attach a service's error to the field it names, or to the form as a whole."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


# --- accounts ----------------------------------------------------------------------------


class AccountAddForm(forms.ModelForm):
    """A new account: checked by ledger.services.account_create before it is created."""

    class Meta:
        model = Account
        fields = ("code", "name", "type", "commodity", "parent", "must_not_go_negative")
        help_texts = {
            "parent": "A child has the same type and commodity as its parent.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields.get("parent")  # ordered as a tree by the admin
        if isinstance(parent, forms.ModelChoiceField) and parent.queryset is not None:
            parent.queryset = parent.queryset.filter(is_active=True)

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "name": data["name"],
            "type": data["type"],
            "commodity": data["commodity"],
            "parent": data.get("parent"),
            "must_not_go_negative": bool(data.get("must_not_go_negative")),
        }

    def full_clean(self) -> None:
        super().full_clean()  # the model's own validation first: field by field
        if self.is_bound and not self.errors:
            refusal = service_refusal(lambda: services.account_create(**self.service_arguments()))
            if refusal is not None:
                add_service_error(self, refusal)


class AccountChangeForm(forms.ModelForm):
    """What may change on an account: its name and flags. Code, type, commodity and parent
    are fixed once the account exists (postings and roll-ups depend on them)."""

    class Meta:
        model = Account
        fields = ("name", "must_not_go_negative", "is_active")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if "must_not_go_negative" in self.changed_data and cleaned.get("must_not_go_negative"):
            dip = selectors.account_first_day_below_zero(account=self.instance)
            if dip is not None:
                day, running = dip
                scale = self.instance.commodity.decimal_places
                self.add_error(
                    "must_not_go_negative",
                    f"account {self.instance.code} is below zero on {day} "
                    f"({format_amount(running, scale)} {self.instance.commodity_id}); "
                    "it cannot be flagged must-not-go-negative",
                )
        return cleaned


# --- periods -----------------------------------------------------------------------------


class PeriodCloseForm(forms.ModelForm):
    """Close the books through a date, by ledger.services.period_close."""

    # Set by the admin on the form class it builds for each request.
    request_user: Any = None

    class Meta:
        model = PeriodClose
        fields = ("through",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "through" in self.fields:
            current = selectors.closed_through()
            state = f"The books are closed through {current}." if current else "None is closed."
            field = self.fields["through"]
            field.label = "Close the books through"
            field.help_text = f"{state} Once closed, no entry may be dated on or before it."

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not self.errors:
            refusal = service_refusal(
                lambda: services.period_close(
                    through=self.cleaned_data["through"], by=self.request_user
                )
            )
            if refusal is not None:
                add_service_error(self, refusal)


class ReopenPeriodForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Recorded with the reopening, with your name and the time.",
    )


# --- journal -----------------------------------------------------------------------------


class ReverseEntryForm(forms.Form):
    effective_date = forms.DateField(
        required=False,
        widget=AdminDateWidget,
        help_text="Blank: the original entry's date. Use an open period's date when the "
        "original's period is closed.",
    )
    memo = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Blank: “Reversal of entry …” with the original memo.",
    )
