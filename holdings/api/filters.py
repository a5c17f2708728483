"""Query filters of the holdings API. As in the ledger's: a value that is not understood is a
400 naming the parameter, never ignored."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django_filters.fields import ModelChoiceField

from holdings.api.serializers.common import HOLDINGS_CODE_PATTERN
from holdings.models import (
    BatchStatus,
    ImportBatch,
    ImportSource,
    LoanEvent,
    LoanEventKind,
    Payout,
    Pool,
    PoolAccount,
    ProductionRecord,
    ReconciliationKind,
    ReconciliationRun,
    ReconciliationStatus,
    ReliefMethod,
    Remeasurement,
    Sale,
    Site,
    Statement,
    StatementKind,
    Transfer,
    Wallet,
)
from ledger.api.filters import CommodityFilter, StrictBooleanFilter
from ledger.dates import validate_report_date
from ledger.models import Commodity

DATE_FORMATS = ["%Y-%m-%d"]


class CodeChoiceField(ModelChoiceField):
    """A code (`to_field_name`); a string that cannot be one is refused before the database
    sees it."""

    def __init__(self, *args: Any, pattern: re.Pattern[str], **kwargs: Any) -> None:
        self.pattern = pattern
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and not self.pattern.fullmatch(str(value)):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class CodeFilter(django_filters.ModelChoiceFilter):
    field_class = CodeChoiceField

    def __init__(self, *args: Any, what: str, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("pattern", HOLDINGS_CODE_PATTERN)
        kwargs.setdefault("error_messages", {"invalid_choice": f"there is no such {what}."})
        super().__init__(*args, **kwargs)


class BatchFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", ImportBatch.objects.only("pk"))
        kwargs.setdefault("help_text", "Only rows brought by this import batch (its id).")
        kwargs.setdefault("error_messages", {"invalid_choice": "there is no such import batch."})
        super().__init__(*args, **kwargs)


def _date(field_name: str, lookup: str, help_text: str) -> django_filters.DateFilter:
    return django_filters.DateFilter(
        field_name=field_name,
        lookup_expr=lookup,
        input_formats=DATE_FORMATS,
        help_text=help_text,
        error_messages={"invalid": "must be a date written YYYY-MM-DD (UTC)."},
        # The same bounds as every report date (ledger/dates.py).
        validators=[validate_report_date],
    )


def _commodity(field_name: str = "commodity") -> CommodityFilter:
    return CommodityFilter(
        field_name=field_name,
        queryset=Commodity.objects.all(),
        help_text="Commodity code, e.g. BTC.",
        error_messages={"invalid_choice": "there is no such commodity."},
    )


def _pool_account(field_name: str = "pool_account") -> CodeFilter:
    return CodeFilter(
        field_name=field_name,
        queryset=PoolAccount.objects.all(),
        what="pool account",
        help_text="Pool account code.",
    )


class ImportBatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BatchStatus.choices, help_text="Batch status.")
    source = django_filters.ChoiceFilter(choices=ImportSource.choices, help_text="File format.")
    pool_account = _pool_account()

    class Meta:
        model = ImportBatch
        fields = ["status", "source", "pool_account"]


class ProductionRecordFilter(django_filters.FilterSet):
    pool_account = _pool_account()
    pool = CodeFilter(
        field_name="pool_account__pool",
        queryset=Pool.objects.all(),
        what="pool",
        help_text="Pool code.",
    )
    site = CodeFilter(
        field_name="pool_account__site",
        queryset=Site.objects.all(),
        what="site",
        help_text="Site code.",
    )
    commodity = _commodity("pool_account__commodity")
    start = _date("day", "gte", "Earned on or after this UTC day.")
    end = _date("day", "lte", "Earned on or before this UTC day.")
    batch = BatchFilter()

    class Meta:
        model = ProductionRecord
        fields = ["pool_account", "pool", "site", "commodity", "start", "end", "batch"]


class PayoutFilter(django_filters.FilterSet):
    pool_account = _pool_account()
    wallet = CodeFilter(
        field_name="wallet", queryset=Wallet.objects.all(), what="wallet", help_text="Wallet code."
    )
    start = _date("paid_at__date", "gte", "Paid on or after this UTC date.")
    end = _date("paid_at__date", "lte", "Paid on or before this UTC date.")
    txid = django_filters.CharFilter(max_length=64, help_text="Transaction id.")
    batch = BatchFilter()

    class Meta:
        model = Payout
        fields = ["pool_account", "wallet", "start", "end", "txid", "batch"]


class RemeasurementFilter(django_filters.FilterSet):
    commodity = _commodity()
    start = _date("as_of", "gte", "Remeasured as of this UTC date or later.")
    end = _date("as_of", "lte", "Remeasured as of this UTC date or earlier.")

    class Meta:
        model = Remeasurement
        fields = ["commodity", "start", "end"]


class PoolAccountFilter(django_filters.FilterSet):
    pool = CodeFilter(queryset=Pool.objects.all(), what="pool", help_text="Pool code.")
    site = CodeFilter(queryset=Site.objects.all(), what="site", help_text="Site code.")
    commodity = _commodity()
    source = django_filters.ChoiceFilter(choices=ImportSource.choices, help_text="File format.")
    fetch_daily = StrictBooleanFilter(help_text="true or false.")
    is_active = StrictBooleanFilter(help_text="true or false.")

    class Meta:
        model = PoolAccount
        fields = ["pool", "site", "commodity", "source", "fetch_daily", "is_active"]


class WalletFilter(django_filters.FilterSet):
    commodity = _commodity()
    is_active = StrictBooleanFilter(help_text="true or false.")

    class Meta:
        model = Wallet
        fields = ["commodity", "is_active"]


class SiteFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(max_length=100, help_text="Region, e.g. North America.")
    is_active = StrictBooleanFilter(help_text="true or false.")
    commodity = _commodity()

    class Meta:
        model = Site
        fields = ["region", "is_active", "commodity"]


class SaleFilter(django_filters.FilterSet):
    wallet = CodeFilter(
        field_name="wallet", queryset=Wallet.objects.all(), what="wallet", help_text="Wallet code."
    )
    commodity = _commodity()
    start = _date("sold_at__date", "gte", "Sold on or after this UTC date.")
    end = _date("sold_at__date", "lte", "Sold on or before this UTC date.")
    method = django_filters.ChoiceFilter(
        choices=ReliefMethod.choices, help_text="How the lots were relieved."
    )
    reference = django_filters.CharFilter(max_length=100, help_text="The trade's reference.")

    class Meta:
        model = Sale
        fields = ["wallet", "commodity", "start", "end", "method", "reference"]


class TransferFilter(django_filters.FilterSet):
    from_wallet = CodeFilter(
        field_name="from_wallet",
        queryset=Wallet.objects.all(),
        what="wallet",
        help_text="Code of the wallet sent from.",
    )
    to_wallet = CodeFilter(
        field_name="to_wallet",
        queryset=Wallet.objects.all(),
        what="wallet",
        help_text="Code of the wallet sent to.",
    )
    start = _date("sent_at__date", "gte", "Sent on or after this UTC date.")
    end = _date("sent_at__date", "lte", "Sent on or before this UTC date.")
    txid = django_filters.CharFilter(max_length=64, help_text="Transaction id.")

    class Meta:
        model = Transfer
        fields = ["from_wallet", "to_wallet", "start", "end", "txid"]


class LoanEventFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LoanEventKind.choices, help_text="Event kind.")
    start = _date("effective_date", "gte", "Effective on or after this UTC date.")
    end = _date("effective_date", "lte", "Effective on or before this UTC date.")

    class Meta:
        model = LoanEvent
        fields = ["kind", "start", "end"]


class ReconciliationRunFilter(django_filters.FilterSet):
    as_of = _date("as_of", "exact", "Runs of this UTC day.")
    start = _date("as_of", "gte", "Runs of this UTC day or later.")
    end = _date("as_of", "lte", "Runs of this UTC day or earlier.")
    kind = django_filters.ChoiceFilter(choices=ReconciliationKind.choices, help_text="Kind.")
    status = django_filters.ChoiceFilter(
        choices=ReconciliationStatus.choices, help_text="matched, breaks or incomplete."
    )

    class Meta:
        model = ReconciliationRun
        fields = ["as_of", "start", "end", "kind", "status"]


class StatementFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=StatementKind.choices, help_text="Kind.")

    class Meta:
        model = Statement
        fields = ["kind"]
