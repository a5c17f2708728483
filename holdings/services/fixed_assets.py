"""Fixed assets: deposits to vendors, machines received, placed in service at a site,
depreciated month by month (holdings/selectors/fixed_assets.py says how), their useful life
changed from a month on, impaired by a finance approver with the evidence, disposed of.

Entries:
- deposit: Dr 1500 / Cr 1000;
- receipt: Dr the class's cost account (1600) / Cr 1500 (the deposit applied) / Cr 2210 (or
  1000 when paid) the rest; machines already owned at the opening date come in at their
  carrying amount against opening balance equity (3000);
- depreciation, at each month end: Dr the class's expense account for the site (5400-SITE)
  / Cr its accumulated depreciation (1690);
- impairment (ASC 360): Dr 5500-SITE the loss, Dr 1690 the accumulated depreciation closed
  out / Cr 1600 down to the fair value, the new cost basis;
- disposal: the month's depreciation up to the day, then Dr 1000 the proceeds, Dr 1690 /
  Cr 1600, the difference to 4300 (gain or loss on disposal of equipment).
Each is a document undone only by its cancellation, and only the asset's latest first.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import (
    AssetClass,
    AssetEvent,
    AssetEventKind,
    FixedAsset,
    Site,
    VendorDeposit,
)
from holdings.selectors.fixed_assets import (
    add_months,
    asset_state,
    depreciation_for,
    month_end,
    next_month,
    standing_assets,
    standing_events,
)
from holdings.services.costs import site_account
from ledger import services as ledger_services
from ledger.cancellations import DocumentType, register_document
from ledger.errors import Forbidden
from ledger.models import JournalEntry
from ledger.money import fits_scale
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role

ZERO = Decimal("0.00")
DEPOSIT_KIND = "vendor_deposit"
RECEIPT_KIND = "asset_receipt"
DEPRECIATION_KIND = "asset_depreciation"
IMPAIRMENT_KIND = "asset_impairment"
DISPOSAL_KIND = "asset_disposal"


class AssetRefused(HoldingsError):
    code = "asset_refused"


def _user(by: Any) -> Any:
    return by if getattr(by, "pk", None) else None


def _operator(by: Any, doing: str) -> None:
    if by is not None and not has_any_role(by, OPERATE_ROLES):
        raise Forbidden(f"only finance staff and approvers {doing}", field="by")


def _usd(value: Decimal, field: str, *, positive: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise AssetRefused(f"{field} must be a decimal amount", field=field)
    if not fits_scale(value, 2):
        raise AssetRefused(f"{field} {value} has more than 2 decimal places", field=field)
    if value < 0 or (positive and value == 0):
        raise AssetRefused(
            f"{field} must be {'greater than zero' if positive else 'zero or more'}", field=field
        )
    return value


def _post(
    *, on: date, memo: str, postings: list[tuple[str, Decimal]], kind: str, key: str, by: Any
) -> JournalEntry:
    lines = [(code, value, value) for code, value in postings if value != 0]
    return ledger_services.entry_post(
        effective_date=on,
        memo=memo[:1000],
        postings=lines,
        idempotency_key=key,
        kind=kind,
        created_by=_user(by),
    )


# --- deposits and receipts ---------------------------------------------------------------


def vendor_deposit_record(
    *, vendor: str, reference: str, amount: Decimal, paid_on: date, by: Any = None
) -> VendorDeposit:
    """A deposit or prepayment paid to a vendor: Dr 1500 / Cr 1000."""
    _operator(by, "record a deposit")
    _usd(amount, "amount", positive=True)
    if not vendor.strip() or not reference.strip():
        raise AssetRefused("a deposit names its vendor and reference", field="reference")
    with transaction.atomic():
        if VendorDeposit.objects.filter(reference=reference).exists():
            raise AssetRefused(f"deposit {reference} is already recorded", field="reference")
        entry = _post(
            on=paid_on,
            memo=f"Deposit {reference} paid to {vendor}",
            postings=[(chart.VENDOR_DEPOSITS, amount), (chart.CASH, -amount)],
            kind=DEPOSIT_KIND,
            key=f"{DEPOSIT_KIND}:{reference}",
            by=by,
        )
        return VendorDeposit.objects.create(
            vendor=vendor.strip(),
            reference=reference.strip(),
            amount=amount,
            paid_on=paid_on,
            entry=entry,
            created_by=_user(by),
        )


def deposit_left(deposit: VendorDeposit) -> Decimal:
    applied = standing_assets().filter(deposit=deposit).aggregate(total=Sum("deposit_applied"))
    return deposit.amount - (applied["total"] or ZERO)


def asset_receive(
    *,
    code: str,
    asset_class: AssetClass | str,
    cost: Decimal,
    received_on: date,
    description: str = "",
    vendor: str = "",
    units: int = 1,
    hashrate_ths: Decimal | None = None,
    power_kw: Decimal | None = None,
    deposit: VendorDeposit | str | None = None,
    deposit_applied: Decimal = ZERO,
    paid: bool = False,
    opening: bool = False,
    by: Any = None,
) -> FixedAsset:
    """A batch of machines received, at cost: the deposit applied first, the rest paid or
    owed to the vendor; `opening`: owned at the opening date, at their carrying amount."""
    _operator(by, "receive an asset")
    if opening and (paid or deposit is not None):
        raise AssetRefused(
            "an asset owned at the opening date is neither paid nor from a deposit", field="opening"
        )
    _usd(cost, "cost", positive=True)
    _usd(deposit_applied, "deposit_applied")
    if deposit_applied > cost:
        raise AssetRefused("deposit_applied is more than the cost", field="deposit_applied")
    klass = (
        asset_class
        if isinstance(asset_class, AssetClass)
        else AssetClass.objects.filter(code=asset_class).first()
    )
    if klass is None:
        raise AssetRefused(f"no asset class {asset_class!r}", field="asset_class")
    if units < 1:
        raise AssetRefused("units must be at least 1", field="units")
    with transaction.atomic():
        if FixedAsset.objects.filter(code=code).exists():
            raise AssetRefused(f"asset {code} already exists", field="code")
        deposit_obj = None
        if deposit is not None:
            deposit_obj = (
                deposit
                if isinstance(deposit, VendorDeposit)
                else VendorDeposit.objects.filter(reference=deposit).first()
            )
            if deposit_obj is None:
                raise AssetRefused(f"no deposit {deposit!r}", field="deposit")
            deposit_obj = VendorDeposit.objects.select_for_update().get(pk=deposit_obj.pk)
            left = deposit_left(deposit_obj)
            if deposit_applied > left:
                raise AssetRefused(
                    f"deposit {deposit_obj.reference} has {left} left, not {deposit_applied}",
                    field="deposit_applied",
                )
        elif deposit_applied:
            raise AssetRefused("deposit_applied needs a deposit", field="deposit")
        rest = cost - deposit_applied
        credit = chart.VENDOR_PAYABLES
        if opening:
            credit = chart.OPENING_EQUITY
        elif paid:
            credit = chart.CASH
        entry = _post(
            on=received_on,
            memo=("Owned at the opening date" if opening else "Received")
            + f" {code}: {units} x {description or klass.name}"
            + (f" from {vendor}" if vendor else ""),
            postings=[
                (klass.cost_account, cost),
                (chart.VENDOR_DEPOSITS, -deposit_applied),
                (credit, -rest),
            ],
            kind=RECEIPT_KIND,
            key=f"{RECEIPT_KIND}:{code}",
            by=by,
        )
        asset = FixedAsset(
            code=code,
            asset_class=klass,
            description=description,
            vendor=vendor,
            units=units,
            hashrate_ths=hashrate_ths,
            power_kw=power_kw,
            cost=cost,
            received_on=received_on,
            deposit=deposit_obj,
            deposit_applied=deposit_applied,
            paid=paid,
            receipt_entry=entry,
            created_by=_user(by),
        )
        asset.full_clean(exclude=["receipt_entry", "asset_class", "deposit", "created_by"])
        asset.save()
        return asset


def _attempt(asset: FixedAsset, month: date | None = None) -> int:
    """How many of the asset's events (of `month`, if given) were recorded before: a
    document posted again after its cancellation gets a key of its own."""
    events = AssetEvent.objects.filter(asset=asset)
    return (events.filter(month=month) if month is not None else events).count()


def _locked(asset: FixedAsset | str) -> FixedAsset:
    code = asset.code if isinstance(asset, FixedAsset) else asset
    found = (
        standing_assets()
        .select_for_update(of=("self",))
        .select_related("asset_class", "site")
        .filter(code=code)
        .first()
    )
    if found is None:
        raise AssetRefused(f"no asset {code!r}", field="asset")
    return found


def asset_place_in_service(
    *,
    asset: FixedAsset | str,
    site: Site | str,
    on: date,
    useful_life_months: int | None = None,
    salvage_value: Decimal = ZERO,
    by: Any = None,
) -> FixedAsset:
    """The asset starts work at a site on `on`; its life, the class's unless given."""
    _operator(by, "place an asset in service")
    _usd(salvage_value, "salvage_value")
    with transaction.atomic():
        locked = _locked(asset)
        site_obj = site if isinstance(site, Site) else Site.objects.filter(code=site).first()
        if site_obj is None:
            raise AssetRefused(f"no site {site!r}", field="site")
        if locked.in_service_on is not None:
            raise AssetRefused(
                f"asset {locked.code} is in service since {locked.in_service_on}", field="on"
            )
        if on < locked.received_on:
            raise AssetRefused(
                f"asset {locked.code} was received on {locked.received_on}", field="on"
            )
        life = useful_life_months or locked.asset_class.useful_life_months
        if not 1 <= life <= 600:
            raise AssetRefused("useful_life_months must be 1 to 600", field="useful_life_months")
        if salvage_value >= locked.cost:
            raise AssetRefused("salvage_value must be less than the cost", field="salvage_value")
        locked.site = site_obj
        locked.in_service_on = on
        locked.useful_life_months = life
        locked.salvage_value = salvage_value
        locked.save(update_fields=["site", "in_service_on", "useful_life_months", "salvage_value"])
        AssetEvent.objects.create(
            asset=locked,
            kind=AssetEventKind.IN_SERVICE,
            effective_date=on,
            useful_life_months=life,
            evidence=f"site {site_obj.code}",
            created_by=_user(by),
        )
        return locked


