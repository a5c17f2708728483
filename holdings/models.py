"""The miner's world: sites, pools, pool sub-accounts, wallets, prices, production, lots.

Everything here that moves value posts through ledger.services; these tables keep what the
ledger cannot: where BTC came from, the raw records the pools sent, the prices used, and
the lots (acquisition date and cost) that the ledger's balances are made of.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from ledger.fields import ExactDecimalField
from ledger.models import QUANTITY_DIGITS, QUANTITY_PLACES, VALUE_DIGITS, VALUE_PLACES

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,26}$", "Letters, digits, '.', '_' or '-' (at most 27)."
)


def _quantity(**kwargs):  # type: ignore[no-untyped-def]
    return ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, **kwargs)


def _value(**kwargs):  # type: ignore[no-untyped-def]
    return ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, **kwargs)


class Site(models.Model):
    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=100)
    deployed_hashrate_hs = models.DecimalField(
        "deployed hashrate (H/s)", max_digits=30, decimal_places=0
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(deployed_hashrate_hs__gte=0), name="holdings_site_hashrate_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PoolKind(models.TextChoices):
    F2POOL = "f2pool", "F2Pool"
    VIABTC = "viabtc", "ViaBTC"
    ANTPOOL = "antpool", "Antpool"
    FOUNDRY = "foundry", "Foundry USA"
    OTHER = "other", "Other (generic CSV)"


class ImportSource(models.TextChoices):
    F2POOL = "f2pool", "F2Pool API v2 transactions"
    VIABTC = "viabtc", "ViaBTC open API"
    ANTPOOL = "antpool", "Antpool payment history"
    FOUNDRY = "foundry", "Foundry USA earnings"
    CSV = "csv", "Generic CSV"


class Pool(models.Model):
    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PoolKind.choices)
    api_base_url = models.URLField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PoolAccount(models.Model):
    """A sub-account at a pool: its earnings and payouts, and the receivable that holds
    what it has earned but not yet paid out."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="accounts")
    name = models.CharField("sub-account name at the pool", max_length=200)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="pool_accounts"
    )
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    receivable_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="pool_account"
    )
    source = models.CharField(max_length=16, choices=ImportSource.choices)
    # Secrets stay in the environment: these name the variables that hold them.
    api_user = models.CharField(max_length=200, blank=True)
    api_key_env = models.CharField(
        "environment variable holding the API key", max_length=100, blank=True
    )
    api_secret_env = models.CharField(
        "environment variable holding the API secret", max_length=100, blank=True
    )
    fetch_daily = models.BooleanField(
        default=False, help_text="Fetch yesterday's production from the pool's API every night."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Wallet(models.Model):
    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    custodian = models.CharField(max_length=200, blank=True)
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="wallet"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class WalletAddress(models.Model):
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="addresses")
    address = models.CharField(max_length=128, unique=True)
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["wallet", "address"]
        verbose_name_plural = "wallet addresses"

    def __str__(self) -> str:
        return self.address


class Price(models.Model):
    """One price per base, quote and timestamp: the evidence behind every valuation."""

    base = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    timestamp = models.DateTimeField()
    price = ExactDecimalField(max_digits=38, decimal_places=18)
    source = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["base", "quote", "-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "timestamp"], name="holdings_price_one_per_timestamp"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="holdings_price_positive"),
            models.CheckConstraint(
                condition=~Q(base=models.F("quote")), name="holdings_price_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.base_id}/{self.quote_id} {self.timestamp:%Y-%m-%dT%H:%M:%SZ} {self.price}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportBatch(models.Model):
    """One file (uploaded, or fetched from a pool's API) and what importing it did."""

    source = models.CharField(max_length=16, choices=ImportSource.choices)
    pool_account = models.ForeignKey(
        PoolAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="batches"
    )
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    records_total = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A failed batch's file is dropped after FAILED_CONTENT_KEEP_DAYS; its record and
    # errors stay, and it can no longer be imported again.
    content_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["status", "created_at"], name="holdings_batch_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.source} {self.file_name} ({self.status})"


class ProductionRecord(models.Model):
    """A pool sub-account's earning for one UTC day, as the pool reported it."""

    # Indexed by the (pool account, day) unique constraint.
    pool_account = models.ForeignKey(
        PoolAccount, on_delete=models.PROTECT, related_name="production", db_index=False
    )
    day = models.DateField()
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    gross = _quantity(null=True, blank=True)
    fee = _quantity(null=True, blank=True)
    net = _quantity()
    hashrate_hs = models.DecimalField(
        "hashrate (H/s)", max_digits=40, decimal_places=6, null=True, blank=True
    )
    price = models.ForeignKey(
        Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    value = _value()
    raw = models.JSONField()
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="production_record",
    )
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="production")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "pool_account"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool_account", "day"], name="holdings_production_one_per_day"
            ),
            models.UniqueConstraint(
                fields=["pool_account", "external_id"],
                condition=Q(external_id__isnull=False),
                name="holdings_production_external_id",
            ),
            models.CheckConstraint(condition=Q(net__gte=0), name="holdings_production_net"),
            models.CheckConstraint(
                condition=Q(gross__isnull=True)
                | Q(fee__isnull=True)
                | Q(net=models.F("gross") - models.F("fee")),
                name="holdings_production_gross_less_fee",
            ),
        ]
        indexes = [models.Index(fields=["day"], name="holdings_production_day")]

    def __str__(self) -> str:
        return f"{self.pool_account_id} {self.day} {self.net}"


