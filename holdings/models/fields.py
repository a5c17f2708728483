"""The columns every holdings table shares: codes, quantities at the ledger's widest scale,
and USD values to the cent.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.db import models

from ledger.fields import ExactDecimalField
from ledger.models import QUANTITY_DIGITS, QUANTITY_PLACES, VALUE_DIGITS, VALUE_PLACES

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,26}$", "Letters, digits, '.', '_' or '-' (at most 27)."
)


def quantity_field(**kwargs):  # type: ignore[no-untyped-def]
    return ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, **kwargs)


def value_field(**kwargs):  # type: ignore[no-untyped-def]
    return ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, **kwargs)


def kept_reference(to: Any) -> Any:
    """A roll-up's reference to the row it adds up for: the trigger that writes it has just
    read that row, so neither a constraint nor an index of its own."""
    return models.ForeignKey(
        to, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
