"""What every part of the holdings API writes the same way.

The ledger API's conventions hold here too: decimals travel as strings, quantities with
exactly their commodity's decimal places ("0.50000000" BTC), USD values with two, prices
exactly as they were recorded (the evidence is shown as it is, never rounded). Dates are
UTC dates written YYYY-MM-DD; unknown keys in a request are refused.

A decimal the API answers with is declared once, as a field: `UsdOut` for a USD value,
`QuantityOut` for units of a commodity, `DecimalOut` for anything else (a price, a rate, a
hashrate). The field says how it is written and what the OpenAPI schema says of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from operator import attrgetter
from typing import Any

from drf_spectacular.drainage import set_override
from rest_framework import serializers
from rest_framework.fields import get_attribute

from holdings.models import Wallet
from ledger.api.serializers import COMMODITY_CODE_PATTERN, QUANTITY_SCHEMA, USD_SCHEMA, CodeField
from ledger.models import Commodity
from ledger.money import VALUE_PLACES, format_amount

# What a site, pool, pool account or wallet code can look like (holdings.models.CODE_VALIDATOR).
HOLDINGS_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,26}")
DEFAULT_REPORT_COMMODITY = "BTC"


# --- how a decimal is written ------------------------------------------------------------


def exact(value: Decimal) -> str:
    """A recorded decimal written out as it is: no exponent, no rounding."""
    return f"{value:f}"


def plain(value: Decimal) -> str:
    """Written without an exponent or trailing zeros after the point, never rounded."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def usd_text(value: Decimal) -> str:
    return format_amount(value, VALUE_PLACES)


# --- what the schema says of it ----------------------------------------------------------
# QUANTITY_SCHEMA and USD_SCHEMA are the ledger API's.

NULLABLE_QUANTITY_SCHEMA = {
    "type": "string",
    "example": "0.50000000",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "nullable": True,
}
NULLABLE_USD_SCHEMA = {
    "type": "string",
    "example": "95000.00",
    "pattern": r"^-?[0-9]+\.[0-9]{2}$",
    "nullable": True,
}
# A USD price at its own precision, at least the cent (an average price of the units sold:
# 87512.34 for BTC, 0.09978 for KAS).
NULLABLE_USD_PRICE_SCHEMA = {
    "type": "string",
    "example": "87512.34",
    "pattern": r"^-?[0-9]+\.[0-9]{2,}$",
    "nullable": True,
}
PRICE_SCHEMA = {
    "type": "string",
    "example": "87512.34",
    "pattern": r"^[0-9]+(\.[0-9]+)?$",
    "description": "The price exactly as recorded, in the quote commodity.",
}
NULLABLE_PRICE_SCHEMA = {
    "type": "string",
    "example": "87512.34",
    "pattern": r"^[0-9]+(\.[0-9]+)?$",
    "nullable": True,
    "description": "The price exactly as recorded, in USD.",
}
RATE_SCHEMA = {
    "type": "string",
    "example": "0.100000",
    "pattern": r"^[0-9]+(\.[0-9]+)?$",
    "description": "A fraction exactly as recorded: 0.10 is 10%.",
}
NULLABLE_RATIO_SCHEMA = {
    "type": "string",
    "example": "0.4973",
    "pattern": r"^-?[0-9]+\.[0-9]{4}$",
    "nullable": True,
    "description": "Debt value / collateral value, 4 decimals; null without collateral.",
}
PERCENT_SCHEMA = {
    "type": "string",
    "example": "-4.2",
    "pattern": r"^-?[0-9]+\.[0-9]$",
    "nullable": True,
}
EHS_SCHEMA = {"type": "string", "example": "30.12", "pattern": r"^[0-9]+\.[0-9]{2}$"}
NULLABLE_EHS_SCHEMA = {
    "type": "string",
    "example": "30.12",
    "pattern": r"^[0-9]+\.[0-9]{2}$",
    "nullable": True,
}


# --- decimal fields ----------------------------------------------------------------------


class DecimalOut(serializers.Field):
    """A decimal read from `source` and answered as a string; read-only, and None is null.

    With a scale it is written with exactly that many places (ledger.money.format_amount,
    which refuses to round): `places`, or the decimal places of the commodity at the dotted
    path `commodity` of the object ("commodity", "loan.principal_commodity"), or the scale
    the view puts in the context under `context_scale`. Without a scale, `write` writes it:
    exactly as recorded unless told otherwise.

    `schema` is what the OpenAPI schema says of it (as extend_schema_field would); it says
    `nullable` exactly when the field allows null.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        *,
        places: int | None = None,
        commodity: str | None = None,
        context_scale: str | None = None,
        write: Callable[[Decimal], str] = exact,
        **kwargs: Any,
    ) -> None:
        if [places, commodity, context_scale].count(None) < 2:
            raise ValueError("one scale at most: places, commodity or context_scale")
        if bool(schema.get("nullable")) != bool(kwargs.get("allow_null")):
            raise ValueError("the schema says nullable exactly when the field allows null")
        self.places = places
        self.commodity = commodity
        self.context_scale = context_scale
        self.write = write
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        set_override(self, "field", schema)

    def get_attribute(self, instance: Any) -> tuple[Decimal, int | None] | None:
        # Read as a method would read it: a missing attribute is an error, not a field left
        # out of the answer.
        value = get_attribute(instance, self.source_attrs)
        return None if value is None else (value, self.scale(instance))

    def scale(self, instance: Any) -> int | None:
        if self.commodity is not None:
            return attrgetter(self.commodity)(instance).decimal_places
        if self.context_scale is not None:
            return self.context[self.context_scale]
        return self.places

    def to_representation(self, value: tuple[Decimal, int | None]) -> str:
        amount, scale = value
        return self.write(amount) if scale is None else format_amount(amount, scale)


class QuantityOut(DecimalOut):
    """Units of a commodity, with exactly its decimal places: those of the commodity at the
    path `commodity` of the object, or the scale in the context under `context_scale`."""

    def __init__(
        self, *, commodity: str | None = None, context_scale: str | None = None, **kwargs: Any
    ) -> None:
        if commodity is None and context_scale is None:
            raise ValueError("a quantity's scale: commodity or context_scale")
        schema = NULLABLE_QUANTITY_SCHEMA if kwargs.get("allow_null") else QUANTITY_SCHEMA
        super().__init__(schema, commodity=commodity, context_scale=context_scale, **kwargs)


class UsdOut(DecimalOut):
    """A USD value, with two decimal places."""

    def __init__(self, **kwargs: Any) -> None:
        schema = NULLABLE_USD_SCHEMA if kwargs.get("allow_null") else USD_SCHEMA
        super().__init__(schema, places=VALUE_PLACES, **kwargs)


# --- fields of requests and queries ------------------------------------------------------


def commodity_field(help_text: str) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Commodity.objects.all(),
        pattern=COMMODITY_CODE_PATTERN,
        what="commodity",
        required=False,
        help_text=help_text,
    )


def wallet_field(help_text: str, **kwargs: Any) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Wallet.objects.select_related("account", "commodity"),
        pattern=HOLDINGS_CODE_PATTERN,
        what="wallet",
        help_text=help_text,
        **kwargs,
    )


# --- errors of an uploaded file ----------------------------------------------------------


class ImportErrorSerializer(serializers.Serializer):
    file = serializers.CharField(allow_null=True, help_text="The file (name) at fault.")
    row = serializers.IntegerField(allow_null=True, help_text="1-based row or record number.")
    field = serializers.CharField(allow_null=True, help_text="The field at fault.")
    message = serializers.CharField(help_text="What is wrong, in words.")
