"""Forms of the ledger's admin.

The rules stay in ledger.services. A form that creates something asks the service itself
whether it would accept the input (after the form's own validation), in a savepoint that
is always rolled back, so that the admin shows the ledger's own error message on the form
(not a 500) without repeating its checks; the admin's save_model then calls the service
for real.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ledger import selectors, services
from ledger.dates import validate_posting_date
from ledger.errors import LedgerError
from ledger.models import (
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    VALUE_DIGITS,
    Account,
    ManualJournal,
    ManualJournalKind,
    ManualJournalLine,
    PeriodClose,
)
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES, format_amount
from ledger.services.manual_journals import size_text
from ledger.text import validate_printable_text


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
        validators=[validate_printable_text],
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Recorded with the reopening, with your name and the time.",
    )


# --- journal -----------------------------------------------------------------------------


class CancellationRequestForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Why the document is cancelled: the approver reads it, the audit keeps it.",
    )
    effective_date = forms.DateField(
        required=False,
        widget=AdminDateWidget,
        help_text="Blank: the entry's own date (as if it never happened). Use an open "
        "period's date when the entry's period is closed.",
    )


# --- manual journals ---------------------------------------------------------------------

KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}\Z"
LINE_FIELD = re.compile(r"postings\[(\d+)\]\.(account|quantity|value)")


class ManualJournalForm(forms.ModelForm):
    """A manual journal's date, memo and kind; its lines are the inline below it."""

    class Meta:
        model = ManualJournal
        fields = ("effective_date", "memo", "kind")
        widgets = {"memo": forms.Textarea(attrs={"rows": 3, "cols": 80})}
        help_texts = {
            "memo": "What the entry records, for the approver and the auditors.",
            "kind": "What the entry is: manual unless one of the others fits.",
        }

    def clean_effective_date(self) -> object:
        day = self.cleaned_data["effective_date"]
        validate_posting_date(day)
        closed = selectors.closed_through()
        if day is not None and closed is not None and day <= closed:
            raise ValidationError(
                f"{day} is inside the period closed through {closed}: the books take no entry "
                f"dated on or before {closed}."
            )
        return day

    def clean_memo(self) -> str:
        memo = self.cleaned_data["memo"]
        validate_printable_text(memo)
        return memo

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if not re.match(KIND_PATTERN, kind or ""):
            raise ValidationError("Lower-case letters, digits and underscores, from a letter.")
        if kind in services.RESERVED_KINDS:
            raise ValidationError(f"'{kind}' is reserved: reverse an entry from its own page.")
        if kind not in ManualJournalKind.values:
            raise ValidationError(f"Kind {services.kind_problem(kind)}.")
        return kind


def line_number(form: forms.BaseForm) -> int:
    """A line form's number as people count them (its prefix is lines-<index>)."""
    index = (form.prefix or "").rpartition("-")[2]
    return int(index) + 1 if index.isdigit() else 0