class Payout(models.Model):
    """An on-chain payment from a pool to one of the company's wallets."""

    pool_account = models.ForeignKey(PoolAccount, on_delete=models.PROTECT, related_name="payouts")
    external_id = models.CharField(max_length=100)
    txid = models.CharField(max_length=64)
    address = models.CharField(max_length=128)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="payouts")
    amount = _quantity()
    paid_at = models.DateTimeField()
    raw = models.JSONField()
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="payout"
    )
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="payouts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool_account", "external_id"], name="holdings_payout_external_id"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="holdings_payout_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.pool_account_id} {self.txid[:12]} {self.amount}"


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
    original_quantity = _quantity()
    original_cost = _value()
    quantity = _quantity()
    cost = _value()
    fair_value_adjustment = _value(default=0)
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
    quantity = _quantity()
    cost = _value()
    fair_value_adjustment = _value(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_date", "id"]
        indexes = [
            models.Index(fields=["lot", "effective_date"], name="holdings_lotmove_lot_date"),
            models.Index(fields=["effective_date"], name="holdings_lotmove_date"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} lot {self.lot_id} {self.quantity}"


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
    units = _quantity()
    sold_at = models.DateTimeField()
    proceeds_account = models.ForeignKey(
        "ledger.Account", on_delete=models.PROTECT, related_name="+"
    )
    proceeds_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    gross_proceeds = _quantity()  # in the proceeds' commodity, before the fee
    fee = _quantity(default=0)  # in the proceeds' commodity, kept by the venue
    proceeds_value = _value()  # USD value of the gross proceeds
    fee_value = _value(default=0)
    method = models.CharField(max_length=16, choices=ReliefMethod.choices)
    cost = _value()
    carrying_value = _value()
    realized_gain = _value()  # gross proceeds value - cost (the ASC 350-60-50-4 figure)
    gain_on_carrying_value = _value()  # gross proceeds value - carrying value (posted to 4100)
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
    units = _quantity()
    fee_units = _quantity(default=0)
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
    units = _quantity()
    cost = _value()
    carrying_value = _value()
    proceeds = _value()
    realized_gain = _value()  # proceeds - cost
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


class Remeasurement(models.Model):
    """A fair value remeasurement of one commodity at one date, with its price evidence."""

    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="+")
    units = _quantity()
    carrying_value_before = _value()
    fair_value = _value()
    adjustment = _value()
    lots = models.PositiveIntegerField()
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remeasurement",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "commodity"]
        constraints = [
            models.UniqueConstraint(
                fields=["commodity", "as_of"], name="holdings_remeasurement_once_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.commodity_id} remeasured at {self.as_of}"


class DayCount(models.TextChoices):
    ACT_365 = "ACT/365", "Actual/365"
    ACT_360 = "ACT/360", "Actual/360"


class Loan(models.Model):
    """A loan against collateral, with its own ledger accounts and LTV tiers."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    lender = models.CharField(max_length=200)
    principal_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    collateral_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    annual_rate = models.DecimalField(max_digits=9, decimal_places=6)
    day_count = models.CharField(max_length=8, choices=DayCount.choices)
    start_date = models.DateField()
    maturity_date = models.DateField()
    warning_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    margin_call_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    liquidation_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    cure_hours = models.PositiveIntegerField(default=72)
    principal_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_principal"
    )
    interest_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_interest"
    )
    pledged_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_pledged"
    )
    lent_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_lent"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(annual_rate__gte=0), name="holdings_loan_rate"),
            models.CheckConstraint(
                condition=Q(warning_ltv__gt=0)
                & Q(margin_call_ltv__gt=models.F("warning_ltv"))
                & Q(liquidation_ltv__gt=models.F("margin_call_ltv")),
                name="holdings_loan_tiers_ascend",
            ),
            models.CheckConstraint(
                condition=Q(maturity_date__gt=models.F("start_date")), name="holdings_loan_term"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.lender})"


class LoanEventKind(models.TextChoices):
    DRAW = "draw", "Draw"
    PLEDGE = "pledge", "Collateral pledged"
    RELEASE = "release", "Collateral released"
    ACCRUAL = "accrual", "Interest accrued"
    REPAYMENT = "repayment", "Repayment"
    LIQUIDATION = "liquidation", "Liquidation"
    TIER = "tier", "LTV tier crossed"


class LoanEvent(models.Model):
    """Everything that happened to a loan, each with the entry it posted (if any)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=LoanEventKind.choices)
    effective_date = models.DateField()
    amount = _quantity(default=0)  # in the principal's commodity
    units = _quantity(default=0)  # of collateral
    details = models.JSONField(default=dict, blank=True)
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loan_event",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_date", "id"]
        constraints = [
            # Interest accrues once per loan and day.
            models.UniqueConstraint(
                fields=["loan", "effective_date"],
                condition=Q(kind="accrual"),
                name="holdings_loan_accrual_once_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind} {self.effective_date}"


# --- statements and reconciliation -------------------------------------------------------


class StatementKind(models.TextChoices):
    CUSTODIAN = "custodian", "Custodian or pool balances"
    LENDER = "lender", "Lender statement"


class Statement(models.Model):
    """A statement file as received from a custodian, a pool or a lender: kept whole, with
    its lines parsed beside it. Statements are evidence: added, never changed."""

    kind = models.CharField(max_length=16, choices=StatementKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    lines_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "file_sha256"], name="holdings_statement_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class StatementUpload(models.Model):
    """A statement file as uploaded, kept until the worker has read it into a Statement
    (then the statement holds the file) or has refused it with its errors (then the file
    is dropped after FAILED_CONTENT_KEEP_DAYS, the record and errors staying)."""

    kind = models.CharField(max_length=16, choices=StatementKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField(blank=True)
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    content_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="holdings_upload_status"),
            models.Index(fields=["kind", "file_sha256"], name="holdings_upload_file"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(statement__isnull=False),
                name="holdings_upload_succeeded_statement",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.file_name} ({self.status})"


class BalanceStatementLine(models.Model):
    """One balance a custodian or a pool states for an account (a wallet's or a pool
    account's code) at the end of a UTC day."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="balances")
    on = models.DateField()
    account = models.CharField(max_length=100)
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    balance = _quantity()

    class Meta:
        ordering = ["on", "account"]
        indexes = [models.Index(fields=["account", "on"], name="holdings_bsl_account_on")]

    def __str__(self) -> str:
        return f"{self.account} {self.on}: {self.balance} {self.commodity_id}"


class LoanStatementLine(models.Model):
    """What a lender states for a loan at the end of a UTC day."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="loans")
    on = models.DateField()
    loan = models.CharField(max_length=100)
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    principal = _quantity()
    accrued_interest = _quantity()
    collateral_units = _quantity()

    class Meta:
        ordering = ["on", "loan"]
        indexes = [models.Index(fields=["loan", "on"], name="holdings_lsl_loan_on")]

    def __str__(self) -> str:
        return f"{self.loan} {self.on}"


class ReconciliationKind(models.TextChoices):
    POOL = "pool", "Pool balances"
    PAYOUTS = "payouts", "Payouts on-chain"
    WALLETS = "wallets", "Wallet balances"
    LOANS = "loans", "Loans"
    INTERNAL = "internal", "Internal"


class ReconciliationStatus(models.TextChoices):
    MATCHED = "matched", "All matched"
    BREAKS = "breaks", "Breaks found"
    INCOMPLETE = "incomplete", "Incomplete: a source could not be checked"


class ItemStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    UNMATCHED = "unmatched", "Unmatched"
    UNEXPLAINED = "unexplained", "Unexplained"
    UNREACHABLE = "unreachable", "Source unreachable"
    NO_SOURCE = "no_source", "No source"


BREAK_STATUSES = (ItemStatus.UNMATCHED, ItemStatus.UNEXPLAINED)
UNCHECKED_STATUSES = (ItemStatus.UNREACHABLE, ItemStatus.NO_SOURCE)


class ReconciliationRun(models.Model):
    """One reconciliation of one kind for one UTC day, with its items. A run is kept as it
    was found; running the day again adds a new run."""

    kind = models.CharField(max_length=16, choices=ReconciliationKind.choices)
    as_of = models.DateField()
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices)
    matched = models.PositiveIntegerField(default=0)
    breaks = models.PositiveIntegerField(default=0)
    unchecked = models.PositiveIntegerField(default=0)
    sources = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["as_of", "kind"], name="holdings_recon_day_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.as_of}: {self.get_status_display()}"


class ReconciliationItem(models.Model):
    """One thing compared: what the ledger says, what the source says, the difference and
    the tolerance it was held to. A break names its subject exactly (a pool account, a
    payout's txid, a wallet, an address, a loan)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="items")
    subject_type = models.CharField(max_length=32)
    subject = models.CharField(max_length=200)
    checked = models.CharField(max_length=64)  # what of the subject: balance, amount, ...
    commodity = models.CharField(max_length=16, blank=True)
    ledger_amount = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    source_amount = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    difference = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    tolerance = _quantity(default=0)
    status = models.CharField(max_length=16, choices=ItemStatus.choices)
    source = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"Item {self.pk}"  # the message says what it is


# --- idempotent requests -----------------------------------------------------------------


class RequestKey(models.Model):
    """An Idempotency-Key a client sent with a write, the hash of what it asked and what it
    created: the same request again answers the same record; other content is refused."""

    key = models.CharField(max_length=200, unique=True)
    scope = models.CharField(max_length=32)  # what the key created: loan_event, transfer...
    payload_hash = models.CharField(max_length=64)
    result_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
