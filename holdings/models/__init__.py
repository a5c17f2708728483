"""The miner's world: sites, pools, pool sub-accounts, wallets, prices, production, lots,
the treasury's documents, loans and reconciliation, one module per domain.

Everything here that moves value posts through ledger.services; these tables keep what the
ledger cannot: where BTC came from, the raw records the pools sent, the prices used, and
the lots (acquisition date and cost) that the ledger's balances are made of.
"""

from __future__ import annotations

from holdings.models.close import (
    PeriodCloseReview,
)
from holdings.models.costs import (
    CostFileKind,
    CostKind,
    CostOrigin,
    CostStatus,
    HostingBasis,
    MeterReading,
    SiteCost,
    SiteCostFile,
)
from holdings.models.fair_value import (
    Remeasurement,
)
from holdings.models.fields import (
    CODE_VALIDATOR,
)
from holdings.models.fixed_assets import (
    AssetClass,
    AssetEvent,
    AssetEventKind,
    FixedAsset,
    VendorDeposit,
)
from holdings.models.hpc import (
    HpcContract,
    HpcRevenue,
)
from holdings.models.loans import (
    DayCount,
    Loan,
    LoanEvent,
    LoanEventKind,
)
from holdings.models.lots import (
    DisposalTotal,
    Lot,
    LotMovement,
    LotMovementDaily,
    LotMovementKind,
    LotOpenSpan,
    LotOrigin,
)
from holdings.models.prices import (
    Price,
)
from holdings.models.production import (
    BatchStatus,
    ImportBatch,
    Payout,
    ProductionMonthTotal,
    ProductionRecord,
)
from holdings.models.reconciliation import (
    BREAK_STATUSES,
    UNCHECKED_STATUSES,
    BalanceStatementLine,
    ItemStatus,
    LoanStatementLine,
    ReconciliationItem,
    ReconciliationKind,
    ReconciliationRun,
    ReconciliationStatus,
    Statement,
    StatementKind,
    StatementUpload,
)
from holdings.models.requests import (
    RequestKey,
)
from holdings.models.setup import (
    ImportSource,
    Pool,
    PoolAccount,
    PoolKind,
    Site,
    Wallet,
    WalletAddress,
)
from holdings.models.treasury import (
    Disposal,
    ReliefMethod,
    Sale,
    Transfer,
)

__all__ = [
    "BREAK_STATUSES",
    "CODE_VALIDATOR",
    "UNCHECKED_STATUSES",
    "AssetClass",
    "AssetEvent",
    "AssetEventKind",
    "BalanceStatementLine",
    "BatchStatus",
    "CostFileKind",
    "CostKind",
    "CostOrigin",
    "CostStatus",
    "DayCount",
    "Disposal",
    "DisposalTotal",
    "FixedAsset",
    "HostingBasis",
    "HpcContract",
    "HpcRevenue",
    "ImportBatch",
    "ImportSource",
    "ItemStatus",
    "Loan",
    "LoanEvent",
    "LoanEventKind",
    "LoanStatementLine",
    "Lot",
    "LotMovement",
    "LotMovementDaily",
    "LotMovementKind",
    "LotOpenSpan",
    "LotOrigin",
    "MeterReading",
    "Payout",
    "PeriodCloseReview",
    "Pool",
    "PoolAccount",
    "PoolKind",
    "Price",
    "ProductionMonthTotal",
    "ProductionRecord",
    "ReconciliationItem",
    "ReconciliationKind",
    "ReconciliationRun",
    "ReconciliationStatus",
    "ReliefMethod",
    "Remeasurement",
    "RequestKey",
    "Sale",
    "Site",
    "SiteCost",
    "SiteCostFile",
    "Statement",
    "StatementKind",
    "StatementUpload",
    "Transfer",
    "VendorDeposit",
    "Wallet",
    "WalletAddress",
]