# --- depreciation ------------------------------------------------------------------------


def _depreciate(asset: FixedAsset, month: date, amount: Decimal, on: date, by: Any) -> AssetEvent:
    klass = asset.asset_class
    entry = _post(
        on=on,
        memo=f"Depreciation of {asset.code} for {month:%Y-%m}",
        postings=[
            (site_account(klass.expense_account, asset.site), amount),  # type: ignore[arg-type]
            (klass.accumulated_account, -amount),
        ],
        kind=DEPRECIATION_KIND,
        key=f"{DEPRECIATION_KIND}:{asset.pk}:{month:%Y-%m}:{_attempt(asset, month)}",
        by=by,
    )
    return AssetEvent.objects.create(
        asset=asset,
        kind=AssetEventKind.DEPRECIATION,
        effective_date=on,
        month=month,
        amount=amount,
        entry=entry,
        created_by=_user(by),
    )


def depreciation_run(*, through: date, by: Any = None) -> list[AssetEvent]:
    """Depreciate every asset in service for each whole month up to `through` not yet
    depreciated, each month's charge an entry at its end. Again: nothing twice."""
    posted = []
    with transaction.atomic():
        assets = (
            standing_assets()
            .filter(in_service_on__isnull=False, in_service_on__lte=through)
            .select_for_update(of=("self",))
            .select_related("asset_class", "site")
            .order_by("pk")
        )
        for asset in assets:
            state = asset_state(asset)
            month = (
                next_month(state.depreciated_through)
                if state.depreciated_through
                else asset.in_service_on.replace(day=1)  # type: ignore[union-attr]
            )
            while month_end(month) <= through and state.disposed_on is None:
                if state.life_end is None or month >= state.life_end:
                    break
                amount = depreciation_for(asset, state, month)
                if amount > 0:
                    posted.append(_depreciate(asset, month, amount, month_end(month), by))
                state = asset_state(asset)
                month = next_month(month)
    return posted


