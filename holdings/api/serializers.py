"""What the holdings API reads and writes.

The ledger API's conventions hold here too: decimals travel as strings, quantities with
exactly their commodity's decimal places ("0.50000000" BTC), USD values with two, prices
exactly as they were recorded (the evidence is shown as it is, never rounded). Dates are
UTC dates written YYYY-MM-DD; unknown keys in a request are refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.addresses import AddressError, normalize_txid
from holdings.models import (
    Disposal,
    ImportBatch,
    ImportSource,
    Loan,
    LoanEvent,
    Lot,
    Payout,
    PoolAccount,
    Price,
    ProductionRecord,
    Remeasurement,
    Sale,
    Site,
    Transfer,
    Wallet,
    WalletAddress,
)
from holdings.selectors.loans import LoanStatus
from holdings.selectors.production import ProductionMonth
from holdings.selectors.reports import RealizedGains
from holdings.services.loans import RETAINED, TRANSFERRED
from holdings.services.production import size_text, too_large
from holdings.services.treasury import LotRelief, SalePlan
from ledger.api.serializers import (
    ACCOUNT_CODE_PATTERN,
    COMMODITY_CODE_PATTERN,
    QUANTITY_OUT,
    USD_OUT,
    CodeField,
    QuantityField,
    StrictCharField,
    StrictSerializer,
    UTCDateField,
    ValueField,
)
from ledger.dates import posting_date_problem
from ledger.models import Account, CancellationStatus, Commodity
from ledger.money import VALUE_PLACES, format_amount

# What a site, pool, pool account or wallet code can look like (holdings.models.CODE_VALIDATOR).
HOLDINGS_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,26}")
# The production report covers whole months, ten years at most.
MAX_REPORT_MONTHS = 120
DEFAULT_REPORT_COMMODITY = "BTC"

PRICE_OUT = extend_schema_field(
    {
        "type": "string",
        "example": "87512.34",
        "pattern": r"^[0-9]+(\.[0-9]+)?$",
        "description": "The price exactly as recorded, in the quote commodity.",
    }
)
PERCENT_OUT = extend_schema_field(
    {"type": "string", "example": "-4.2", "pattern": r"^-?[0-9]+\.[0-9]$", "nullable": True}
)
EHS_OUT = extend_schema_field(
    {"type": "string", "example": "30.12", "pattern": r"^[0-9]+\.[0-9]{2}$"}
)
NULLABLE_EHS_OUT = extend_schema_field(
    {"type": "string", "example": "30.12", "pattern": r"^[0-9]+\.[0-9]{2}$", "nullable": True}
)
NULLABLE_USD_OUT = extend_schema_field(
    {"type": "string", "example": "87512.34", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "nullable": True}
)
NULLABLE_QUANTITY_OUT = extend_schema_field(
    {
        "type": "string",
        "example": "0.50000000",
        "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
        "nullable": True,
    }
)


def exact(value: Decimal) -> str:
    """A recorded decimal written out as it is: no exponent, no rounding."""
    return f"{value:f}"


def plain(value: Decimal) -> str:
    """Written without an exponent or trailing zeros after the point, never rounded."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity_text(value: Decimal | None, places: int) -> str | None:
    return None if value is None else format_amount(value, places)


def usd_text(value: Decimal) -> str:
    return format_amount(value, VALUE_PLACES)


# --- price evidence ----------------------------------------------------------------------


class PriceSerializer(serializers.ModelSerializer):
    base = serializers.CharField(
        source="base_id", read_only=True, help_text="Base commodity code, e.g. BTC."
    )
    quote = serializers.CharField(
        source="quote_id", read_only=True, help_text="Quote commodity code, e.g. USD."
    )
    price = serializers.SerializerMethodField(help_text="Units of quote per unit of base.")

    class Meta:
        model = Price
        fields = ["id", "base", "quote", "timestamp", "price", "source", "created_at"]
        read_only_fields = fields

    @PRICE_OUT
    def get_price(self, price: Price) -> str:
        return exact(price.price)


class PriceEvidenceSerializer(serializers.ModelSerializer):
    """The price a valuation used, as evidence: which price, from where, as of when."""

    price = serializers.SerializerMethodField()
    quote = serializers.CharField(source="quote_id", read_only=True)

    class Meta:
        model = Price
        fields = ["id", "price", "quote", "source", "timestamp"]
        read_only_fields = fields

    @PRICE_OUT
    def get_price(self, price: Price) -> str:
        return exact(price.price)


def _evidence(price: Price | None) -> dict[str, Any] | None:
    return None if price is None else dict(PriceEvidenceSerializer(price).data)


PRICE_EVIDENCE_OUT = extend_schema_field(PriceEvidenceSerializer(allow_null=True))


# --- import batches ----------------------------------------------------------------------


class ImportErrorSerializer(serializers.Serializer):
    file = serializers.CharField(allow_null=True, help_text="The file (name) at fault.")
    row = serializers.IntegerField(allow_null=True, help_text="1-based row or record number.")
    field = serializers.CharField(allow_null=True, help_text="The field at fault.")
    message = serializers.CharField(help_text="What is wrong, in words.")


class ImportBatchSerializer(serializers.ModelSerializer):
    """A file to import and what importing it did. The file's content is never sent back."""

    url = serializers.HyperlinkedIdentityField(view_name="import-detail")
    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Pool account code."
    )
    file_size = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Size of the file in bytes."
    )
    errors = ImportErrorSerializer(  # type: ignore[assignment]  # a field, not .errors
        many=True, read_only=True, help_text="Why the batch failed (empty unless it failed)."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who uploaded it."
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "url",
            "status",
            "source",
            "pool_account",
            "file_name",
            "file_sha256",
            "file_size",
            "records_total",
            "records_created",
            "records_skipped",
            "errors",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "content_dropped_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "content_dropped_at": {
                "help_text": "When the file of a failed batch was dropped "
                "(FAILED_CONTENT_KEEP_DAYS after it failed); null while it is kept."
            },
        }


class ImportUploadSerializer(StrictSerializer):
    """A pool file to import (multipart/form-data)."""

    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not .source
        choices=ImportSource.choices, help_text="The format of the file: which pool's export."
    )
    pool_account = CodeField(
        slug_field="code",
        queryset=PoolAccount.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what="pool account",
        required=False,
        allow_null=True,
        help_text="The pool account the file belongs to (its code). Only a generic CSV, "
        "whose rows name their pool accounts, may leave it out.",
    )
    file = serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text="The file as the pool exported it, at most IMPORT_UPLOAD_MAX_BYTES "
        f"({size_text(settings.IMPORT_UPLOAD_MAX_BYTES)} unless configured).",
    )

    def validate_file(self, upload: Any) -> Any:
        refused = too_large(upload.name, upload.size, settings.IMPORT_UPLOAD_MAX_BYTES)
        if refused:
            raise serializers.ValidationError(refused, code="too_large")
        return upload


