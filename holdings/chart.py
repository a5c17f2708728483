"""Accounts of the seed chart (fixtures/chart_of_accounts.csv) that miners' events post to."""

from __future__ import annotations

OPENING_EQUITY = "3000"
MINING_REVENUE = "4000"
FAIR_VALUE_GAIN = "4100"
NETWORK_FEES = "5100"
# A network fee whose carrying value rounds to 0.00 USD leaves the wallet all the same: its
# units go here, per commodity, at no value (5100 is in USD and takes only what is worth a
# cent or more).
NETWORK_FEE_UNITS = {"BTC": "5110", "KAS": "5111", "ETC": "5112", "USDT": "5113"}
TRADING_FEES = "5300"
CASH = "1000"
USDT_WALLETS = "1110"

# Parents of the per-pool-account receivables and of the fair value adjustment, per commodity.
POOL_RECEIVABLES = {"BTC": "1300", "KAS": "1310", "ETC": "1320"}
FAIR_VALUE_ADJUSTMENT = {"BTC": "1290", "KAS": "1291", "ETC": "1292"}
WALLET_PARENTS = {
    "BTC": ("1210", "1220", "1230"),
    "KAS": ("1250",),
    "ETC": ("1260",),
    "USDT": ("1110",),
}

# Collateral whose control passed to the lender: a receivable, with its own adjustment.
COLLATERAL_RECEIVABLE = "1400"
COLLATERAL_ADJUSTMENT = "1490"
PLEDGED = "1230"
# The same accounts by the collateral's commodity: a loan's collateral may be any commodity
# listed here (one with a price, measured at fair value).
PLEDGED_ACCOUNTS = {"BTC": PLEDGED, "KAS": "1231", "ETC": "1232"}
COLLATERAL_RECEIVABLES = {"BTC": COLLATERAL_RECEIVABLE, "KAS": "1401", "ETC": "1402"}
COLLATERAL_ADJUSTMENTS = {"BTC": COLLATERAL_ADJUSTMENT, "KAS": "1491", "ETC": "1492"}
INTEREST_EXPENSE = "5200"
LOANS_PAYABLE = {"USD": "2000", "USDT": "2010"}
INTEREST_PAYABLE = {"USD": "2100", "USDT": "2110"}

# Units on the balance sheet but not free to use: pledged (1230...) or lent out (1400...).
RESTRICTED_ROOTS = (*PLEDGED_ACCOUNTS.values(), *COLLATERAL_RECEIVABLES.values())

# Cost of production: each site's costs sit in a child of these accounts, `<parent>-<site>`.
POWER_COST = "5000"
POWER_CREDITS = "5010"
HOSTING_COST = "5020"
OTHER_SITE_COST = "5030"
ACCRUED_SITE_COSTS = "2200"
VENDOR_PAYABLES = "2210"
VENDOR_DEPOSITS = "1500"
COST_OF_REVENUE = (POWER_COST, POWER_CREDITS, HOSTING_COST, OTHER_SITE_COST)
HPC_REVENUE = "4200"
HPC_RECEIVABLES = "1350"
DISPOSAL_GAIN = "4300"
IMPAIRMENT = "5500"
# Fixed assets by class: cost, accumulated depreciation (a contra asset), depreciation.
MACHINES_COST = "1600"
MACHINES_DEPRECIATION = "1690"
MACHINES_DEPRECIATION_EXPENSE = "5400"
HPC_EQUIPMENT_COST = "1610"
HPC_EQUIPMENT_DEPRECIATION = "1695"
HPC_EQUIPMENT_DEPRECIATION_EXPENSE = "5410"
DEPRECIATION_EXPENSES = (MACHINES_DEPRECIATION_EXPENSE, HPC_EQUIPMENT_DEPRECIATION_EXPENSE)