def _months_due_before(asset: FixedAsset, month: date) -> bool:
    """Whether a month before `month` in the asset's life is not depreciated yet."""
    state = asset_state(asset)
    if asset.in_service_on is None or state.life_end is None:
        return False
    first_due = (
        next_month(state.depreciated_through)
        if state.depreciated_through
        else asset.in_service_on.replace(day=1)
    )
    return first_due < month and first_due < state.life_end


def asset_change_life(
    *, asset: FixedAsset | str, from_month: date, useful_life_months: int, by: Any = None
) -> AssetEvent:
    """A new useful life (in months from the day in service) from `from_month` on: what is
    left to depreciate is spread over the life left. Months already depreciated stay."""
    _operator(by, "change a useful life")
    with transaction.atomic():
        locked = _locked(asset)
        if locked.in_service_on is None:
            raise AssetRefused(f"asset {locked.code} is not in service", field="asset")
        if from_month.day != 1:
            raise AssetRefused("from_month is the first day of a month", field="from_month")
        state = asset_state(locked)
        if state.disposed_on is not None:
            raise AssetRefused(f"asset {locked.code} is disposed of", field="asset")
        if state.depreciated_through is not None and from_month <= state.depreciated_through:
            raise AssetRefused(
                f"{state.depreciated_through:%Y-%m} is already depreciated: a new life applies "
                "from a later month",
                field="from_month",
            )
        if _months_due_before(locked, from_month):
            raise AssetRefused(
                f"depreciate {locked.code} through the month before {from_month:%Y-%m} first",
                field="from_month",
            )
        if (
            not 1 <= useful_life_months <= 600
            or add_months(locked.in_service_on, useful_life_months) <= from_month
        ):
            raise AssetRefused(
                f"a life of {useful_life_months} months would end before {from_month:%Y-%m}",
                field="useful_life_months",
            )
        return AssetEvent.objects.create(
            asset=locked,
            kind=AssetEventKind.LIFE_CHANGE,
            effective_date=from_month,
            month=from_month,
            useful_life_months=useful_life_months,
            created_by=_user(by),
        )