# --- queries -----------------------------------------------------------------------------


def _commodity_field(help_text: str) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Commodity.objects.all(),
        pattern=COMMODITY_CODE_PATTERN,
        what="commodity",
        required=False,
        help_text=help_text,
    )


def _check_range(attrs: dict[str, Any]) -> None:
    start, end = attrs.get("start"), attrs.get("end")
    if start is not None and end is not None and start > end:
        raise serializers.ValidationError(
            {"end": [f"must not be before start ({start.isoformat()})."]}, code="invalid"
        )


class PricesQuerySerializer(serializers.Serializer):
    base = _commodity_field("Only prices of this commodity (its code, e.g. BTC).")
    quote = _commodity_field("Only prices in this commodity (its code, e.g. USD).")
    start = UTCDateField(required=False, help_text="Timestamped on or after this UTC date.")
    end = UTCDateField(required=False, help_text="Timestamped on or before this UTC date.")
    source = serializers.CharField(  # type: ignore[assignment]  # a field, not .source
        required=False, max_length=100, help_text="Only prices from this source."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_range(attrs)
        return attrs


class LotsQuerySerializer(serializers.Serializer):
    account = CodeField(
        slug_field="code",
        queryset=Account.objects.all(),
        pattern=ACCOUNT_CODE_PATTERN,
        what="account",
        required=False,
        help_text="Only lots in this account or one below it (its code, e.g. 1220).",
    )
    commodity = _commodity_field("Only lots of this commodity (its code, e.g. BTC).")
    as_of = UTCDateField(
        required=False,
        help_text="The lots as they stood at the end of this UTC date; now by default.",
    )
    open = serializers.BooleanField(
        required=False,
        default=True,
        help_text="true (default): only lots holding units; false: every lot.",
    )


class ProductionReportQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The report starts with this date's month.")
    end = UTCDateField(help_text="The report ends with this date's month.")
    commodity = _commodity_field(
        f"The mined commodity (its code); {DEFAULT_REPORT_COMMODITY} by default."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_range(attrs)
        start, end = attrs["start"], attrs["end"]
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months > MAX_REPORT_MONTHS:
            raise serializers.ValidationError(
                {"end": [f"the report covers {months} months; at most {MAX_REPORT_MONTHS}."]},
                code="invalid",
            )
        return attrs


# --- lots --------------------------------------------------------------------------------


class LotSerializer(serializers.ModelSerializer):
    """A lot as it stood at the date asked for (`held`), and as it was opened (`original`)."""

    commodity = serializers.CharField(source="commodity_id", read_only=True)
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Account code."
    )
    quantity = serializers.SerializerMethodField(help_text="Units held at the date.")
    cost = serializers.SerializerMethodField(help_text="Cost (USD) of the units held.")
    fair_value_adjustment = serializers.SerializerMethodField(
        help_text="Fair value adjustment (USD) of the units held."
    )
    carrying_value = serializers.SerializerMethodField(
        help_text="Cost plus fair value adjustment (USD)."
    )
    original_quantity = serializers.SerializerMethodField(help_text="Units when opened.")
    original_cost = serializers.SerializerMethodField(help_text="Cost (USD) when opened.")
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment,var-annotated]  # a field
        read_only=True, allow_null=True, help_text="The lot this one was transferred out of."
    )
    price = serializers.SerializerMethodField(help_text="The price the lot was valued at.")
    production_record = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The pool earning the lot came from."
    )
    pool_account = serializers.SerializerMethodField(
        help_text="The pool account of the production record."
    )
    production_day = serializers.SerializerMethodField(
        help_text="The UTC day of the production record."
    )

    class Meta:
        model = Lot
        fields = [
            "id",
            "commodity",
            "account",
            "acquired_at",
            "origin",
            "quantity",
            "cost",
            "fair_value_adjustment",
            "carrying_value",
            "original_quantity",
            "original_cost",
            "parent",
            "price",
            "production_record",
            "pool_account",
            "production_day",
        ]
        read_only_fields = fields

    @staticmethod
    def _held(lot: Lot, name: str) -> Decimal:
        value = getattr(lot, f"held_{name}", None)
        return Decimal(0) if value is None else value

    @QUANTITY_OUT
    def get_quantity(self, lot: Lot) -> str:
        return format_amount(self._held(lot, "quantity"), lot.commodity.decimal_places)

    @USD_OUT
    def get_cost(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "cost"))

    @USD_OUT
    def get_fair_value_adjustment(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "adjustment"))

    @USD_OUT
    def get_carrying_value(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "cost") + self._held(lot, "adjustment"))

    @QUANTITY_OUT
    def get_original_quantity(self, lot: Lot) -> str:
        return format_amount(lot.original_quantity, lot.commodity.decimal_places)

    @USD_OUT
    def get_original_cost(self, lot: Lot) -> str:
        return usd_text(lot.original_cost)

    @PRICE_EVIDENCE_OUT
    def get_price(self, lot: Lot) -> dict[str, Any] | None:
        return _evidence(lot.price)

    def get_pool_account(self, lot: Lot) -> str | None:
        record = lot.production_record
        return None if record is None else record.pool_account.code

    def get_production_day(self, lot: Lot) -> date | None:
        record = lot.production_record
        return None if record is None else record.day


# --- production, payouts, remeasurements -------------------------------------------------


class ProductionRecordSerializer(serializers.ModelSerializer):
    """A pool sub-account's earning for one UTC day, as the pool reported it."""

    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="pool_account.commodity_id", read_only=True)
    gross = serializers.SerializerMethodField(help_text="Before the pool's fee, if reported.")
    fee = serializers.SerializerMethodField(help_text="The pool's fee, if reported.")
    net = serializers.SerializerMethodField(help_text="Credited to the pool balance.")
    hashrate_hs = serializers.SerializerMethodField(
        help_text="Average hashrate (H/s), if reported."
    )
    price = serializers.SerializerMethodField(help_text="The price the earning was valued at.")
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Net times price, in USD."
    )
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The journal entry that posted the earning."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    batch = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, help_text="The import batch that brought the record."
    )
    raw = serializers.JSONField(read_only=True, help_text="The record as the pool sent it.")

    class Meta:
        model = ProductionRecord
        fields = [
            "id",
            "pool_account",
            "commodity",
            "day",
            "external_id",
            "gross",
            "fee",
            "net",
            "hashrate_hs",
            "price",
            "value",
            "entry",
            "entry_sequence",
            "batch",
            "raw",
            "created_at",
        ]
        read_only_fields = fields

    @staticmethod
    def _scale(record: ProductionRecord) -> int:
        return record.pool_account.commodity.decimal_places

    @NULLABLE_QUANTITY_OUT
    def get_gross(self, record: ProductionRecord) -> str | None:
        return quantity_text(record.gross, self._scale(record))

    @NULLABLE_QUANTITY_OUT
    def get_fee(self, record: ProductionRecord) -> str | None:
        return quantity_text(record.fee, self._scale(record))

    @QUANTITY_OUT
    def get_net(self, record: ProductionRecord) -> str:
        return format_amount(record.net, self._scale(record))

    @extend_schema_field({"type": "string", "example": "1185000000000000000", "nullable": True})
    def get_hashrate_hs(self, record: ProductionRecord) -> str | None:
        return None if record.hashrate_hs is None else plain(record.hashrate_hs)

    @PRICE_EVIDENCE_OUT
    def get_price(self, record: ProductionRecord) -> dict[str, Any] | None:
        return _evidence(record.price)

    @USD_OUT
    def get_usd_value(self, record: ProductionRecord) -> str:
        return usd_text(record.value)


