"""Collateralized loans: draws, collateral pledged and released, daily interest, repayments,
and the loan-to-value ratio against its tiers.

Each loan has its own accounts: principal (under 2000 or 2010), interest payable (2100 or
2110), collateral pledged with control retained (under 1230, restricted units on the
balance sheet) and collateral whose control passed to the lender (under 1400, a receivable
carried at fair value, its adjustment in 1490). Every event posts its entry and is listed on
the loan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from holdings import chart
from holdings.errors import (
    HoldingsError,
    InsufficientLots,
    InvalidSetup,
    named_date,
)
from holdings.models import (
    DayCount,
    Loan,
    LoanEvent,
    LoanEventKind,
    LotOrigin,
    Wallet,
)
from holdings.quantities import check_positive_amount
from holdings.selectors.loans import (
    accruals_by_day,
    accrued_again,
    latest_accrual,
    owed_by_day,
)
from holdings.selectors.prices import price_for
from holdings.selectors.treasury import wallet_get
from holdings.services.loan_ltv import balances_changed, lock_loan
from holdings.services.loan_order import refuse_before_later_payment, refuse_under_accruals
from holdings.services.lots import (
    LotPlan,
    Take,
    disposals_record,
    lot_reliefs,
    lots_to_take,
    take_fifo,
)
from holdings.valuation import allocate, cents, share
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import Account, AccountType
from ledger.money import format_amount
from ledger.services import PostingInput

ZERO = Decimal(0)


RETAINED, TRANSFERRED = "retained", "transferred"


def loan_create(
    *,
    code: str,
    lender: str,
    principal_commodity: str,
    annual_rate: Decimal,
    day_count: str,
    start_date: date,
    maturity_date: date,
    warning_ltv: Decimal,
    margin_call_ltv: Decimal,
    liquidation_ltv: Decimal,
    cure_hours: int = 72,
    collateral_commodity: str = "BTC",
) -> Loan:
    if principal_commodity not in chart.LOANS_PAYABLE:
        raise InvalidSetup("a loan's principal is in USD or USDT", field="principal_commodity")
    if collateral_commodity not in chart.PLEDGED_ACCOUNTS:
        raise InvalidSetup(
            f"collateral is one of {', '.join(chart.PLEDGED_ACCOUNTS)} (a commodity with a "
            "price and collateral accounts in the chart)",
            field="collateral_commodity",
        )
    if day_count not in DayCount.values:
        raise InvalidSetup(f"day count is one of {', '.join(DayCount.values)}", field="day_count")
    if not warning_ltv < margin_call_ltv < liquidation_ltv or warning_ltv <= 0:
        raise InvalidSetup(
            "LTV tiers must rise: warning < margin call < liquidation", field="warning_ltv"
        )
    if maturity_date <= start_date:
        raise InvalidSetup("maturity must come after the start", field="maturity_date")
    if annual_rate < 0:
        raise InvalidSetup("the rate cannot be negative", field="annual_rate")
    with transaction.atomic():
        if Loan.objects.filter(code=code).exists():
            raise InvalidSetup(f"loan {code} already exists", field="code")

        def account(parent: str, name: str, kind: str, commodity: str, guarded: bool) -> Account:
            return ledger_services.account_create(
                code=f"{parent}-{code}",
                name=f"{name} ({lender}, {code})",
                type=kind,
                commodity=commodity,
                parent=parent,
                must_not_go_negative=guarded,
            )

        return Loan.objects.create(
            code=code,
            lender=lender,
            principal_commodity_id=principal_commodity,
            collateral_commodity_id=collateral_commodity,
            annual_rate=annual_rate,
            day_count=day_count,
            start_date=start_date,
            maturity_date=maturity_date,
            warning_ltv=warning_ltv,
            margin_call_ltv=margin_call_ltv,
            liquidation_ltv=liquidation_ltv,
            cure_hours=cure_hours,
            principal_account=account(
                chart.LOANS_PAYABLE[principal_commodity],
                "Loan payable",
                AccountType.LIABILITY,
                principal_commodity,
                False,
            ),
            interest_account=account(
                chart.INTEREST_PAYABLE[principal_commodity],
                "Interest payable",
                AccountType.LIABILITY,
                principal_commodity,
                False,
            ),
            pledged_account=account(
                chart.PLEDGED_ACCOUNTS[collateral_commodity],
                f"{collateral_commodity} pledged",
                AccountType.ASSET,
                collateral_commodity,
                True,
            ),
            lent_account=account(
                chart.COLLATERAL_RECEIVABLES[collateral_commodity],
                "Collateral receivable",
                AccountType.ASSET,
                collateral_commodity,
                True,
            ),
        )


def loan_draw(
    *,
    loan: Loan,
    amount: Decimal,
    on: date,
    to_wallet: Wallet | str | None = None,
    value: Decimal | None = None,
    created_by: Any = None,
) -> LoanEvent:
    """Principal received: Dr cash or the USDT wallet / Cr the loan payable. Collateral is
    pledged first: a draw against none stands at the liquidation tier."""
    _within_term(loan, on)
    check_positive_amount(amount, loan.principal_commodity, "amount")
    with named_date("on"), transaction.atomic():
        lock_loan(loan.pk)
        refuse_under_accruals(loan, on)
        target, usd = _principal_side(loan, amount, on, to_wallet, value)
        entry = ledger_services.entry_post(
            effective_date=on,
            memo=f"Loan {loan.code}: draw of {amount} {loan.principal_commodity_id}",
            postings=[
                PostingInput(target, amount, usd),
                PostingInput(loan.principal_account, -amount, -usd),
            ],
            kind="loan_draw",
            created_by=created_by,
        )
        if target.commodity_id != "USD":
            plan = LotPlan(dated_by="on")
            plan.open(
                entry_index=0,
                account=target,
                acquired_at=_start_of(on),
                effective_date=on,
                quantity=amount,
                cost=usd,
                origin=LotOrigin.BORROWED,
            )
            plan.write([entry])
        event = LoanEvent.objects.create(
            loan=loan,
            kind=LoanEventKind.DRAW,
            effective_date=on,
            amount=amount,
            entry=entry,
            created_by=created_by,
            details={"value": str(usd)},
        )
    balances_changed(loan, on)
    return event


def loan_pledge(
    *,
    loan: Loan,
    units: Decimal,
    from_wallet: Wallet | str,
    on: date,
    control: str = RETAINED,
    created_by: Any = None,
) -> LoanEvent:
    """Collateral to the lender (a top-up once principal is owed), lots moved first-in
    first-out. Control retained: the units stay on the balance sheet, restricted (1230 for
    BTC). Control transferred: they become a receivable (1400 for BTC), and their fair value
    adjustment moves from the commodity's (1290) to the receivable's (1490)."""
    if control not in (RETAINED, TRANSFERRED):
        raise InvalidSetup("control is retained or transferred", field="control")
    _within_term(loan, on)
    wallet = wallet_get(from_wallet)
    target = loan.pledged_account if control == RETAINED else loan.lent_account
    # Collateral added while principal is owed is a top-up (a margin call cured, say).
    owed = ledger_selectors.account_balance(account=loan.principal_account, as_of=on).quantity
    return _move_collateral(
        loan,
        units,
        wallet.account,
        target,
        on,
        LoanEventKind.PLEDGE,
        {"control": control, "wallet": wallet.code, "top_up": owed != 0},
        created_by,
    )


def loan_release(
    *,
    loan: Loan,
    units: Decimal,
    to_wallet: Wallet | str,
    on: date,
    control: str = RETAINED,
    created_by: Any = None,
) -> LoanEvent:
    """Collateral back from the lender into a wallet."""
    if control not in (RETAINED, TRANSFERRED):
        raise InvalidSetup("control is retained or transferred", field="control")
    wallet = wallet_get(to_wallet)
    source = loan.pledged_account if control == RETAINED else loan.lent_account
    return _move_collateral(
        loan,
        units,
        source,
        wallet.account,
        on,
        LoanEventKind.RELEASE,
        {"control": control, "wallet": wallet.code},
        created_by,
    )


def _move_collateral(
    loan: Loan,
    units: Decimal,
    source: Account,
    target: Account,
    on: date,
    kind: str,
    details: dict[str, Any],
    created_by: Any,
) -> LoanEvent:
    _within_term(loan, on)
    check_positive_amount(units, loan.collateral_commodity, "units")
    with named_date("on"), transaction.atomic():
        lock_loan(loan.pk)
        takes, short = _take(source, units, on)
        if short:
            raise InsufficientLots(
                f"{source.code} holds "
                f"{format_amount(units - short, loan.collateral_commodity.decimal_places)} "
                f"acquired by {on} and kept on every day "
                f"since, less than {units}",
                field="units",
            )
        cost = sum((t.cost for t in takes), Decimal("0.00"))
        adjustment = sum((t.adjustment for t in takes), Decimal("0.00"))
        postings = [PostingInput(target, units, cost), PostingInput(source, -units, -cost)]
        moved_to_receivable = target.pk == loan.lent_account_id
        moved_from_receivable = source.pk == loan.lent_account_id
        if adjustment and moved_to_receivable != moved_from_receivable:
            held = chart.FAIR_VALUE_ADJUSTMENT[loan.collateral_commodity_id]
            lent = chart.COLLATERAL_ADJUSTMENTS[loan.collateral_commodity_id]
            gaining = lent if moved_to_receivable else held
            losing = held if moved_to_receivable else lent
            postings += [
                PostingInput(gaining, adjustment, adjustment),
                PostingInput(losing, -adjustment, -adjustment),
            ]
        entry = ledger_services.entry_post(
            effective_date=on,
            memo=f"Loan {loan.code}: {kind} of {units} {loan.collateral_commodity_id} "
            f"({source.code} to {target.code})",
            postings=postings,
            kind=f"loan_{kind}",
            created_by=created_by,
        )
        plan = LotPlan(dated_by="on")
        plan.transfer(takes, to=target, entry_index=0, effective_date=on)
        plan.write([entry])
        event = LoanEvent.objects.create(
            loan=loan,
            kind=kind,
            effective_date=on,
            units=units,
            entry=entry,
            details=details,
            created_by=created_by,
        )
    balances_changed(loan, on)
    return event


def accrual_for(loan: Loan, outstanding: Decimal) -> Decimal:
    """A day's interest on `outstanding`, rounded half-even to the principal's scale."""
    basis = 360 if loan.day_count == DayCount.ACT_360 else 365
    places = Decimal(1).scaleb(-loan.principal_commodity.decimal_places)
    return (outstanding * loan.annual_rate / basis).quantize(places, rounding=ROUND_HALF_EVEN)


def loan_accrue(*, loan: Loan, on: date) -> LoanEvent:
    """A day's interest on the principal outstanding at the end of the day: Dr 5200 /
    Cr interest payable. Once per loan and day: a second call returns the first."""
    event, _created = loan_accrue_once(loan=loan, on=on)
    return event


def loan_accrue_once(*, loan: Loan, on: date) -> tuple[LoanEvent, bool]:
    """As loan_accrue, and whether this call accrued (False: the day was accrued already).
    The loan's row is locked first, so two accruals of one day run one after the other and
    the second finds the first."""
    _within_term(loan, on)
    with named_date("on"), transaction.atomic():
        lock_loan(loan.pk)
        done = latest_accrual(loan, on)
        outstanding = -ledger_selectors.account_balance(
            account=loan.principal_account, as_of=on
        ).quantity
        if done is not None and not accrued_again(done, outstanding):
            return done, False
        attempt = 1 if done is None else done.attempt + 1
        interest = accrual_for(loan, outstanding)
        entry = None
        value = Decimal("0.00")
        if interest:
            value = _usd_value(loan, interest, on)
            entry = ledger_services.entry_post(
                effective_date=on,
                memo=f"Loan {loan.code}: interest for {on} on {outstanding} at "
                f"{loan.annual_rate} ({loan.day_count})",
                postings=[
                    PostingInput(chart.INTEREST_EXPENSE, value, value),
                    PostingInput(loan.interest_account, -interest, -value),
                ],
                idempotency_key=f"loan-accrual:{loan.code}:{on.isoformat()}"
                + ("" if attempt == 1 else f":attempt-{attempt}"),
                kind="loan_interest",
            )
        accrued = LoanEvent.objects.create(
            loan=loan,
            kind=LoanEventKind.ACCRUAL,
            effective_date=on,
            amount=interest,
            entry=entry,
            details={"outstanding": str(outstanding), "value": str(value)},
            attempt=attempt,
        )
    return accrued, True


def loan_accrue_through(*, loan: Loan, through: date) -> list[LoanEvent]:
    """Every day from the start to `through` whose interest is not accrued as the loan owes
    it: never accrued, its accrual cancelled, or accrued at nothing on a principal that has
    changed since (a draw recorded late)."""
    last = min(through, loan.maturity_date)
    if last < loan.start_date:
        return []
    owed = owed_by_day(loan, loan.start_date, last)
    accrued = accruals_by_day(loan, loan.start_date, last)
    events = []
    day = loan.start_date
    while day <= last:
        done = accrued.get(day)
        if done is None or accrued_again(done, owed[day]):
            events.append(loan_accrue(loan=loan, on=day))
        day += timedelta(days=1)
    return events


def loan_repay(
    *,
    loan: Loan,
    amount: Decimal,
    on: date,
    from_wallet: Wallet | str | None = None,
    created_by: Any = None,
) -> LoanEvent:
    """Pay interest first, then principal; partial repayments are normal. USDT paid is
    relieved at cost; the difference to the liabilities' carrying value goes to 4100."""
    _within_term(loan, on)
    check_positive_amount(amount, loan.principal_commodity, "amount")
    with named_date("on"), transaction.atomic():
        lock_loan(loan.pk)
        refuse_under_accruals(loan, on)
        refuse_before_later_payment(loan, on)
        split = _interest_first(loan, amount, on, field="amount")
        to_interest, to_principal = split.to_interest, split.to_principal
        interest_value, principal_value = split.interest_value, split.principal_value
        plan = LotPlan(dated_by="on")
        if loan.principal_commodity_id == "USD":
            source = Account.objects.get(code=chart.CASH)
            paid_cost = amount
        else:
            wallet = wallet_get(from_wallet) if from_wallet else None
            if wallet is None or wallet.commodity_id != loan.principal_commodity_id:
                raise InvalidSetup(
                    f"repay from a {loan.principal_commodity_id} wallet", field="from_wallet"
                )
            source = wallet.account
            takes, short = _take(source, amount, on)
            if short:
                raise InsufficientLots(
                    f"wallet {wallet.code} holds less than {amount} on {on} and every day since",
                    field="amount",
                )
            paid_cost = sum((t.cost for t in takes), Decimal("0.00"))
            plan.dispose(takes, entry_index=0, on=on)
        difference = paid_cost - interest_value - principal_value
        postings = [
            PostingInput(loan.interest_account, to_interest, interest_value),
            PostingInput(loan.principal_account, to_principal, principal_value),
            PostingInput(source, -amount, -paid_cost),
            PostingInput(chart.FAIR_VALUE_GAIN, difference, difference),
        ]
        entry = ledger_services.entry_post(
            effective_date=on,
            memo=f"Loan {loan.code}: repayment of {amount} {loan.principal_commodity_id} "
            f"({to_interest} interest, {to_principal} principal)",
            postings=[p for p in postings if p.quantity or p.value],
            kind="loan_repayment",
            created_by=created_by,
        )
        plan.write([entry])
        event = LoanEvent.objects.create(
            loan=loan,
            kind=LoanEventKind.REPAYMENT,
            effective_date=on,
            amount=amount,
            entry=entry,
            created_by=created_by,
            details={"interest": str(to_interest), "principal": str(to_principal)},
        )
    balances_changed(loan, on)
    return event


