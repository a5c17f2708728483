"""The set-up: mining sites, pool accounts, wallets and their addresses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import EHS_SCHEMA, DecimalOut, exact
from holdings.models import ImportSource, Pool, PoolAccount, PoolKind, Site, Wallet, WalletAddress
from holdings.selectors.production import hashrate_unit, in_unit
from holdings.services.setup_file import MAX_FILE_BYTES
from ledger.api.serializers import StrictCharField, StrictSerializer


class SiteSerializer(serializers.ModelSerializer):
    deployed_hashrate_hs = DecimalOut(
        {"type": "string", "example": "3309000000000000000", "pattern": "^[0-9]+$"},
        help_text="Deployed hashrate, H/s.",
    )
    deployed_hashrate_ehs = serializers.SerializerMethodField(
        help_text="Deployed hashrate, EH/s (rounded half-even to 0.01), whatever the coin; "
        "deployed_hashrate is in the unit that fits the site's coin."
    )
    commodity = serializers.CharField(
        source="commodity_id", read_only=True, help_text="The coin the site's machines mine."
    )
    hashrate_unit = serializers.SerializerMethodField(
        help_text="The unit of deployed_hashrate, by the site's coin: EH/s (BTC), TH/s (KAS), "
        "GH/s (ETC)."
    )
    deployed_hashrate = serializers.SerializerMethodField(
        help_text="Deployed hashrate in hashrate_unit (rounded half-even to 0.01)."
    )

    class Meta:
        model = Site
        fields = [
            "code",
            "name",
            "region",
            "commodity",
            "deployed_hashrate_hs",
            "hashrate_unit",
            "deployed_hashrate",
            "deployed_hashrate_ehs",
            "is_active",
        ]
        read_only_fields = fields

    @extend_schema_field(EHS_SCHEMA)
    def get_deployed_hashrate_ehs(self, site: Site) -> str:
        return exact((site.deployed_hashrate_hs / Decimal(10) ** 18).quantize(Decimal("0.01")))

    def get_hashrate_unit(self, site: Site) -> str:
        return hashrate_unit(str(site.commodity_id))[0]

    @extend_schema_field(EHS_SCHEMA)
    def get_deployed_hashrate(self, site: Site) -> str:
        return exact(in_unit(site.deployed_hashrate_hs, str(site.commodity_id)))


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


class PoolSerializer(serializers.ModelSerializer):
    api_base_url = serializers.CharField(
        read_only=True, help_text="The pool's API address; empty when it has none."
    )

    class Meta:
        model = Pool
        fields = ["code", "name", "kind", "api_base_url"]
        read_only_fields = fields


# --- creating ----------------------------------------------------------------------------


def _code(what: str) -> StrictCharField:
    return StrictCharField(
        max_length=27,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                "letters, digits, dots, dashes and underscores, starting with a letter or digit.",
            )
        ],
        help_text=f"The {what}'s code, unique.",
    )


class _CreateBody(StrictSerializer):
    def service_arguments(self) -> dict[str, Any]:
        return dict(self.validated_data)


class SiteCreateSerializer(_CreateBody):
    code = _code("site")
    name = StrictCharField(max_length=200)
    region = StrictCharField(max_length=100, help_text="e.g. North America.")
    deployed_hashrate_hs = StrictCharField(
        max_length=30,
        validators=[RegexValidator(r"^[0-9]+$", "a whole number of H/s, digits only.")],
        help_text="Deployed hashrate, H/s, as a string of digits.",
    )
    commodity = StrictCharField(
        max_length=16,
        required=False,
        default="BTC",
        help_text="The coin the site's machines mine (BTC, KAS, ETC); BTC by default.",
    )


class PoolCreateSerializer(_CreateBody):
    code = _code("pool")
    name = StrictCharField(max_length=200)
    kind = serializers.ChoiceField(choices=PoolKind.choices)
    api_base_url = serializers.URLField(max_length=200, required=False, default="")


class PoolAccountCreateSerializer(_CreateBody):
    code = _code("pool account")
    pool = StrictCharField(max_length=27, help_text="The pool's code.")
    name = StrictCharField(max_length=200, help_text="The sub-account's name at the pool.")
    commodity = StrictCharField(max_length=16, required=False, default="BTC")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field
        choices=ImportSource.choices,
        required=False,
        help_text="Where its earnings come from; the pool's kind when it has an importer.",
    )
    site = StrictCharField(
        max_length=27, required=False, allow_null=True, default=None, help_text="Site code."
    )
    api_user = StrictCharField(max_length=200, required=False, default="", allow_blank=True)
    api_key_env = StrictCharField(max_length=100, required=False, default="", allow_blank=True)
    api_secret_env = StrictCharField(max_length=100, required=False, default="", allow_blank=True)
    fetch_daily = serializers.BooleanField(required=False, default=False)


class WalletCreateSerializer(_CreateBody):
    code = _code("wallet")
    name = StrictCharField(max_length=200)
    commodity = StrictCharField(max_length=16, required=False, default="BTC")
    parent_account = StrictCharField(
        max_length=40,
        required=False,
        allow_null=True,
        default=None,
        help_text="The chart account it sits under (the commodity's first wallet parent if "
        "omitted).",
    )
    custodian = StrictCharField(max_length=200, required=False, default="", allow_blank=True)
    addresses = serializers.ListField(
        child=StrictCharField(max_length=128), required=False, default=list, max_length=1000
    )


class WalletAddressCreateSerializer(_CreateBody):
    address = StrictCharField(max_length=128)
    label = StrictCharField(  # type: ignore[assignment]  # a field
        max_length=200, required=False, default="", allow_blank=True
    )


# --- the set-up from a file --------------------------------------------------------------


class SetupFileSerializer(StrictSerializer):
    """A set-up file (multipart/form-data)."""

    file = serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text=(
            "YAML (or JSON): lists `sites`, `pools`, `pool_accounts` and `wallets` (each "
            "wallet with its `addresses`); or CSV (name ending .csv): one row per object, "
            "its `kind` (site, pool, pool_account, wallet, address) in a `kind` column. "
            "At most 2 MiB."
        ),
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check everything and report; write nothing."
    )

    def validate_file(self, upload: Any) -> Any:
        if upload.size > MAX_FILE_BYTES:
            raise serializers.ValidationError(f"larger than {MAX_FILE_BYTES} bytes.")
        return upload


class _SetupCodesSerializer(serializers.Serializer):
    sites = serializers.ListField(child=serializers.CharField())
    pools = serializers.ListField(child=serializers.CharField())
    wallets = serializers.ListField(child=serializers.CharField())
    addresses = serializers.ListField(child=serializers.CharField())
    pool_accounts = serializers.ListField(child=serializers.CharField())


class SetupReportSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The file's name.")
    dry_run = serializers.BooleanField(help_text="True: nothing was written.")
    created = _SetupCodesSerializer(help_text="What was (or would be) created, by code.")
    existing = _SetupCodesSerializer(help_text="What the file lists that is already set up.")