class TypedAmountField(forms.DecimalField):
    """A decimal as accountants type it: thousands separators (commas) are taken, in a text
    box (a number box would drop them)."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 20})

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(",", "").strip()
        return super().to_python(value)


class ManualJournalLineForm(forms.ModelForm):
    """One line as accountants write it: the account, its amount in the Debit or the Credit
    column (in the account's commodity, never both), and its USD value, filled from the amount
    for a USD account. The line is kept as before: quantity and value signed, debit positive,
    credit negative. The errors name the line."""

    debit = TypedAmountField(
        required=False, max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES
    )
    credit = TypedAmountField(
        required=False, max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES
    )
    value = TypedAmountField(
        required=False,
        max_digits=VALUE_DIGITS,
        decimal_places=VALUE_PLACES,
        label=f"{FUNCTIONAL_CURRENCY} value",
    )

    class Meta:
        model = ManualJournalLine
        fields = ("account",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.fields.get("account")
        if account is not None:  # an id naming no account (`abc`), on the line's account
            account.error_messages = {
                **account.error_messages,
                "invalid_choice": f"Line {line_number(self)}: there is no such account: "
                "choose one from the list.",
            }
        line = self.instance
        if line.pk is not None and line.account_id is not None:
            # A draft's line, shown at its commodity's scale in its column.
            places = line.account.commodity.decimal_places
            debit = line.quantity > 0 or (line.quantity == 0 and line.value > 0)
            self.initial["debit" if debit else "credit"] = format_amount(abs(line.quantity), places)
            self.initial["value"] = format_amount(abs(line.value), VALUE_PLACES)

    def side_field(self) -> str:
        """The column the line's amount is in (debit or credit)."""
        return "credit" if self.cleaned_data.get("credit") is not None else "debit"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if self.errors:
            return cleaned
        n = line_number(self)
        account, debit, credit = cleaned.get("account"), cleaned.get("debit"), cleaned.get("credit")
        value = cleaned.get("value")
        if debit is not None and credit is not None:
            raise ValidationError(
                f"Line {n} has both a debit and a credit: write its amount in one column only."
            )
        if debit is None and credit is None:
            raise ValidationError(f"Line {n} has neither a debit nor a credit: write its amount.")
        amount = debit if debit is not None else credit
        assert amount is not None
        if amount < 0:
            self.add_error(
                self.side_field(),
                f"Line {n}: amounts are written without a sign; a credit goes in the Credit "
                "column.",
            )
            return cleaned
        if value is not None and value < 0:
            self.add_error("value", f"Line {n}: the USD value is written without a sign.")
            return cleaned
        if account is not None and account.commodity_id == FUNCTIONAL_CURRENCY:
            if value is None:
                value = amount  # a USD amount is its value
            elif value != amount:
                self.add_error(
                    "value",
                    f"Line {n} is in {FUNCTIONAL_CURRENCY}: its value is its amount, "
                    f"{amount:f}; leave the value blank.",
                )
                return cleaned
        if value is None:
            self.add_error("value", f"Line {n}: its USD value is required.")
            return cleaned
        if amount == 0 and value == 0:
            raise ValidationError(
                f"Line {n}: its amount and value are both zero: leave the line out."
            )
        sign = 1 if debit is not None else -1
        cleaned["quantity"] = amount * sign
        cleaned["value"] = value * sign  # the line as kept: signed
        self.instance.quantity = cleaned["quantity"]
        return cleaned


class ManualJournalLineFormSet(forms.BaseInlineFormSet):
    """The lines: at least two, balanced, and what the ledger would accept (scales, accounts,
    balances that must not go negative), each error shown on the line and field at fault."""

    def lines(self) -> list[tuple[forms.Form, tuple[Account, Decimal, Decimal]]]:
        kept = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            kept.append((form, (data["account"], data["quantity"], data["value"])))
        return kept

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        lines = self.lines()
        if len(lines) < 2:
            raise ValidationError("A journal needs at least two lines: a debit and a credit.")
        values = [value for _, (_, _, value) in lines]
        debits = sum((v for v in values if v > 0), Decimal(0))
        credits = -sum((v for v in values if v < 0), Decimal(0))
        if debits != credits:
            raise ValidationError(
                f"The lines do not balance: debits {debits:,.2f} {FUNCTIONAL_CURRENCY}, credits "
                f"{credits:,.2f} {FUNCTIONAL_CURRENCY}, a difference of "
                f"{debits - credits:,.2f} {FUNCTIONAL_CURRENCY}."
            )
        header = self.instance
        if header.effective_date is None or not header.memo or not header.kind:
            return  # the journal's own fields are in error: shown there
        try:
            services.manual_journal_check(
                effective_date=header.effective_date,
                memo=header.memo,
                kind=header.kind,
                postings=[line for _, line in lines],
            )
        except LedgerError as exc:
            where = LINE_FIELD.fullmatch(exc.field or "")
            if where is not None and int(where.group(1)) < len(lines):
                form = lines[int(where.group(1))][0]
                field = where.group(2)
                if field == "quantity" and isinstance(form, ManualJournalLineForm):
                    field = form.side_field()
                form.add_error(field, f"Line {line_number(form)}: {exc.message}")
                raise ValidationError("Please correct the line shown below.") from exc
            raise ValidationError(exc.message[:1].upper() + exc.message[1:] + ".") from exc


class AttachmentUploadForm(forms.Form):
    """A supporting document for a manual journal, refused when empty or too large."""

    file = forms.FileField(allow_empty_file=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES
        self.fields["file"].help_text = (
            f"An invoice, a confirmation, a working paper: at most "
            f"{size_text(limit)}. Kept as uploaded, with its SHA-256."
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        problem = services.attachment_problem(upload.name, upload.size)
        if problem is not None:
            raise ValidationError(problem[:1].upper() + problem[1:] + ".")
        return upload


class RejectJournalForm(forms.Form):
    reason = forms.CharField(
        validators=[validate_printable_text],
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Required. Kept with the journal, with your name and the time; its maker "
        "sees it.",
    )


class ConfirmForm(forms.Form):
    """Nothing to fill in: the page asks to confirm, and shows the service's refusal."""