def loan_liquidate(
    *,
    loan: Loan,
    units: Decimal,
    proceeds: Decimal,
    on: date,
    control: str = RETAINED,
    created_by: Any = None,
) -> LoanEvent:
    """The lender sells collateral and keeps the proceeds (in the loan's commodity) against
    what is owed, interest first: a disposal of the collateral lots relieved."""
    if control not in (RETAINED, TRANSFERRED):
        raise InvalidSetup("control is retained or transferred", field="control")
    _within_term(loan, on)
    check_positive_amount(units, loan.collateral_commodity, "units")
    check_positive_amount(proceeds, loan.principal_commodity, "proceeds")
    source = loan.pledged_account if control == RETAINED else loan.lent_account
    adjustment_account = (
        chart.FAIR_VALUE_ADJUSTMENT[loan.collateral_commodity_id]
        if control == RETAINED
        else chart.COLLATERAL_ADJUSTMENTS[loan.collateral_commodity_id]
    )
    with named_date("on"), transaction.atomic():
        lock_loan(loan.pk)
        refuse_under_accruals(loan, on)
        refuse_before_later_payment(loan, on)
        split = _interest_first(loan, proceeds, on, field="proceeds")
        to_interest, to_principal = split.to_interest, split.to_principal
        interest_value, principal_value = split.interest_value, split.principal_value
        takes, short = _take(source, units, on)
        if short:
            raise InsufficientLots(
                f"{source.code} holds less than {units} on {on} and every day since",
                field="units",
            )
        cost = sum((t.cost for t in takes), Decimal("0.00"))
        adjustment = sum((t.adjustment for t in takes), Decimal("0.00"))
        settled = interest_value + principal_value
        gain = settled - cost - adjustment
        postings = [
            PostingInput(loan.interest_account, to_interest, interest_value),
            PostingInput(loan.principal_account, to_principal, principal_value),
            PostingInput(source, -units, -cost),
            PostingInput(adjustment_account, -adjustment, -adjustment),
            PostingInput(chart.FAIR_VALUE_GAIN, -gain, -gain),
        ]
        entry = ledger_services.entry_post(
            effective_date=on,
            memo=f"Loan {loan.code}: {units} {loan.collateral_commodity_id} liquidated by "
            f"{loan.lender} for {proceeds} {loan.principal_commodity_id}",
            postings=[p for p in postings if p.quantity or p.value],
            kind="loan_liquidation",
            created_by=created_by,
        )
        plan = LotPlan(dated_by="on")
        plan.dispose(takes, entry_index=0, on=on)
        plan.write([entry])
        parts = allocate(settled, [t.quantity for t in takes])
        disposals_record(
            lot_reliefs(takes, parts, on=on), entry=entry, on=on, method=settings.LOT_RELIEF_METHOD
        )
        event = LoanEvent.objects.create(
            loan=loan,
            kind=LoanEventKind.LIQUIDATION,
            effective_date=on,
            amount=proceeds,
            units=units,
            entry=entry,
            created_by=created_by,
            details={
                "interest": str(to_interest),
                "principal": str(to_principal),
                "gain_on_carrying_value": str(gain),
            },
        )
    balances_changed(loan, on)
    return event


