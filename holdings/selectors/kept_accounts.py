"""The accounts the miner's subledgers keep, which a manual journal never posts to (the
ledger asks, through ledger.subledgers, when a journal is drafted, submitted and approved).

- every asset account in a commodity other than USD, and any account with lots: it equals
  its lots (invariant 9, holdings.selectors.lots.lot_differences);
- the fair value adjustments (1290-1292, 1490-1492, and their children): they equal the
  lots' adjustments;
- each loan's own accounts and the loans and interest payable under which they sit (2000,
  2010, 2100, 2110): they equal the loan's events;
- each asset class's cost and accumulated depreciation accounts (1600, 1610, 1690, 1695,
  and their children): they equal the fixed asset register
  (holdings.selectors.cost_integrity.fixed_assets);
- accrued site costs (2200), vendor deposits (1500) and HPC revenue (4200), with their
  children: they equal the cost documents (holdings.selectors.cost_integrity).

No side effects.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import F, Q

from holdings import chart
from holdings.models import AssetClass, Loan, Lot
from ledger.models import Account, AccountType
from ledger.money import FUNCTIONAL_CURRENCY
from ledger.selectors import TreePath

NOT_MANUAL = "not by a manual journal"
LOTS = (
    "its units and their cost move by pool imports and payouts, sales, transfers, loan events "
    f"and opening lots, {NOT_MANUAL}"
)
FAIR_VALUE = (
    "it moves by fair value remeasurements and by the sales, transfers and loan events that "
    f"carry the lots' adjustments, {NOT_MANUAL}"
)
FIXED_ASSETS = (
    f"it moves by fixed asset receipts, depreciation, impairments and disposals, {NOT_MANUAL}"
)
LOAN_ROLES = (
    ("principal_account", "principal payable", "draws, repayments and liquidations"),
    ("interest_account", "interest payable", "interest accruals, repayments and liquidations"),
    ("pledged_account", "pledged collateral (lots)", "pledges, releases and liquidations"),
    ("lent_account", "collateral receivable (lots)", "pledges, releases and liquidations"),
)
LOAN_TREES = {
    **{code: "loans payable" for code in chart.LOANS_PAYABLE.values()},
    **{code: "interest payable" for code in chart.INTEREST_PAYABLE.values()},
}
COST_TREES = {
    chart.ACCRUED_SITE_COSTS: (
        f"accrued site costs: it moves by month-end accruals and the invoices that reverse "
        f"them, {NOT_MANUAL}"
    ),
    chart.VENDOR_DEPOSITS: (
        f"vendor deposits: it moves by deposits paid and the fixed asset receipts that apply "
        f"them, {NOT_MANUAL}"
    ),
    chart.HPC_REVENUE: f"HPC revenue: it moves by the months' HPC revenue documents, {NOT_MANUAL}",
}
FAIR_VALUE_TREES = {
    **{code: f"{c} lots" for c, code in chart.FAIR_VALUE_ADJUSTMENT.items()},
    **{code: f"{c} collateral receivable" for c, code in chart.COLLATERAL_ADJUSTMENTS.items()},
}


def _fixed_asset_trees() -> dict[str, str]:
    """Each asset class's cost and accumulated depreciation account, by code, with what it
    is; the seed chart's own too, before any class names them."""
    trees = {
        chart.MACHINES_COST: "mining machines' cost",
        chart.HPC_EQUIPMENT_COST: "GPU and HPC equipment's cost",
        chart.MACHINES_DEPRECIATION: "mining machines' accumulated depreciation",
        chart.HPC_EQUIPMENT_DEPRECIATION: "GPU and HPC equipment's accumulated depreciation",
    }
    for code, cost, accumulated in AssetClass.objects.values_list(
        "code", "cost_account", "accumulated_account"
    ):
        trees[cost] = f"asset class {code}'s cost"
        trees[accumulated] = f"asset class {code}'s accumulated depreciation"
    return trees


def _under(line: list[str], trees: dict[str, str]) -> tuple[str, str] | None:
    """The nearest of `trees` at or above the account (its code and what it is)."""
    for code in line:
        if code in trees:
            return code, trees[code]
    return None


def subledger_accounts(account_ids: Collection[int]) -> dict[int, str]:
    """Of these accounts, each one a subledger keeps, with why and which documents post to
    it instead of a manual journal."""
    ids = set(account_ids)
    if not ids:
        return {}
    # Each account with its code, type, commodity and the codes up its tree, itself first.
    accounts = {
        pk: (code, kind, commodity, path[::-1])
        for pk, code, kind, commodity, path in Account.objects.filter(pk__in=ids)
        .annotate(path=TreePath(F("id")))
        .values_list("pk", "code", "type", "commodity_id", "path")
    }
    loans: dict[int, str] = {}
    roles = Q()
    for field, _what, _moves in LOAN_ROLES:
        roles |= Q(**{f"{field}_id__in": ids})
    for loan in Loan.objects.filter(roles):
        for field, what, moves in LOAN_ROLES:
            account_id = getattr(loan, f"{field}_id")
            if account_id in ids:
                loans[account_id] = (
                    f"is loan {loan.code}'s {what}: it moves by the loan's {moves}, {NOT_MANUAL}"
                )
    with_lots = set(Lot.objects.filter(account_id__in=ids).values_list("account_id", flat=True))
    fixed_assets = _fixed_asset_trees()
    kept: dict[int, str] = {}
    for pk, (code, kind, commodity, line) in accounts.items():
        reason: str | None = loans.get(pk)
        if reason is None and (found := _under(line, fixed_assets)) is not None:
            reason = f"is under {found[0]}, " if found[0] != code else "is "
            reason += f"{found[1]} account: {FIXED_ASSETS}"
        if reason is None and (found := _under(line, FAIR_VALUE_TREES)) is not None:
            reason = f"is under {found[0]}, " if found[0] != code else "is "
            reason += f"the fair value adjustment of {found[1]}: {FAIR_VALUE}"
        if reason is None and (found := _under(line, LOAN_TREES)) is not None:
            reason = f"is under {found[0]}, " if found[0] != code else "is "
            reason += (
                f"{found[1]}, kept in each loan's own accounts: it moves by loan draws, "
                f"interest accruals, repayments and liquidations, {NOT_MANUAL}"
            )
        if reason is None and (found := _under(line, COST_TREES)) is not None:
            reason = f"is under {found[0]}, " if found[0] != code else "is "
            reason += found[1]
        if reason is None and (
            (kind == AccountType.ASSET and commodity != FUNCTIONAL_CURRENCY) or pk in with_lots
        ):
            reason = f"holds lots: {LOTS}"
        if reason is not None:
            kept[pk] = f"account {code} {reason}"
    return kept
