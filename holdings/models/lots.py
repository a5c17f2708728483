"""Lots: where each unit came from, its acquisition date and cost, and every movement."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from holdings.models.fields import kept_reference, quantity_field, value_field
from holdings.models.prices import Price
from holdings.models.production import ProductionRecord


class LotOrigin(models.TextChoices):
    OPENING = "opening", "Opening balance"
    MINED = "mined", "Mined (pool earning)"
    TRANSFER = "transfer", "Transferred from another account"
    PURCHASE = "purchase", "Purchased"
    PROCEEDS = "proceeds", "Proceeds of a sale"
    BORROWED = "borrowed", "Borrowed (loan draw)"


class Lot(models.Model):
    """Units of one acquisition sitting in one account.

    A transfer never edits where a lot sits: it moves units into a new lot in the
    destination (same acquisition date and cost per unit, `parent` pointing back). The
    quantity, cost and adjustment columns are the lot's current state; the movements are
    the immutable history that any date's state is summed from.
    """

    # The lot's commodity is its account's, held so by one composite foreign key
    # (holdings/migrations/0015_rules_as_edited.sql) that stands for both of these.
    commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # Indexed by the (account, acquired_at, id) index below.
    account = models.ForeignKey(
        "ledger.Account",
        on_delete=models.PROTECT,
        related_name="lots",
        db_index=False,
        db_constraint=False,
    )
    acquired_at = models.DateTimeField()
    origin = models.CharField(max_length=16, choices=LotOrigin.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_index=False,
    )
    production_record = models.ForeignKey(
        ProductionRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="lots"
    )
    # Few indexes: every one is paid for by every lot an import opens.
    price = models.ForeignKey(
        Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    opened_by_entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="opened_lots", db_index=False
    )
    original_quantity = quantity_field()
    original_cost = value_field()
    quantity = quantity_field()
    cost = value_field()
    fair_value_adjustment = value_field(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["acquired_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="holdings_lot_quantity"),
            models.CheckConstraint(
                condition=Q(original_quantity__gt=0), name="holdings_lot_original_quantity"
            ),
            models.CheckConstraint(
                condition=Q(quantity__lte=models.F("original_quantity")),
                name="holdings_lot_not_above_original",
            ),
            models.CheckConstraint(
                condition=~Q(quantity=0) | (Q(cost=0) & Q(fair_value_adjustment=0)),
                name="holdings_lot_empty_carries_nothing",
            ),
        ]
        indexes = [
            # FIFO: the lots of an account, oldest first.
            models.Index(fields=["account", "acquired_at", "id"], name="holdings_lot_fifo"),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk} {self.quantity} {self.commodity_id} in {self.account_id}"

    @property
    def carrying_value(self):  # type: ignore[no-untyped-def]
        return self.cost + self.fair_value_adjustment


class LotMovementKind(models.TextChoices):
    OPEN = "open", "Opened"
    TRANSFER_IN = "transfer_in", "Transferred in"
    TRANSFER_OUT = "transfer_out", "Transferred out"
    DISPOSAL = "disposal", "Disposed of"
    REMEASUREMENT = "remeasurement", "Fair value remeasurement"


class LotMovement(models.Model):
    """An immutable change to a lot, posted with a journal entry."""

    # Indexed by the (lot, effective_date) index below.
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements", db_index=False)
    entry = models.ForeignKey(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="lot_movements"
    )
    effective_date = models.DateField()
    kind = models.CharField(max_length=16, choices=LotMovementKind.choices)
    quantity = quantity_field()
    cost = value_field()
    fair_value_adjustment = value_field(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_date", "id"]
        indexes = [
            models.Index(fields=["lot", "effective_date"], name="holdings_lotmove_lot_date"),
            models.Index(fields=["effective_date"], name="holdings_lotmove_date"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} lot {self.lot_id} {self.quantity}"


class LotMovementDaily(models.Model):
    """Lot movements of one account, lot origin and kind on one day, added up: kept by a
    trigger on the movements (holdings/migrations/0022_lot_rollups.sql), so that a
    report over a period or as of a date reads a row per day rather than every movement."""

    # Written only by that trigger. No index of its own: the unique key leads with the account.
    account = kept_reference("ledger.Account")
    commodity = kept_reference("ledger.Commodity")
    origin = models.CharField(max_length=16, choices=LotOrigin.choices)
    kind = models.CharField(max_length=16, choices=LotMovementKind.choices)
    day = models.DateField()
    quantity = quantity_field()
    cost = value_field()
    fair_value_adjustment = value_field()
    movements = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "kind", "origin"], name="holdings_lotdaily_key"
            )
        ]
        indexes = [models.Index(fields=["commodity", "day"], name="holdings_lotdaily_commodity")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.kind}: {self.quantity}"


class LotOpenSpan(models.Model):
    """A run of days through whose ends a lot held units: from `opened_on` to the day before
    `closed_on` (open still, when null). Kept by a trigger on the movements
    (holdings/migrations/0022_lot_rollups.sql), so that the lots open as of a date are found
    by their spans rather than by summing every movement of their account."""

    # Written only by that trigger.
    lot = kept_reference(Lot)
    account = kept_reference("ledger.Account")
    commodity = kept_reference("ledger.Commodity")
    opened_on = models.DateField()
    closed_on = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lot", "opened_on"], name="holdings_lotspan_key")
        ]
        indexes = [
            models.Index(fields=["account", "opened_on"], name="holdings_lotspan_account"),
            models.Index(fields=["commodity", "opened_on"], name="holdings_lotspan_commodity"),
        ]

    def __str__(self) -> str:
        return f"lot {self.lot_id} {self.opened_on} to {self.closed_on or 'now'}"


class DisposalTotal(models.Model):
    """What one journal entry relieved of one commodity's lots on a day, added up: its
    disposal lot movements (units, cost and adjustment, negative) and its disposal records
    (units, cost, carrying value, proceeds and gain). Kept by triggers on both
    (holdings/migrations/0023_disposal_totals.sql), so that the realized gains and the
    roll-forward of a period read a row per entry rather than every lot it relieved."""

    # Written only by those triggers.
    entry = kept_reference("ledger.JournalEntry")
    commodity = kept_reference("ledger.Commodity")
    day = models.DateField()
    moved_quantity = quantity_field()
    moved_cost = value_field()
    moved_adjustment = value_field()
    movements = models.BigIntegerField()
    disposals = models.BigIntegerField()
    units = quantity_field()
    cost = value_field()
    carrying_value = value_field()
    proceeds = value_field()
    realized_gain = value_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "commodity", "day"], name="holdings_disposaltotal_key"
            )
        ]
        indexes = [
            models.Index(fields=["commodity", "day"], name="holdings_disposaltotal_day"),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} {self.commodity_id} {self.day}: {self.units}"