class PayoutSerializer(serializers.ModelSerializer):
    """An on-chain payment from a pool to one of the company's wallets."""

    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="pool_account.commodity_id", read_only=True)
    wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The wallet the address belongs to."
    )
    amount = serializers.SerializerMethodField()
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    entry_sequence = serializers.IntegerField(source="entry.sequence", read_only=True)
    batch = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    raw = serializers.JSONField(read_only=True, help_text="The payout as the pool sent it.")

    class Meta:
        model = Payout
        fields = [
            "id",
            "pool_account",
            "commodity",
            "external_id",
            "txid",
            "address",
            "wallet",
            "amount",
            "paid_at",
            "entry",
            "entry_sequence",
            "batch",
            "raw",
            "created_at",
        ]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_amount(self, payout: Payout) -> str:
        return format_amount(payout.amount, payout.pool_account.commodity.decimal_places)


class RemeasurementSerializer(serializers.ModelSerializer):
    """A fair value remeasurement of one commodity at one date, with its price evidence."""

    commodity = serializers.CharField(source="commodity_id", read_only=True)
    price = serializers.SerializerMethodField()
    units = serializers.SerializerMethodField(help_text="Units remeasured (the open lots).")
    carrying_value_before = serializers.SerializerMethodField()
    fair_value = serializers.SerializerMethodField(help_text="Units times price, in USD.")
    adjustment = serializers.SerializerMethodField(help_text="Fair value less carrying value.")
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="None when there was nothing to adjust."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Remeasurement
        fields = [
            "id",
            "commodity",
            "as_of",
            "price",
            "units",
            "carrying_value_before",
            "fair_value",
            "adjustment",
            "lots",
            "entry",
            "entry_sequence",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PriceEvidenceSerializer)
    def get_price(self, remeasurement: Remeasurement) -> dict[str, Any] | None:
        return _evidence(remeasurement.price)

    @QUANTITY_OUT
    def get_units(self, remeasurement: Remeasurement) -> str:
        return format_amount(remeasurement.units, remeasurement.commodity.decimal_places)

    @USD_OUT
    def get_carrying_value_before(self, remeasurement: Remeasurement) -> str:
        return usd_text(remeasurement.carrying_value_before)

    @USD_OUT
    def get_fair_value(self, remeasurement: Remeasurement) -> str:
        return usd_text(remeasurement.fair_value)

    @USD_OUT
    def get_adjustment(self, remeasurement: Remeasurement) -> str:
        return usd_text(remeasurement.adjustment)


# --- set-up ------------------------------------------------------------------------------


class SiteSerializer(serializers.ModelSerializer):
    deployed_hashrate_hs = serializers.SerializerMethodField(help_text="Deployed hashrate, H/s.")
    deployed_hashrate_ehs = serializers.SerializerMethodField(
        help_text="Deployed hashrate, EH/s (rounded half-even to 0.01)."
    )

    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "region",
            "deployed_hashrate_hs",
            "deployed_hashrate_ehs",
            "is_active",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "string", "example": "3309000000000000000", "pattern": "^[0-9]+$"}
    )
    def get_deployed_hashrate_hs(self, site: Site) -> str:
        return exact(site.deployed_hashrate_hs)

    @EHS_OUT
    def get_deployed_hashrate_ehs(self, site: Site) -> str:
        return exact((site.deployed_hashrate_hs / Decimal(10) ** 18).quantize(Decimal("0.01")))


class PoolAccountSerializer(serializers.ModelSerializer):
    pool: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Pool code."
    )
    pool_name = serializers.CharField(source="pool.name", read_only=True)
    site: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Site code."
    )
    commodity = serializers.CharField(source="commodity_id", read_only=True)
    receivable_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        help_text="The ledger account of what it has earned and not yet been paid.",
    )

    class Meta:
        model = PoolAccount
        fields = [
            "code",
            "name",
            "pool",
            "pool_name",
            "site",
            "commodity",
            "receivable_account",
            "source",
            "api_user",
            "api_key_env",
            "api_secret_env",
            "fetch_daily",
            "is_active",
        ]
        read_only_fields = fields


class WalletAddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = WalletAddress
        fields = ["address", "label"]
        read_only_fields = fields


class WalletSerializer(serializers.ModelSerializer):
    commodity = serializers.CharField(source="commodity_id", read_only=True)
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The wallet's ledger account."
    )
    addresses = WalletAddressSerializer(many=True, read_only=True)

    class Meta:
        model = Wallet
        fields = ["code", "name", "custodian", "commodity", "account", "is_active", "addresses"]
        read_only_fields = fields


# --- the monthly production report -------------------------------------------------------


