"""Query filters. A value that is not understood is a 400 naming the parameter, never ignored."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django_filters.fields import ModelChoiceField

from ledger.api.serializers import COMMODITY_CODE_PATTERN
from ledger.models import Account, AccountType, Commodity


class StrictBooleanField(forms.Field):
    """true or false; anything else is an error (django-filter would ignore it silently)."""

    default_error_messages = {"invalid": "must be true or false."}
    TRUE = frozenset({"true", "True", "1"})
    FALSE = frozenset({"false", "False", "0"})

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class CommodityChoiceField(ModelChoiceField):
    """A commodity code; a string that cannot be one is refused before the database sees it."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not COMMODITY_CODE_PATTERN.fullmatch(str(value)):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class CommodityFilter(django_filters.ModelChoiceFilter):
    field_class = CommodityChoiceField


class AccountFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=AccountType.choices, help_text="Account type.")
    commodity = CommodityFilter(
        queryset=Commodity.objects.all(),
        help_text="Commodity code, e.g. BTC.",
        error_messages={"invalid_choice": "there is no such commodity."},
    )
    is_active = StrictBooleanFilter(help_text="true or false.")

    class Meta:
        model = Account
        fields = ["type", "commodity", "is_active"]