def loans_accrue(*, through: date) -> int:
    """Interest of every loan running by `through`, each day once."""
    return sum(
        len(loan_accrue_through(loan=loan, through=through))
        for loan in Loan.objects.filter(start_date__lte=through).select_related(
            "principal_commodity", "principal_account", "interest_account"
        )
    )


def _principal_side(
    loan: Loan, amount: Decimal, on: date, wallet: Wallet | str | None, value: Decimal | None
) -> tuple[Account, Decimal]:
    if loan.principal_commodity_id == "USD":
        return Account.objects.get(code=chart.CASH), amount
    target = wallet_get(wallet) if wallet else None
    if target is None or target.commodity_id != loan.principal_commodity_id:
        raise InvalidSetup(
            f"the draw arrives in a {loan.principal_commodity_id} wallet", field="to_wallet"
        )
    return target.account, value if value is not None else _usd_value(loan, amount, on)


def _usd_value(loan: Loan, amount: Decimal, on: date) -> Decimal:
    if loan.principal_commodity_id == "USD":
        return amount
    return cents(amount * price_for(base=loan.principal_commodity_id, on=on).price)


@dataclass(frozen=True)
class InterestFirst:
    """A payment to a loan split interest first, then principal, with the carrying value of
    the liabilities each part settles."""

    to_interest: Decimal
    to_principal: Decimal
    interest_value: Decimal
    principal_value: Decimal


