"""The set-up: mining sites, pool accounts, wallets and their addresses."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import EHS_SCHEMA, DecimalOut, exact
from holdings.models import PoolAccount, Site, Wallet, WalletAddress


class SiteSerializer(serializers.ModelSerializer):
    deployed_hashrate_hs = DecimalOut(
        {"type": "string", "example": "3309000000000000000", "pattern": "^[0-9]+$"},
        help_text="Deployed hashrate, H/s.",
    )
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

    @extend_schema_field(EHS_SCHEMA)
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
