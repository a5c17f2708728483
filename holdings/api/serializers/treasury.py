"""The treasury: sales (recorded or previewed) and transfers between the company's wallets,
with the disposals of lots they made."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.addresses import AddressError, normalize_txid
from holdings.api.serializers.common import QuantityOut, UsdOut, usd_text, wallet_field
from holdings.api.serializers.documents import CancellableSerializer
from holdings.models import Disposal, Sale, Transfer
from ledger.api.serializers import (
    QUANTITY_OUT,
    USD_OUT,
    QuantityField,
    StrictCharField,
    StrictSerializer,
    ValueField,
)
from ledger.dates import posting_date_problem
from ledger.money import format_amount

MAX_NAMED_LOTS = 1000
PROCEEDS_COMMODITIES = ["USD", "USDT"]


# --- requests ----------------------------------------------------------------------------


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


class SaleLotSerializer(StrictSerializer):
    """A lot named for specific identification, and the units taken from it."""

    lot = serializers.IntegerField(min_value=1, help_text="The lot's id (an open lot).")
    units = QuantityField(help_text="Units taken from the lot.")


class SaleCreateSerializer(StrictSerializer):
    """A sale to record (or preview): decimals as strings, the timestamp in UTC."""

    reference = StrictCharField(
        max_length=100, help_text="The trade's id at the venue (one sale per id)."
    )
    wallet = wallet_field("The wallet the units leave (its code).")
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
    proceeds_wallet = wallet_field(
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

    from_wallet = wallet_field("The wallet sent from (its code).")
    to_wallet = wallet_field("The wallet sent to (its code).")
    units = QuantityField(help_text="Units that arrive in to_wallet.")
    fee_units = QuantityField(
        required=False,
        default=Decimal(0),
        help_text="The network fee, in units, paid by from_wallet on top of `units`.",
    )
    sent_at = UTCDateTimeField(help_text="When the transaction was sent (UTC).")


# --- disposals ---------------------------------------------------------------------------


class DisposalSerializer(serializers.ModelSerializer):
    """Units of one lot that left the books, with what they carried and fetched."""

    lot_acquired_at = serializers.DateTimeField(source="lot.acquired_at", read_only=True)
    account = serializers.CharField(
        source="lot.account.code", read_only=True, help_text="The account the lot sat in."
    )
    wallet = serializers.SerializerMethodField(help_text="The wallet of that account, if any.")
    commodity = serializers.CharField(source="lot.commodity_id", read_only=True)
    units = QuantityOut(commodity="lot.commodity")
    cost = UsdOut()
    carrying_value = UsdOut(help_text="Cost plus fair value adjustment.")
    proceeds = UsdOut(help_text="USD value of the proceeds (0 for a fee).")
    realized_gain = UsdOut(help_text="Proceeds less cost.")
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

    def get_kind(self, disposal: Disposal) -> str:
        return "sale" if disposal.sale_id is not None else "fee"

    def get_sale(self, disposal: Disposal) -> str | None:
        return None if disposal.sale is None else disposal.sale.reference

    def get_transfer(self, disposal: Disposal) -> str | None:
        return None if disposal.transfer is None else disposal.transfer.txid


# --- sales -------------------------------------------------------------------------------


class SaleSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A recorded sale: what it relieved (cost, carrying value) and what it earned."""

    url = serializers.HyperlinkedIdentityField(view_name="sale-detail")
    wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The wallet the units left."
    )
    commodity = serializers.CharField(source="commodity_id", read_only=True)
    units = QuantityOut(commodity="commodity")
    proceeds_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Where the proceeds were booked."
    )
    proceeds_commodity = serializers.CharField(source="proceeds_commodity_id", read_only=True)
    gross_proceeds = QuantityOut(
        commodity="proceeds_commodity", help_text="In the proceeds' commodity."
    )
    fee = QuantityOut(commodity="proceeds_commodity", help_text="In the proceeds' commodity.")
    net_proceeds = serializers.SerializerMethodField(help_text="Gross proceeds less the fee.")
    proceeds_value = UsdOut(help_text="USD value of the gross proceeds.")
    fee_value = UsdOut(help_text="USD value of the fee.")
    cost = UsdOut(help_text="Cost of the lots relieved.")
    carrying_value = UsdOut(help_text="Cost plus the relieved fair value adjustment.")
    adjustment = serializers.SerializerMethodField(
        help_text="The relieved fair value adjustment (carrying value less cost)."
    )
    realized_gain = UsdOut(help_text="Proceeds value less cost (the ASC 350-60-50-4 figure).")
    gain_on_carrying_value = UsdOut(
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
    def get_net_proceeds(self, sale: Sale) -> str:
        return format_amount(sale.gross_proceeds - sale.fee, sale.proceeds_commodity.decimal_places)

    @USD_OUT
    def get_adjustment(self, sale: Sale) -> str:
        return usd_text(sale.carrying_value - sale.cost)


# A sale previewed: context["scale"] is the sold commodity's decimal places,
# context["proceeds_scale"] the proceeds commodity's.


class LotReliefSerializer(serializers.Serializer):
    """What the sale would take from one lot."""

    lot = serializers.IntegerField(source="lot_id")
    acquired_at = serializers.DateTimeField()
    units = QuantityOut(context_scale="scale")
    cost = UsdOut()
    adjustment = UsdOut(help_text="Its share of the fair value adjustment.")
    carrying_value = UsdOut()
    proceeds = UsdOut(help_text="Its share of the proceeds' USD value.")
    realized_gain = UsdOut(help_text="Proceeds less cost.")
    days_held = serializers.IntegerField()


class SalePreviewSerializer(serializers.Serializer):
    """What a sale would relieve and earn; nothing is written."""

    wallet = serializers.CharField(source="wallet.code")
    commodity = serializers.CharField(source="wallet.commodity_id")
    units = QuantityOut(context_scale="scale")
    sold_at = serializers.DateTimeField()
    method = serializers.CharField(help_text="fifo or specific.")
    proceeds_account = serializers.CharField(source="proceeds_account.code")
    proceeds_commodity = serializers.CharField()
    gross_proceeds = QuantityOut(context_scale="proceeds_scale")
    fee = QuantityOut(context_scale="proceeds_scale")
    net_proceeds = QuantityOut(context_scale="proceeds_scale")
    proceeds_value = UsdOut(help_text="USD value of the gross proceeds.")
    fee_value = UsdOut()
    cost = UsdOut()
    adjustment = UsdOut()
    carrying_value = UsdOut()
    realized_gain = UsdOut(help_text="Proceeds value less cost.")
    gain_on_carrying_value = UsdOut(
        help_text="Proceeds value less carrying value (what 4100 would get)."
    )
    reliefs = LotReliefSerializer(many=True, help_text="The lots relieved, in order.")


# --- transfers ---------------------------------------------------------------------------


class TransferSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A recorded transfer; its network fee, if any, is a disposal of units."""

    from_wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    to_wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="from_wallet.commodity_id", read_only=True)
    units = QuantityOut(commodity="from_wallet.commodity")
    fee_units = QuantityOut(commodity="from_wallet.commodity")
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