def _interest_first(loan: Loan, amount: Decimal, on: date, *, field: str) -> InterestFirst:
    """Split `amount` paid on `on` interest first; more than the loan owes is refused."""
    interest = ledger_selectors.account_balance(account=loan.interest_account, as_of=on)
    principal = ledger_selectors.account_balance(account=loan.principal_account, as_of=on)
    owed_interest, owed_principal = -interest.quantity, -principal.quantity
    to_interest = min(amount, owed_interest)
    to_principal = amount - to_interest
    if to_principal > owed_principal:
        raise HoldingsError(
            f"{field} {amount} exceeds what loan {loan.code} owes on {on}: {owed_interest} "
            f"interest and {owed_principal} principal",
            field=field,
        )
    nothing = Decimal("0.00")
    return InterestFirst(
        to_interest=to_interest,
        to_principal=to_principal,
        interest_value=(
            share(-interest.value, to_interest, owed_interest) if to_interest else nothing
        ),
        principal_value=(
            share(-principal.value, to_principal, owed_principal) if to_principal else nothing
        ),
    )


def _take(account: Account, units: Decimal, on: date) -> tuple[list[Take], Decimal]:
    candidates = lots_to_take(account=account, on=on)
    return take_fifo(candidates.lots, units, available=candidates.available)


def _within_term(loan: Loan, on: date) -> None:
    """A loan's events fall within its term: from its start to its maturity."""
    if not isinstance(on, date) or not loan.start_date <= on <= loan.maturity_date:
        raise InvalidSetup(
            f"loan {loan.code} runs from {loan.start_date} to {loan.maturity_date}; an event "
            f"on {on} is outside it",
            field="on",
        )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