class ProductionMonthSerializer(serializers.Serializer):
    """One month as miners publish it. Quantities with the commodity's decimal places."""

    # context["scale"]: the commodity's decimal places.

    month = serializers.SerializerMethodField(help_text="YYYY-MM.")
    days = serializers.IntegerField(help_text="Days in the month.")
    mined = serializers.SerializerMethodField(help_text="Net production of the month.")
    average_per_day = serializers.SerializerMethodField(
        help_text="Mined / days, rounded half-even to the commodity's scale."
    )
    held_at_month_end = serializers.SerializerMethodField(
        help_text="Units in every asset account at the end of the month."
    )
    restricted_at_month_end = serializers.SerializerMethodField(
        help_text="Of which pledged or lent out."
    )
    unrestricted_at_month_end = serializers.SerializerMethodField()
    average_operating_hashrate_ehs = serializers.SerializerMethodField(
        help_text="Average of the pools' reported hashrate over the month, EH/s."
    )
    deployed_hashrate_ehs = serializers.SerializerMethodField(
        help_text="Hashrate deployed at the active sites, EH/s."
    )
    mined_change_percent = serializers.SerializerMethodField(
        help_text="Change of `mined` from the month before, percent (1 decimal)."
    )
    held_change = serializers.SerializerMethodField(
        help_text="Change of `held_at_month_end` from the month before."
    )
    sold = serializers.SerializerMethodField(help_text="Units sold in the month.")
    net_proceeds_usd = serializers.SerializerMethodField(
        help_text="USD value of the month's sale proceeds, after the venues' fees."
    )
    average_price_usd = serializers.SerializerMethodField(
        help_text="Gross proceeds per unit sold, USD, rounded half-even to the cent."
    )

    def _quantity(self, value: Decimal) -> str:
        return format_amount(value, self.context["scale"])

    def get_month(self, row: ProductionMonth) -> str:
        return f"{row.month:%Y-%m}"

    @QUANTITY_OUT
    def get_mined(self, row: ProductionMonth) -> str:
        return self._quantity(row.mined)

    @QUANTITY_OUT
    def get_average_per_day(self, row: ProductionMonth) -> str:
        return self._quantity(row.average_per_day)

    @QUANTITY_OUT
    def get_held_at_month_end(self, row: ProductionMonth) -> str:
        return self._quantity(row.held_at_month_end)

    @QUANTITY_OUT
    def get_restricted_at_month_end(self, row: ProductionMonth) -> str:
        return self._quantity(row.restricted_at_month_end)

    @QUANTITY_OUT
    def get_unrestricted_at_month_end(self, row: ProductionMonth) -> str:
        return self._quantity(row.unrestricted_at_month_end)

    @NULLABLE_EHS_OUT
    def get_average_operating_hashrate_ehs(self, row: ProductionMonth) -> str | None:
        value = row.average_operating_hashrate_ehs
        return None if value is None else exact(value)

    @EHS_OUT
    def get_deployed_hashrate_ehs(self, row: ProductionMonth) -> str:
        return exact(row.deployed_hashrate_ehs)

    @PERCENT_OUT
    def get_mined_change_percent(self, row: ProductionMonth) -> str | None:
        value = row.mined_change_percent
        return None if value is None else exact(value)

    @NULLABLE_QUANTITY_OUT
    def get_held_change(self, row: ProductionMonth) -> str | None:
        return None if row.held_change is None else self._quantity(row.held_change)

    @QUANTITY_OUT
    def get_sold(self, row: ProductionMonth) -> str:
        return self._quantity(row.sold)

    @USD_OUT
    def get_net_proceeds_usd(self, row: ProductionMonth) -> str:
        return usd_text(row.net_proceeds_usd)

    @NULLABLE_USD_OUT
    def get_average_price_usd(self, row: ProductionMonth) -> str | None:
        return None if row.average_price_usd is None else usd_text(row.average_price_usd)


class ProductionReportSerializer(serializers.Serializer):
    """Monthly production, one row per month from `start`'s month to `end`'s month."""

    # Instance: {"commodity", "start", "end", "results": [ProductionMonth]}.

    commodity = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    results = ProductionMonthSerializer(many=True, help_text="One row per month, oldest first.")


# --- sales and transfers -----------------------------------------------------------------

MAX_NAMED_LOTS = 1000
PROCEEDS_COMMODITIES = ["USD", "USDT"]


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "example": "2026-01-10T15:30:00Z",
        "description": "A UTC timestamp in ISO 8601 with its offset: ...Z or ...+00:00.",
    }
)
class UTCDateTimeField(serializers.Field):
    """An ISO 8601 timestamp in UTC; a timestamp without an offset (naive) is refused rather
    than guessed, and so is one in another zone."""

    default_error_messages = {
        "invalid": "must be an ISO 8601 timestamp such as 2026-01-10T15:30:00Z.",
        "naive": "must say it is UTC (end with Z or +00:00); a timestamp without an offset "
        "is ambiguous.",
        "not_utc": "must be in UTC (end with Z or +00:00).",
        "out_of_range": "{problem}.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or len(data) > 40 or "T" not in data:
            self.fail("invalid")
        try:
            moment = datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if moment.tzinfo is None:
            self.fail("naive")
        if moment.utcoffset() != timedelta(0):
            self.fail("not_utc")
        # A time the ledger posts at: from the books' start to today plus the horizon.
        problem = posting_date_problem(moment.date())
        if problem is not None:
            self.fail("out_of_range", problem=problem)
        return moment

    def to_representation(self, value: Any) -> str:  # pragma: no cover - input only
        return str(value)


def _wallet_field(help_text: str, **kwargs: Any) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Wallet.objects.select_related("account", "commodity"),
        pattern=HOLDINGS_CODE_PATTERN,
        what="wallet",
        help_text=help_text,
        **kwargs,
    )


class SaleLotSerializer(StrictSerializer):
    """A lot named for specific identification, and the units taken from it."""

    lot = serializers.IntegerField(min_value=1, help_text="The lot's id (an open lot).")
    units = QuantityField(help_text="Units taken from the lot.")


class SaleCreateSerializer(StrictSerializer):
    """A sale to record (or preview): decimals as strings, the timestamp in UTC."""

    reference = StrictCharField(
        max_length=100, help_text="The trade's id at the venue (one sale per id)."
    )
    wallet = _wallet_field("The wallet the units leave (its code).")
    units = QuantityField(help_text="Units sold, in the wallet's commodity.")
    sold_at = UTCDateTimeField(help_text="When the trade was executed (UTC).")
    proceeds_commodity = serializers.ChoiceField(
        choices=PROCEEDS_COMMODITIES, help_text="What the units were sold for."
    )
    gross_proceeds = QuantityField(help_text="Proceeds before the venue's fee.")
    fee = QuantityField(
        required=False, default=Decimal(0), help_text="The venue's fee, in the proceeds' commodity."
    )
    proceeds_value = ValueField(
        required=False,
        allow_null=True,
        default=None,
        help_text="USD value of the gross proceeds; for USDT, the day's USDT price by default.",
    )
    proceeds_wallet = _wallet_field(
        "The USDT wallet the proceeds arrive in (USDT proceeds only).",
        required=False,
        allow_null=True,
        default=None,
    )
    lots = serializers.ListField(
        child=SaleLotSerializer(),
        required=False,
        allow_empty=True,
        max_length=MAX_NAMED_LOTS,
        help_text="Specific identification: the lots relieved and the units from each. "
        "Left out: first-in first-out.",
    )

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        named = data.get("lots") or None
        return {
            "wallet": data["wallet"],
            "units": data["units"],
            "sold_at": data["sold_at"],
            "proceeds_commodity": data["proceeds_commodity"],
            "gross_proceeds": data["gross_proceeds"],
            "fee": data["fee"],
            "proceeds_value": data["proceeds_value"],
            "proceeds_wallet": data["proceeds_wallet"],
            "lots": None if named is None else [(n["lot"], n["units"]) for n in named],
        }