# --- impairment and disposal -------------------------------------------------------------


def asset_impair(
    *, asset: FixedAsset | str, on: date, fair_value: Decimal, evidence: str, by: Any
) -> AssetEvent:
    """An impairment at a month end (ASC 360), booked by a finance approver with its
    evidence: the asset written down to `fair_value`, its new cost basis, the accumulated
    depreciation closed out. The month must be depreciated first."""
    if not has_any_role(by, APPROVE_ROLES):
        raise Forbidden("only a finance approver books an impairment", field="by")
    if not isinstance(evidence, str) or not evidence.strip():
        raise AssetRefused("an impairment needs its evidence", field="evidence")
    _usd(fair_value, "fair_value")
    if on != month_end(on):
        raise AssetRefused("an impairment is booked at a month end", field="on")
    with transaction.atomic():
        locked = _locked(asset)
        state = asset_state(locked)
        if state.disposed_on is not None:
            raise AssetRefused(f"asset {locked.code} is disposed of", field="asset")
        if locked.in_service_on is None or locked.site is None:
            raise AssetRefused(f"asset {locked.code} is not in service", field="asset")
        if _months_due_before(locked, next_month(on.replace(day=1))):
            raise AssetRefused(f"depreciate {locked.code} through {on} first", field="on")
        if fair_value >= state.net_book_value:
            raise AssetRefused(
                f"the fair value must be below the net book value {state.net_book_value}",
                field="fair_value",
            )
        loss = state.net_book_value - fair_value
        klass = locked.asset_class
        entry = _post(
            on=on,
            memo=f"Impairment of {locked.code} to its fair value {fair_value}",
            postings=[
                (site_account(chart.IMPAIRMENT, locked.site), loss),
                (klass.accumulated_account, state.accumulated),
                (klass.cost_account, -(loss + state.accumulated)),
            ],
            kind=IMPAIRMENT_KIND,
            key=f"{IMPAIRMENT_KIND}:{locked.pk}:{on.isoformat()}:{_attempt(locked)}",
            by=by,
        )
        return AssetEvent.objects.create(
            asset=locked,
            kind=AssetEventKind.IMPAIRMENT,
            effective_date=on,
            amount=loss,
            accumulated=state.accumulated,
            carrying_value=fair_value,
            evidence=evidence.strip(),
            entry=entry,
            created_by=_user(by),
        )


