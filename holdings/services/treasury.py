"""Sales and transfers: units leaving a wallet, with the lots they relieve.

A sale relieves lots first-in first-out (the company's election, `LOT_RELIEF_METHOD`) or the
lots named at the time of sale (specific identification), takes the relieved cost out of
the wallet and the relieved fair value adjustment out of 1290, books the proceeds (a lot at
cost when they are USDT) and the venue's fee, and the difference to carrying value in 4100.
Each lot relieved gets a disposal record: units, cost, carrying value, proceeds, the gain
against cost and the days held. `sale_preview` computes all of it without writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from holdings import chart
from holdings.errors import AlreadyRecorded, InsufficientLots, InvalidSetup, named_date
from holdings.models import (
    LotOrigin,
    ReliefMethod,
    Sale,
    Transfer,
    Wallet,
)
from holdings.quantities import check_positive_amount
from holdings.selectors.prices import price_for
from holdings.selectors.treasury import wallet_get
from holdings.services.lots import (
    Candidates,
    LotPlan,
    LotRelief,
    Take,
    disposals_record,
    lot_reliefs,
    lots_to_take,
    refuse_remeasured_days,
    saved_id,
    take_fifo,
)
from holdings.valuation import allocate, cents, share
from ledger import services as ledger_services
from ledger.models import Account, Commodity
from ledger.money import fits_scale, format_amount
from ledger.services import EntryInput, PostingInput

ZERO = Decimal(0)


@dataclass
class SalePlan:
    wallet: Wallet
    units: Decimal
    sold_at: datetime
    method: str
    proceeds_account: Account
    proceeds_commodity: str
    gross_proceeds: Decimal
    fee: Decimal
    proceeds_value: Decimal
    fee_value: Decimal
    reliefs: list[LotRelief]
    takes: list[Take] = field(repr=False, default_factory=list)

    @property
    def cost(self) -> Decimal:
        return sum((r.cost for r in self.reliefs), Decimal("0.00"))

    @property
    def adjustment(self) -> Decimal:
        return sum((r.adjustment for r in self.reliefs), Decimal("0.00"))

    @property
    def carrying_value(self) -> Decimal:
        return self.cost + self.adjustment

    @property
    def realized_gain(self) -> Decimal:
        """Proceeds less cost: the gain the ASC 350-60-50-4 disclosure reports."""
        return self.proceeds_value - self.cost

    @property
    def gain_on_carrying_value(self) -> Decimal:
        """Proceeds less carrying value: what this sale adds to 4100."""
        return self.proceeds_value - self.carrying_value

    @property
    def net_proceeds(self) -> Decimal:
        return self.gross_proceeds - self.fee


def sale_preview(
    *,
    wallet: Wallet | str,
    units: Decimal,
    sold_at: datetime,
    proceeds_commodity: str,
    gross_proceeds: Decimal,
    fee: Decimal = ZERO,
    proceeds_value: Decimal | None = None,
    proceeds_wallet: Wallet | str | None = None,
    lots: Sequence[tuple[int, Decimal]] | None = None,
    reference: str | None = None,
) -> SalePlan:
    """The lots a sale would relieve and its figures, without writing anything; refused as
    recording it would be (its reference already recorded, a closed period, a guarded
    account...)."""
    reference = (reference or "").strip()
    if reference:
        _refuse_recorded(reference)
    with named_date("sold_at"), transaction.atomic():
        plan = _plan_sale(
            wallet=wallet,
            units=units,
            sold_at=sold_at,
            proceeds_commodity=proceeds_commodity,
            gross_proceeds=gross_proceeds,
            fee=fee,
            proceeds_value=proceeds_value,
            proceeds_wallet=proceeds_wallet,
            lots=lots,
            lock=False,
        )
        ledger_services.entries_check(entries=[_sale_entry(plan, reference or "(preview)")])
        transaction.set_rollback(True)
    return plan


def sale_record(
    *,
    reference: str,
    wallet: Wallet | str,
    units: Decimal,
    sold_at: datetime,
    proceeds_commodity: str,
    gross_proceeds: Decimal,
    fee: Decimal = ZERO,
    proceeds_value: Decimal | None = None,
    proceeds_wallet: Wallet | str | None = None,
    lots: Sequence[tuple[int, Decimal]] | None = None,
    created_by: Any = None,
) -> Sale:
    """Post a sale. The wallet's lots are locked first, so two sales of the same lots run one
    after the other and no unit is relieved twice."""
    reference = (reference or "").strip()
    if not reference:
        raise InvalidSetup("a sale needs the trade's reference", field="reference")
    with named_date("sold_at"), transaction.atomic():
        _refuse_recorded(reference)
        plan = _plan_sale(
            wallet=wallet,
            units=units,
            sold_at=sold_at,
            proceeds_commodity=proceeds_commodity,
            gross_proceeds=gross_proceeds,
            fee=fee,
            proceeds_value=proceeds_value,
            proceeds_wallet=proceeds_wallet,
            lots=lots,
            lock=True,
        )
        (entry,) = ledger_services.entries_post(
            entries=[_sale_entry(plan, reference)], created_by=created_by
        )
        lot_plan = LotPlan(dated_by="sold_at")
        lot_plan.dispose(plan.takes, entry_index=0, on=sold_at.date())
        if plan.proceeds_account.commodity_id != "USD":
            lot_plan.open(
                entry_index=0,
                account=plan.proceeds_account,
                acquired_at=sold_at,
                effective_date=sold_at.date(),
                quantity=plan.net_proceeds,
                cost=plan.proceeds_value - plan.fee_value,
                origin=LotOrigin.PROCEEDS,
            )
        lot_plan.write([entry])
        try:
            sale = Sale.objects.create(
                reference=reference,
                wallet=plan.wallet,
                commodity_id=plan.wallet.commodity_id,
                units=plan.units,
                sold_at=sold_at,
                proceeds_account=plan.proceeds_account,
                proceeds_commodity_id=plan.proceeds_commodity,
                gross_proceeds=plan.gross_proceeds,
                fee=plan.fee,
                proceeds_value=plan.proceeds_value,
                fee_value=plan.fee_value,
                method=plan.method,
                cost=plan.cost,
                carrying_value=plan.carrying_value,
                realized_gain=plan.realized_gain,
                gain_on_carrying_value=plan.gain_on_carrying_value,
                entry=entry,
                created_by=created_by,
            )
        except IntegrityError:
            raise AlreadyRecorded(
                f"sale {reference} is already recorded", field="reference"
            ) from None
        disposals_record(
            plan.reliefs, entry=entry, on=sold_at.date(), method=plan.method, sale=sale
        )
    return sale


def _plan_sale(
    *,
    wallet: Wallet | str,
    units: Decimal,
    sold_at: datetime,
    proceeds_commodity: str,
    gross_proceeds: Decimal,
    fee: Decimal,
    proceeds_value: Decimal | None,
    proceeds_wallet: Wallet | str | None,
    lots: Sequence[tuple[int, Decimal]] | None,
    lock: bool,
) -> SalePlan:
    source = wallet_get(wallet, field="wallet")
    commodity = source.commodity
    check_positive_amount(units, commodity, "units")
    if sold_at.tzinfo is None or sold_at.utcoffset() != timedelta(0):
        raise InvalidSetup("sold_at must be an aware UTC timestamp", field="sold_at")
    proceeds = Commodity.objects.filter(code=proceeds_commodity).first()
    if proceeds is None or proceeds.code not in ("USD", "USDT"):
        raise InvalidSetup("proceeds are in USD or USDT", field="proceeds_commodity")
    check_positive_amount(gross_proceeds, proceeds, "gross_proceeds")
    if fee < 0 or fee >= gross_proceeds or not fits_scale(fee, proceeds.decimal_places):
        raise InvalidSetup(
            f"fee must be zero or more, below the gross proceeds, with at most "
            f"{proceeds.decimal_places} decimals",
            field="fee",
        )
    if proceeds.code == "USD":
        account = Account.objects.get(code=chart.CASH)
        value = gross_proceeds
    else:
        if proceeds_wallet is None:
            raise InvalidSetup(
                "USDT proceeds need the wallet they arrive in", field="proceeds_wallet"
            )
        target = wallet_get(proceeds_wallet, field="proceeds_wallet")
        if target.commodity_id != proceeds.code:
            raise InvalidSetup(
                f"wallet {target.code} holds {target.commodity_id}, not {proceeds.code}",
                field="proceeds_wallet",
            )
        account = target.account
        value = (
            proceeds_value
            if proceeds_value is not None
            else cents(gross_proceeds * price_for(base=proceeds.code, on=sold_at.date()).price)
        )
    if value <= 0 or not fits_scale(value, 2):
        raise InvalidSetup(
            "the proceeds' USD value must be positive, in cents", field="proceeds_value"
        )
    fee_value = share(value, fee, gross_proceeds) if fee else Decimal("0.00")
    # Refused on a remeasured day before any lot is read, so a preview says what the sale
    # itself would.
    moved = {commodity.code: sold_at.date()}
    if proceeds.code != "USD":
        moved[proceeds.code] = sold_at.date()
    refuse_remeasured_days(moved, field="sold_at")

    candidates = lots_to_take(
        account=source.account, on=sold_at.date(), acquired_by=sold_at, lock=lock
    )
    if lots:
        method = ReliefMethod.SPECIFIC
        takes = _take_named(candidates, lots, units, source)
    else:
        method = settings.LOT_RELIEF_METHOD
        takes, short = take_fifo(
            candidates.lots, units, acquired_by=sold_at, available=candidates.available
        )
        if short:
            held = units - short
            raise InsufficientLots(
                f"wallet {source.code} held {format_amount(held, commodity.decimal_places)} "
                f"{commodity.code} acquired by "
                f"{sold_at:%Y-%m-%dT%H:%M:%SZ}; the sale is for {units}",
                field="units",
            )
    parts = allocate(value, [take.quantity for take in takes])
    reliefs = lot_reliefs(takes, parts, on=sold_at.date())
    return SalePlan(
        wallet=source,
        units=units,
        sold_at=sold_at,
        method=method,
        proceeds_account=account,
        proceeds_commodity=proceeds.code,
        gross_proceeds=gross_proceeds,
        fee=fee,
        proceeds_value=value,
        fee_value=fee_value,
        reliefs=reliefs,
        takes=takes,
    )


def _take_named(
    candidates: Candidates, named: Sequence[tuple[int, Decimal]], units: Decimal, wallet: Wallet
) -> list[Take]:
    by_id = {lot.pk: lot for lot in candidates.lots}
    takes = []
    for n, (lot_id, quantity) in enumerate(named):
        lot = by_id.get(lot_id)
        if lot is None:
            raise InsufficientLots(
                f"lot {lot_id} is not an open lot of wallet {wallet.code} acquired by the "
                "sale's time",
                field=f"lots[{n}].lot",
            )
        held = candidates.available[lot_id]
        if quantity <= 0 or quantity > held:
            raise InsufficientLots(
                f"lot {lot_id} can give {held} on the sale's day and every day after; "
                f"{quantity} cannot be taken from it",
                field=f"lots[{n}].units",
            )
        takes.append(
            Take(
                lot=lot,
                quantity=quantity,
                cost=share(lot.cost, quantity, lot.quantity),
                adjustment=share(lot.fair_value_adjustment, quantity, lot.quantity),
            )
        )
    if len({lot_id for lot_id, _ in named}) != len(named):
        raise InvalidSetup("a lot is named twice", field="lots")
    total = sum((take.quantity for take in takes), ZERO)
    if total != units:
        raise InvalidSetup(f"the named lots add up to {total}, not {units}", field="lots")
    return takes


def _refuse_recorded(reference: str) -> None:
    if Sale.objects.filter(reference=reference).exists():
        raise AlreadyRecorded(f"sale {reference} is already recorded", field="reference")


def _sale_entry(plan: SalePlan, reference: str) -> EntryInput:
    return EntryInput(
        effective_date=plan.sold_at.date(),
        memo=f"Sale {reference}: {plan.units} {plan.wallet.commodity_id} from "
        f"{plan.wallet.code} for {plan.gross_proceeds} {plan.proceeds_commodity} "
        f"({plan.method})",
        postings=_sale_postings(plan),
        idempotency_key=f"sale:{reference}",
        kind="sale",
    )


def _sale_postings(plan: SalePlan) -> list[PostingInput]:
    net_value = plan.proceeds_value - plan.fee_value
    lines = [PostingInput(plan.wallet.account, -plan.units, -plan.cost)]
    if plan.adjustment:  # none for USDT, carried at cost
        adjustment_account = chart.FAIR_VALUE_ADJUSTMENT[plan.wallet.commodity_id]
        lines.append(PostingInput(adjustment_account, -plan.adjustment, -plan.adjustment))
    lines += [
        PostingInput(plan.proceeds_account, plan.net_proceeds, net_value),
        PostingInput(chart.TRADING_FEES, plan.fee_value, plan.fee_value),
        PostingInput(
            chart.FAIR_VALUE_GAIN, -plan.gain_on_carrying_value, -plan.gain_on_carrying_value
        ),
    ]
    return [line for line in lines if line.quantity or line.value]


# --- transfers ---------------------------------------------------------------------------


def _fee_units_account(wallet: Wallet) -> Account:
    code = chart.NETWORK_FEE_UNITS.get(wallet.commodity_id)
    account = Account.objects.filter(code=code, commodity_id=wallet.commodity_id).first()
    if account is None:
        raise InvalidSetup(
            f"the network fee is worth less than a cent and needs the account for "
            f"{wallet.commodity_id} fee units ({code or 'none in the chart'}): load the chart "
            "of accounts again (manage.py load_chart) to add it",
            field="fee_units",
        )
    return account


def transfer_record(
    *,
    txid: str,
    from_wallet: Wallet | str,
    to_wallet: Wallet | str,
    units: Decimal,
    sent_at: datetime,
    fee_units: Decimal = ZERO,
    created_by: Any = None,
) -> Transfer:
    """Move units between the company's wallets; lots move first-in first-out keeping their
    acquisition date and cost. The network fee is a disposal of units: its carrying value
    goes to 5100 Network fees."""
    source = wallet_get(from_wallet, field="from_wallet")
    target = wallet_get(to_wallet, field="to_wallet")
    if source.pk == target.pk:
        raise InvalidSetup("a transfer needs two different wallets", field="to_wallet")
    if source.commodity_id != target.commodity_id:
        raise InvalidSetup(
            f"{source.code} holds {source.commodity_id} and {target.code} {target.commodity_id}",
            field="to_wallet",
        )
    check_positive_amount(units, source.commodity, "units")
    if fee_units < 0 or not fits_scale(fee_units, source.commodity.decimal_places):
        raise InvalidSetup(
            "fee_units must be zero or more, in the commodity's scale", field="fee_units"
        )
    if sent_at.tzinfo is None or sent_at.utcoffset() != timedelta(0):
        raise InvalidSetup("sent_at must be an aware UTC timestamp", field="sent_at")
    with named_date("sent_at"), transaction.atomic():
        if Transfer.objects.filter(txid=txid).exists():
            raise AlreadyRecorded(f"transfer {txid} is already recorded", field="txid")
        candidates = lots_to_take(account=source.account, on=sent_at.date(), acquired_by=sent_at)
        plan = LotPlan(dated_by="sent_at")
        spent: list[Take] = []
        moved, short = take_fifo(
            candidates.lots, units, acquired_by=sent_at, available=candidates.available
        )
        if not short:
            for take in moved:
                candidates.available[saved_id(take)] -= take.quantity
            plan.transfer(moved, to=target.account, entry_index=0, effective_date=sent_at.date())
            spent, short = take_fifo(
                candidates.lots, fee_units, acquired_by=sent_at, available=candidates.available
            )
        if short:
            raise InsufficientLots(
                f"wallet {source.code} holds less than {units + fee_units} "
                f"{source.commodity_id} (transfer and fee) acquired by "
                f"{sent_at:%Y-%m-%dT%H:%M:%SZ}",
                field="units",
            )
        moved_cost = sum((take.cost for take in moved), Decimal("0.00"))
        fee_cost = sum((take.cost for take in spent), Decimal("0.00"))
        fee_adjustment = sum((take.adjustment for take in spent), Decimal("0.00"))
        lines = [
            PostingInput(target.account, units, moved_cost),
            PostingInput(source.account, -(units + fee_units), -(moved_cost + fee_cost)),
            PostingInput(chart.NETWORK_FEES, fee_cost + fee_adjustment, fee_cost + fee_adjustment),
        ]
        if fee_adjustment:
            adjustment_account = chart.FAIR_VALUE_ADJUSTMENT[source.commodity_id]
            lines.append(PostingInput(adjustment_account, -fee_adjustment, -fee_adjustment))
        if fee_units and not fee_cost + fee_adjustment:
            # A fee worth less than a cent: 5100 (USD) takes nothing, yet the units leave the
            # wallet and their lots are relieved, so they go to the commodity's fee account.
            lines.append(PostingInput(_fee_units_account(source), fee_units, Decimal("0.00")))
        entry = ledger_services.entry_post(
            effective_date=sent_at.date(),
            memo=f"Transfer {units:f} {source.commodity_id} from {source.code} to "
            f"{target.code}, fee {fee_units:f} (tx {txid})",
            postings=[line for line in lines if line.quantity or line.value],
            idempotency_key=f"transfer:{txid}",
            kind="wallet_transfer",
            created_by=created_by,
        )
        plan.dispose(spent, entry_index=0, on=sent_at.date())
        plan.write([entry])
        record = Transfer.objects.create(
            txid=txid,
            from_wallet=source,
            to_wallet=target,
            units=units,
            fee_units=fee_units,
            sent_at=sent_at,
            entry=entry,
            created_by=created_by,
        )
        # The fee is a disposal for nothing: its lots are relieved with no proceeds.
        disposals_record(
            lot_reliefs(spent, [Decimal("0.00")] * len(spent), on=sent_at.date()),
            entry=entry,
            on=sent_at.date(),
            method=ReliefMethod.FIFO,
            transfer=record,
        )
    return record