class TransferCreateSerializer(StrictSerializer):
    """An on-chain transfer between two of the company's wallets."""

    txid = StrictCharField(
        max_length=66,
        help_text="The transaction id: 64 hex characters (stored lower-cased; an EVM chain's "
        "0x prefix is dropped).",
    )

    def validate_txid(self, value: str) -> str:
        try:
            return normalize_txid(value)
        except AddressError as exc:
            raise serializers.ValidationError(str(exc) + ".", code="invalid") from exc

    from_wallet = _wallet_field("The wallet sent from (its code).")
    to_wallet = _wallet_field("The wallet sent to (its code).")
    units = QuantityField(help_text="Units that arrive in to_wallet.")
    fee_units = QuantityField(
        required=False,
        default=Decimal(0),
        help_text="The network fee, in units, paid by from_wallet on top of `units`.",
    )
    sent_at = UTCDateTimeField(help_text="When the transaction was sent (UTC).")


class _Amounts(serializers.Serializer):
    """Shared formatting: context["scale"] the sold commodity's decimal places,
    context["proceeds_scale"] the proceeds commodity's."""

    def _units(self, value: Decimal) -> str:
        return format_amount(value, self.context["scale"])


class DisposalSerializer(serializers.ModelSerializer):
    """Units of one lot that left the books, with what they carried and fetched."""

    lot_acquired_at = serializers.DateTimeField(source="lot.acquired_at", read_only=True)
    account = serializers.CharField(
        source="lot.account.code", read_only=True, help_text="The account the lot sat in."
    )
    wallet = serializers.SerializerMethodField(help_text="The wallet of that account, if any.")
    commodity = serializers.CharField(source="lot.commodity_id", read_only=True)
    units = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    carrying_value = serializers.SerializerMethodField(help_text="Cost plus fair value adjustment.")
    proceeds = serializers.SerializerMethodField(
        help_text="USD value of the proceeds (0 for a fee)."
    )
    realized_gain = serializers.SerializerMethodField(help_text="Proceeds less cost.")
    kind = serializers.SerializerMethodField(help_text="sale, or fee (an on-chain network fee).")
    sale = serializers.SerializerMethodField(help_text="The sale's reference.")
    transfer = serializers.SerializerMethodField(help_text="The transfer's txid (a fee).")
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = Disposal
        fields = [
            "id",
            "kind",
            "disposed_on",
            "lot",
            "lot_acquired_at",
            "account",
            "wallet",
            "commodity",
            "units",
            "cost",
            "carrying_value",
            "proceeds",
            "realized_gain",
            "days_held",
            "method",
            "sale",
            "transfer",
            "entry",
        ]
        read_only_fields = fields

    def get_wallet(self, disposal: Disposal) -> str | None:
        wallet = getattr(disposal.lot.account, "wallet", None)
        return None if wallet is None else wallet.code

    @QUANTITY_OUT
    def get_units(self, disposal: Disposal) -> str:
        return format_amount(disposal.units, disposal.lot.commodity.decimal_places)

    @USD_OUT
    def get_cost(self, disposal: Disposal) -> str:
        return usd_text(disposal.cost)

    @USD_OUT
    def get_carrying_value(self, disposal: Disposal) -> str:
        return usd_text(disposal.carrying_value)

    @USD_OUT
    def get_proceeds(self, disposal: Disposal) -> str:
        return usd_text(disposal.proceeds)

    @USD_OUT
    def get_realized_gain(self, disposal: Disposal) -> str:
        return usd_text(disposal.realized_gain)

    def get_kind(self, disposal: Disposal) -> str:
        return "sale" if disposal.sale_id is not None else "fee"

    def get_sale(self, disposal: Disposal) -> str | None:
        return None if disposal.sale is None else disposal.sale.reference

    def get_transfer(self, disposal: Disposal) -> str | None:
        return None if disposal.transfer is None else disposal.transfer.txid


class DocumentCancellationSerializer(serializers.Serializer):
    """The cancellation asked for or approved for a document (none: it stands)."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    effective_date = serializers.DateField()
    reversal = serializers.IntegerField(source="reversal_id", allow_null=True)


def document_cancellation(record: Any) -> dict[str, Any] | None:
    """A document's live cancellation, read from its entry's prefetched cancellations."""
    entry = getattr(record, "entry", None)
    if entry is None:
        return None
    for cancellation in entry.cancellations.all():
        if cancellation.status != CancellationStatus.REJECTED:
            return DocumentCancellationSerializer(cancellation).data
    return None


class CancellableSerializer(serializers.Serializer):
    """A document's serializer shows its cancellation (list `cancellation` in its fields)."""

    cancellation = serializers.SerializerMethodField(
        help_text="Its cancellation, asked for or approved (null: the document stands)."
    )

    @extend_schema_field(DocumentCancellationSerializer(allow_null=True))
    def get_cancellation(self, record: Any) -> dict[str, Any] | None:
        return document_cancellation(record)


class SaleSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A recorded sale: what it relieved (cost, carrying value) and what it earned."""

    url = serializers.HyperlinkedIdentityField(view_name="sale-detail")
    wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The wallet the units left."
    )
    commodity = serializers.CharField(source="commodity_id", read_only=True)
    units = serializers.SerializerMethodField()
    proceeds_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Where the proceeds were booked."
    )
    proceeds_commodity = serializers.CharField(source="proceeds_commodity_id", read_only=True)
    gross_proceeds = serializers.SerializerMethodField(help_text="In the proceeds' commodity.")
    fee = serializers.SerializerMethodField(help_text="In the proceeds' commodity.")
    net_proceeds = serializers.SerializerMethodField(help_text="Gross proceeds less the fee.")
    proceeds_value = serializers.SerializerMethodField(help_text="USD value of the gross proceeds.")
    fee_value = serializers.SerializerMethodField(help_text="USD value of the fee.")
    cost = serializers.SerializerMethodField(help_text="Cost of the lots relieved.")
    carrying_value = serializers.SerializerMethodField(
        help_text="Cost plus the relieved fair value adjustment."
    )
    adjustment = serializers.SerializerMethodField(
        help_text="The relieved fair value adjustment (carrying value less cost)."
    )
    realized_gain = serializers.SerializerMethodField(
        help_text="Proceeds value less cost (the ASC 350-60-50-4 figure)."
    )
    gain_on_carrying_value = serializers.SerializerMethodField(
        help_text="Proceeds value less carrying value (posted to 4100)."
    )
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    entry_sequence = serializers.IntegerField(source="entry.sequence", read_only=True)
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    disposals = DisposalSerializer(many=True, read_only=True, help_text="One per lot relieved.")

    class Meta:
        model = Sale
        fields = [
            "id",
            "url",
            "reference",
            "wallet",
            "commodity",
            "units",
            "sold_at",
            "method",
            "proceeds_account",
            "proceeds_commodity",
            "gross_proceeds",
            "fee",
            "net_proceeds",
            "proceeds_value",
            "fee_value",
            "cost",
            "adjustment",
            "carrying_value",
            "realized_gain",
            "gain_on_carrying_value",
            "entry",
            "entry_sequence",
            "created_by",
            "created_at",
            "disposals",
            "cancellation",
        ]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_units(self, sale: Sale) -> str:
        return format_amount(sale.units, sale.commodity.decimal_places)

    @QUANTITY_OUT
    def get_gross_proceeds(self, sale: Sale) -> str:
        return format_amount(sale.gross_proceeds, sale.proceeds_commodity.decimal_places)

    @QUANTITY_OUT
    def get_fee(self, sale: Sale) -> str:
        return format_amount(sale.fee, sale.proceeds_commodity.decimal_places)

    @QUANTITY_OUT
    def get_net_proceeds(self, sale: Sale) -> str:
        return format_amount(sale.gross_proceeds - sale.fee, sale.proceeds_commodity.decimal_places)

    @USD_OUT
    def get_proceeds_value(self, sale: Sale) -> str:
        return usd_text(sale.proceeds_value)

    @USD_OUT
    def get_fee_value(self, sale: Sale) -> str:
        return usd_text(sale.fee_value)

    @USD_OUT
    def get_cost(self, sale: Sale) -> str:
        return usd_text(sale.cost)

    @USD_OUT
    def get_carrying_value(self, sale: Sale) -> str:
        return usd_text(sale.carrying_value)

    @USD_OUT
    def get_adjustment(self, sale: Sale) -> str:
        return usd_text(sale.carrying_value - sale.cost)

    @USD_OUT
    def get_realized_gain(self, sale: Sale) -> str:
        return usd_text(sale.realized_gain)

    @USD_OUT
    def get_gain_on_carrying_value(self, sale: Sale) -> str:
        return usd_text(sale.gain_on_carrying_value)


class LotReliefSerializer(_Amounts):
    """What the sale would take from one lot."""

    lot = serializers.IntegerField(source="lot_id")
    acquired_at = serializers.DateTimeField()
    units = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    adjustment = serializers.SerializerMethodField(
        help_text="Its share of the fair value adjustment."
    )
    carrying_value = serializers.SerializerMethodField()
    proceeds = serializers.SerializerMethodField(help_text="Its share of the proceeds' USD value.")
    realized_gain = serializers.SerializerMethodField(help_text="Proceeds less cost.")
    days_held = serializers.IntegerField()

    @QUANTITY_OUT
    def get_units(self, relief: LotRelief) -> str:
        return self._units(relief.units)

    @USD_OUT
    def get_cost(self, relief: LotRelief) -> str:
        return usd_text(relief.cost)

    @USD_OUT
    def get_adjustment(self, relief: LotRelief) -> str:
        return usd_text(relief.adjustment)

    @USD_OUT
    def get_carrying_value(self, relief: LotRelief) -> str:
        return usd_text(relief.carrying_value)

    @USD_OUT
    def get_proceeds(self, relief: LotRelief) -> str:
        return usd_text(relief.proceeds)

    @USD_OUT
    def get_realized_gain(self, relief: LotRelief) -> str:
        return usd_text(relief.realized_gain)


class SalePreviewSerializer(_Amounts):
    """What a sale would relieve and earn; nothing is written."""

    wallet = serializers.CharField(source="wallet.code")
    commodity = serializers.CharField(source="wallet.commodity_id")
    units = serializers.SerializerMethodField()
    sold_at = serializers.DateTimeField()
    method = serializers.CharField(help_text="fifo or specific.")
    proceeds_account = serializers.CharField(source="proceeds_account.code")
    proceeds_commodity = serializers.CharField()
    gross_proceeds = serializers.SerializerMethodField()
    fee = serializers.SerializerMethodField()
    net_proceeds = serializers.SerializerMethodField()
    proceeds_value = serializers.SerializerMethodField(help_text="USD value of the gross proceeds.")
    fee_value = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    adjustment = serializers.SerializerMethodField()
    carrying_value = serializers.SerializerMethodField()
    realized_gain = serializers.SerializerMethodField(help_text="Proceeds value less cost.")
    gain_on_carrying_value = serializers.SerializerMethodField(
        help_text="Proceeds value less carrying value (what 4100 would get)."
    )
    reliefs = LotReliefSerializer(many=True, help_text="The lots relieved, in order.")

    def _proceeds(self, value: Decimal) -> str:
        return format_amount(value, self.context["proceeds_scale"])

    @QUANTITY_OUT
    def get_units(self, plan: SalePlan) -> str:
        return self._units(plan.units)

    @QUANTITY_OUT
    def get_gross_proceeds(self, plan: SalePlan) -> str:
        return self._proceeds(plan.gross_proceeds)

    @QUANTITY_OUT
    def get_fee(self, plan: SalePlan) -> str:
        return self._proceeds(plan.fee)

    @QUANTITY_OUT
    def get_net_proceeds(self, plan: SalePlan) -> str:
        return self._proceeds(plan.net_proceeds)

    @USD_OUT
    def get_proceeds_value(self, plan: SalePlan) -> str:
        return usd_text(plan.proceeds_value)

    @USD_OUT
    def get_fee_value(self, plan: SalePlan) -> str:
        return usd_text(plan.fee_value)

    @USD_OUT
    def get_cost(self, plan: SalePlan) -> str:
        return usd_text(plan.cost)

    @USD_OUT
    def get_adjustment(self, plan: SalePlan) -> str:
        return usd_text(plan.adjustment)

    @USD_OUT
    def get_carrying_value(self, plan: SalePlan) -> str:
        return usd_text(plan.carrying_value)

    @USD_OUT
    def get_realized_gain(self, plan: SalePlan) -> str:
        return usd_text(plan.realized_gain)

    @USD_OUT
    def get_gain_on_carrying_value(self, plan: SalePlan) -> str:
        return usd_text(plan.gain_on_carrying_value)


class TransferSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A recorded transfer; its network fee, if any, is a disposal of units."""

    from_wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    to_wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="from_wallet.commodity_id", read_only=True)
    units = serializers.SerializerMethodField()
    fee_units = serializers.SerializerMethodField()
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    entry_sequence = serializers.IntegerField(source="entry.sequence", read_only=True)
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    fee_disposals = DisposalSerializer(
        many=True, read_only=True, help_text="The lots the network fee relieved."
    )

    class Meta:
        model = Transfer
        fields = [
            "id",
            "txid",
            "from_wallet",
            "to_wallet",
            "commodity",
            "units",
            "fee_units",
            "sent_at",
            "entry",
            "entry_sequence",
            "created_by",
            "created_at",
            "fee_disposals",
            "cancellation",
        ]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_units(self, transfer: Transfer) -> str:
        return format_amount(transfer.units, transfer.from_wallet.commodity.decimal_places)

    @QUANTITY_OUT
    def get_fee_units(self, transfer: Transfer) -> str:
        return format_amount(transfer.fee_units, transfer.from_wallet.commodity.decimal_places)