def asset_dispose(
    *, asset: FixedAsset | str, on: date, proceeds: Decimal, by: Any = None
) -> AssetEvent:
    """Sold or scrapped on `on`: the month's depreciation up to the day before, then the
    asset leaves the books, the proceeds (cash) against its net book value."""
    _operator(by, "dispose of an asset")
    _usd(proceeds, "proceeds")
    with transaction.atomic():
        locked = _locked(asset)
        state = asset_state(locked)
        if state.disposed_on is not None:
            raise AssetRefused(
                f"asset {locked.code} was disposed of on {state.disposed_on}", field="asset"
            )
        if on < locked.received_on:
            raise AssetRefused(
                f"asset {locked.code} was received on {locked.received_on}", field="on"
            )
        month = on.replace(day=1)
        if _months_due_before(locked, month):
            raise AssetRefused(
                f"depreciate {locked.code} through the month before {month:%Y-%m} first",
                field="on",
            )
        if (
            state.depreciated_through is None or state.depreciated_through < month
        ) and locked.in_service_on is not None:
            amount = depreciation_for(locked, state, month, until=on)
            if amount > 0:
                _depreciate(locked, month, amount, on, by)
                state = asset_state(locked)
        klass = locked.asset_class
        gain = proceeds - state.net_book_value
        entry = _post(
            on=on,
            memo=f"Disposal of {locked.code} for {proceeds}",
            postings=[
                (chart.CASH, proceeds),
                (klass.accumulated_account, state.accumulated),
                (klass.cost_account, -state.basis),
                (chart.DISPOSAL_GAIN, -gain),
            ],
            kind=DISPOSAL_KIND,
            key=f"{DISPOSAL_KIND}:{locked.pk}:{_attempt(locked)}",
            by=by,
        )
        event = AssetEvent.objects.create(
            asset=locked,
            kind=AssetEventKind.DISPOSAL,
            effective_date=on,
            amount=gain,
            accumulated=state.accumulated,
            carrying_value=state.net_book_value,
            proceeds=proceeds,
            entry=entry,
            created_by=_user(by),
        )
        locked.disposed_on = on
        locked.save(update_fields=["disposed_on"])
        return event


# --- cancellation ------------------------------------------------------------------------


def _event_of(entry: JournalEntry) -> AssetEvent | None:
    return AssetEvent.objects.filter(entry=entry).select_related("asset").first()


def _describe(entry: JournalEntry) -> str:
    if entry.kind == DEPOSIT_KIND:
        deposit = VendorDeposit.objects.filter(entry=entry).first()
        return f"deposit {deposit.reference}" if deposit else f"deposit of entry #{entry.sequence}"
    if entry.kind == RECEIPT_KIND:
        asset = FixedAsset.objects.filter(receipt_entry=entry).first()
        return f"receipt of asset {asset.code}" if asset else f"receipt of entry #{entry.sequence}"
    event = _event_of(entry)
    if event is None:
        return f"asset event of entry #{entry.sequence}"
    return (
        f"{event.get_kind_display().lower()} of asset {event.asset.code} of {event.effective_date}"
    )


def _check(entry: JournalEntry, on: date) -> None:
    if entry.kind == DEPOSIT_KIND:
        used = standing_assets().filter(deposit__entry=entry, deposit_applied__gt=0).first()
        if used is not None:
            raise AssetRefused(
                f"the deposit is applied to asset {used.code}: cancel its receipt first",
                field="entry",
            )
        return
    if entry.kind == RECEIPT_KIND:
        asset = FixedAsset.objects.filter(receipt_entry=entry).first()
        if asset is not None and standing_events(asset).exists():
            raise AssetRefused(f"asset {asset.code} has events after its receipt", field="entry")
        return
    event = _event_of(entry)
    if event is None:
        return
    later = (
        standing_events(event.asset)
        .exclude(pk=event.pk)
        .exclude(entry__isnull=True)
        .filter(id__gt=event.pk)
        .first()
    )
    if later is not None:
        raise AssetRefused(
            f"the {later.get_kind_display().lower()} of asset {event.asset.code} of "
            f"{later.effective_date} comes after it: cancel that first",
            field="entry",
        )


def _undo(entry: JournalEntry, reversal: JournalEntry, on: date) -> None:
    if entry.kind == DISPOSAL_KIND:
        event = _event_of(entry)
        if event is not None:
            FixedAsset.objects.filter(pk=event.asset_id).update(disposed_on=None)


def register() -> None:
    """Tell the ledger how the fixed assets' documents are cancelled."""
    register_document(
        (DEPOSIT_KIND, RECEIPT_KIND, DEPRECIATION_KIND, IMPAIRMENT_KIND, DISPOSAL_KIND),
        DocumentType(_describe, _check, _undo),
    )
