"""The treasury's documents: sales, transfers, and the disposals of lots they relieve."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import quantity_field, value_field
from holdings.models.lots import Lot
from holdings.models.setup import Wallet


class ReliefMethod(models.TextChoices):
    FIFO = "fifo", "First in, first out"
    SPECIFIC = "specific", "Specific identification"


class Sale(models.Model):
    """A sale of units from a wallet for USDT or USD, with what it relieved and earned."""

    reference = models.CharField(
        max_length=100, unique=True, help_text="The trade's id at the venue (one sale per id)."
    )
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="sales")
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    units = quantity_field()
    sold_at = models.DateTimeField()
    proceeds_account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+"
    )
    proceeds_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    gross_proceeds = quantity_field()  # in the proceeds' commodity, before the fee
    fee = quantity_field(default=0)  # in the proceeds' commodity, kept by the venue
    proceeds_value = value_field()  # USD value of the gross proceeds
    fee_value = value_field(default=0)
    method = models.CharField(max_length=16, choices=ReliefMethod.choices)
    cost = value_field()
    carrying_value = value_field()
    realized_gain = value_field()  # gross proceeds value - cost (the ASC 350-60-50-4 figure)
    gain_on_carrying_value = value_field()  # gross proceeds value - carrying value (posted to 4100)
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="sale"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sold_at"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gt=0), name="holdings_sale_units"),
            models.CheckConstraint(
                condition=Q(gross_proceeds__gt=0)
                & Q(fee__gte=0)
                & Q(fee__lt=models.F("gross_proceeds")),
                name="holdings_sale_proceeds",
            ),
        ]

    def __str__(self) -> str:
        return f"sale {self.reference}: {self.units} {self.commodity_id}"


class Transfer(models.Model):
    """Units moved on-chain from one of the company's wallets to another, with the fee."""

    txid = models.CharField(max_length=64, unique=True)
    from_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="sent")
    to_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="received")
    units = quantity_field()
    fee_units = quantity_field(default=0)
    sent_at = models.DateTimeField()
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="transfer"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gt=0) & Q(fee_units__gte=0), name="holdings_transfer_units"
            ),
            models.CheckConstraint(
                condition=~Q(from_wallet=models.F("to_wallet")), name="holdings_transfer_wallets"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.units} from {self.from_wallet_id} to {self.to_wallet_id}"


class Disposal(models.Model):
    """Units of one lot that left the books: sold, or spent as an on-chain fee."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="disposals")
    sale = models.ForeignKey(
        Sale, null=True, blank=True, on_delete=models.PROTECT, related_name="disposals"
    )
    transfer = models.ForeignKey(
        Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="fee_disposals"
    )
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="disposals"
    )
    disposed_on = models.DateField()
    units = quantity_field()
    cost = value_field()
    carrying_value = value_field()
    proceeds = value_field()
    realized_gain = value_field()  # proceeds - cost
    days_held = models.IntegerField()
    method = models.CharField(max_length=16, choices=ReliefMethod.choices)
    # A cancelled disposal is offset by its mirror (negative units and amounts), written by
    # the cancellation of its sale, transfer or liquidation.
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["disposed_on", "id"]
        indexes = [models.Index(fields=["disposed_on"], name="holdings_disposal_date")]

    def __str__(self) -> str:
        return f"{self.units} of lot {self.lot_id} on {self.disposed_on}"