# --- the realized gains report -----------------------------------------------------------


class RealizedGainsQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="Disposals on or after this UTC date.")
    end = UTCDateField(help_text="Disposals on or before this UTC date.")
    commodity = _commodity_field(
        f"The disposed commodity (its code); {DEFAULT_REPORT_COMMODITY} by default."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_range(attrs)
        return attrs


class RealizedGainsTotalsSerializer(_Amounts):
    disposals = serializers.SerializerMethodField(help_text="How many disposals.")
    units = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    carrying_value = serializers.SerializerMethodField()
    proceeds = serializers.SerializerMethodField()
    realized_gain = serializers.SerializerMethodField(help_text="Proceeds less cost.")

    def get_disposals(self, report: RealizedGains) -> int:
        return len(report.disposals)

    @QUANTITY_OUT
    def get_units(self, report: RealizedGains) -> str:
        return self._units(report.units)

    @USD_OUT
    def get_cost(self, report: RealizedGains) -> str:
        return usd_text(report.cost)

    @USD_OUT
    def get_carrying_value(self, report: RealizedGains) -> str:
        return usd_text(report.carrying_value)

    @USD_OUT
    def get_proceeds(self, report: RealizedGains) -> str:
        return usd_text(report.proceeds)

    @USD_OUT
    def get_realized_gain(self, report: RealizedGains) -> str:
        return usd_text(report.realized_gain)


class RealizedGainsReportSerializer(serializers.Serializer):
    """Each disposal in the period (sales and network fees) with the lot it relieved."""

    commodity = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    totals = RealizedGainsTotalsSerializer(source="*")
    results = DisposalSerializer(
        source="disposals", many=True, help_text="Oldest first, one per lot relieved."
    )


# --- loans -------------------------------------------------------------------------------

RATE_OUT = extend_schema_field(
    {
        "type": "string",
        "example": "0.100000",
        "pattern": r"^[0-9]+(\.[0-9]+)?$",
        "description": "A fraction exactly as recorded: 0.10 is 10%.",
    }
)
NULLABLE_USD_OUT = extend_schema_field(
    {"type": "string", "example": "95000.00", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "nullable": True}
)
NULLABLE_PRICE_OUT = extend_schema_field(
    {
        "type": "string",
        "example": "87512.34",
        "pattern": r"^[0-9]+(\.[0-9]+)?$",
        "nullable": True,
        "description": "The price exactly as recorded, in USD.",
    }
)
NULLABLE_RATIO_OUT = extend_schema_field(
    {
        "type": "string",
        "example": "0.4973",
        "pattern": r"^-?[0-9]+\.[0-9]{4}$",
        "nullable": True,
        "description": "Debt value / collateral value, 4 decimals; null without collateral.",
    }
)
COLLATERAL_CONTROLS = [RETAINED, TRANSFERRED]


class LoanQuerySerializer(serializers.Serializer):
    as_of = UTCDateField(
        required=False,
        help_text="The status at the end of this UTC date; today (UTC) by default.",
    )


class LoanStatusSerializer(serializers.Serializer):
    """What the loan owes and what secures it at the end of `as_of` (holdings.loans.loan_status).
    Quantities with their commodity's decimal places, USD values with two."""

    as_of = serializers.DateField()
    principal = serializers.SerializerMethodField(help_text="Principal outstanding.")
    interest = serializers.SerializerMethodField(help_text="Interest accrued and unpaid.")
    debt_value = serializers.SerializerMethodField(
        help_text="USD carrying value of principal and interest."
    )
    collateral_units = serializers.SerializerMethodField(
        help_text="Units pledged, control retained or transferred."
    )
    collateral_price = serializers.SerializerMethodField(
        help_text="The collateral's price for the day; null without collateral."
    )
    collateral_value = serializers.SerializerMethodField(
        help_text="Units times price (USD); null without collateral."
    )
    ltv = serializers.SerializerMethodField()
    tier = serializers.ChoiceField(
        choices=["ok", "warning", "margin_call", "liquidation"], help_text="The LTV tier."
    )

    @QUANTITY_OUT
    def get_principal(self, status: LoanStatus) -> str:
        return format_amount(status.principal, status.loan.principal_commodity.decimal_places)

    @QUANTITY_OUT
    def get_interest(self, status: LoanStatus) -> str:
        return format_amount(status.interest, status.loan.principal_commodity.decimal_places)

    @USD_OUT
    def get_debt_value(self, status: LoanStatus) -> str:
        return usd_text(status.debt_value)

    @QUANTITY_OUT
    def get_collateral_units(self, status: LoanStatus) -> str:
        return format_amount(
            status.collateral_units, status.loan.collateral_commodity.decimal_places
        )

    @NULLABLE_PRICE_OUT
    def get_collateral_price(self, status: LoanStatus) -> str | None:
        return None if status.collateral_price is None else exact(status.collateral_price)

    @NULLABLE_USD_OUT
    def get_collateral_value(self, status: LoanStatus) -> str | None:
        return None if status.collateral_value is None else usd_text(status.collateral_value)

    @NULLABLE_RATIO_OUT
    def get_ltv(self, status: LoanStatus) -> str | None:
        return None if status.ltv is None else exact(status.ltv)


class LoanSerializer(serializers.ModelSerializer):
    """A loan, its terms and accounts, and its status at `as_of` (context["statuses"] maps the
    loan's id to its status, or to the error that kept it from being worked out)."""

    url = serializers.HyperlinkedIdentityField(view_name="loan-detail", lookup_field="code")
    events_url = serializers.HyperlinkedIdentityField(
        view_name="loan-event-list", lookup_field="code"
    )
    principal_commodity = serializers.CharField(source="principal_commodity_id", read_only=True)
    collateral_commodity = serializers.CharField(source="collateral_commodity_id", read_only=True)
    annual_rate = serializers.SerializerMethodField()
    warning_ltv = serializers.SerializerMethodField()
    margin_call_ltv = serializers.SerializerMethodField()
    liquidation_ltv = serializers.SerializerMethodField()
    principal_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Loan payable (2000 or 2010 below)."
    )
    interest_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Interest payable (2100 or 2110 below)."
    )
    pledged_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Collateral pledged, control retained."
    )
    lent_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Collateral whose control passed."
    )
    status = serializers.SerializerMethodField()
    status_error = serializers.SerializerMethodField(
        help_text="Why `status` is null (no price for the day); null otherwise."
    )

    class Meta:
        model = Loan
        fields = [
            "code",
            "url",
            "events_url",
            "lender",
            "principal_commodity",
            "collateral_commodity",
            "annual_rate",
            "day_count",
            "start_date",
            "maturity_date",
            "warning_ltv",
            "margin_call_ltv",
            "liquidation_ltv",
            "cure_hours",
            "principal_account",
            "interest_account",
            "pledged_account",
            "lent_account",
            "status",
            "status_error",
            "created_at",
        ]
        read_only_fields = fields

    @RATE_OUT
    def get_annual_rate(self, loan: Loan) -> str:
        return exact(loan.annual_rate)

    @RATE_OUT
    def get_warning_ltv(self, loan: Loan) -> str:
        return exact(loan.warning_ltv)

    @RATE_OUT
    def get_margin_call_ltv(self, loan: Loan) -> str:
        return exact(loan.margin_call_ltv)

    @RATE_OUT
    def get_liquidation_ltv(self, loan: Loan) -> str:
        return exact(loan.liquidation_ltv)

    def _status(self, loan: Loan) -> Any:
        return self.context.get("statuses", {}).get(loan.pk)

    @extend_schema_field(LoanStatusSerializer(allow_null=True))
    def get_status(self, loan: Loan) -> dict[str, Any] | None:
        status = self._status(loan)
        return dict(LoanStatusSerializer(status).data) if isinstance(status, LoanStatus) else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_status_error(self, loan: Loan) -> str | None:
        status = self._status(loan)
        return status if isinstance(status, str) else None


