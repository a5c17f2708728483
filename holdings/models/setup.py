"""The miner's set-up: sites, pools, pool sub-accounts, wallets and their addresses."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from holdings.models.fields import CODE_VALIDATOR


class Site(models.Model):
    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=100)
    deployed_hashrate_hs = models.DecimalField(
        "deployed hashrate (H/s)", max_digits=30, decimal_places=0
    )
    # The coin its machines mine: its hashrate is counted and shown as that coin's.
    commodity = models.ForeignKey(
        "ledger.Commodity",
        on_delete=models.PROTECT,
        related_name="+",
        default="BTC",
        help_text="The coin the site's machines mine.",
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