class LoanEventSerializer(CancellableSerializer, serializers.ModelSerializer):
    """Something that happened to a loan, with the entry it posted (none for a tier crossing
    or a day without interest)."""

    loan: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    amount = serializers.SerializerMethodField(
        help_text="In the principal's commodity: drawn, interest accrued, repaid, or the "
        "proceeds of a liquidation."
    )
    units = serializers.SerializerMethodField(
        help_text="Units of collateral pledged, released or liquidated."
    )
    details = serializers.JSONField(
        read_only=True,
        help_text="What the event recorded besides: value, control and wallet, the split "
        "between interest and principal, the tier crossed and the LTV.",
    )
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The journal entry posted, if any."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = LoanEvent
        fields = [
            "id",
            "loan",
            "kind",
            "effective_date",
            "amount",
            "units",
            "details",
            "entry",
            "entry_sequence",
            "created_by",
            "created_at",
            "cancellation",
        ]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_amount(self, event: LoanEvent) -> str:
        return format_amount(event.amount, event.loan.principal_commodity.decimal_places)

    @QUANTITY_OUT
    def get_units(self, event: LoanEvent) -> str:
        return format_amount(event.units, event.loan.collateral_commodity.decimal_places)


class _LoanEventBody(StrictSerializer):
    """A loan event's body; context["loan"] is the loan. A wallet must hold the commodity
    the event moves (`wallet_commodity`: principal or collateral)."""

    wallet_fields: tuple[str, ...] = ()
    wallet_commodity = "collateral"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        loan: Loan = self.context["loan"]
        commodity = (
            loan.principal_commodity_id
            if self.wallet_commodity == "principal"
            else loan.collateral_commodity_id
        )
        for name in self.wallet_fields:
            wallet = attrs.get(name)
            if wallet is not None and wallet.commodity_id != commodity:
                raise serializers.ValidationError(
                    {name: [f"wallet {wallet.code} holds {wallet.commodity_id}, not {commodity}."]},
                    code="invalid",
                )
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.validated_data)


def _control_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=COLLATERAL_CONTROLS,
        required=False,
        default=RETAINED,
        help_text="retained (default): the units stay BTC, restricted (1230); transferred: "
        "control passes to the lender and they become a receivable (1400).",
    )


class LoanDrawSerializer(_LoanEventBody):
    """Principal received."""

    wallet_fields = ("to_wallet",)
    wallet_commodity = "principal"

    amount = QuantityField(help_text="Principal drawn, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date the principal arrived.")
    to_wallet = _wallet_field(
        "The wallet it arrives in (a USDT loan only; a USD loan is received in cash).",
        required=False,
        allow_null=True,
        default=None,
    )
    value = ValueField(
        required=False,
        allow_null=True,
        default=None,
        help_text="USD value of a USDT draw; the day's USDT price by default.",
    )


class LoanPledgeSerializer(_LoanEventBody):
    """Collateral to the lender, lots moved first-in first-out."""

    wallet_fields = ("from_wallet",)

    units = QuantityField(help_text="Units of collateral pledged.")
    from_wallet = _wallet_field("The wallet the collateral leaves (its code).")
    on = UTCDateField(posting=True, help_text="The UTC date of the pledge.")
    control = _control_field()


class LoanReleaseSerializer(_LoanEventBody):
    """Collateral back from the lender."""

    wallet_fields = ("to_wallet",)

    units = QuantityField(help_text="Units of collateral released.")
    to_wallet = _wallet_field("The wallet the collateral returns to (its code).")
    on = UTCDateField(posting=True, help_text="The UTC date of the release.")
    control = _control_field()


class LoanRepaymentSerializer(_LoanEventBody):
    """A repayment: interest first, then principal."""

    wallet_fields = ("from_wallet",)
    wallet_commodity = "principal"

    amount = QuantityField(help_text="Paid, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date of the payment.")
    from_wallet = _wallet_field(
        "The USDT wallet paid from (a USDT loan only; a USD loan is paid from cash).",
        required=False,
        allow_null=True,
        default=None,
    )


class LoanLiquidationSerializer(_LoanEventBody):
    """Collateral sold by the lender, the proceeds kept against what is owed."""

    units = QuantityField(help_text="Units of collateral sold.")
    proceeds = QuantityField(help_text="What the lender kept, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date of the sale.")
    control = _control_field()


class LoanAccrualSerializer(_LoanEventBody):
    """A day's interest on the principal outstanding at the end of the day."""

    on = UTCDateField(
        posting=True,
        help_text="The UTC day whose interest accrues (once per day), within the loan's term.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        loan: Loan = self.context["loan"]
        if not loan.start_date <= attrs["on"] <= loan.maturity_date:
            raise serializers.ValidationError(
                {
                    "on": [
                        f"must be within the loan's term, {loan.start_date.isoformat()} to "
                        f"{loan.maturity_date.isoformat()}."
                    ]
                },
                code="invalid",
            )
        return attrs
