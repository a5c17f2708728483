"""Routes of the holdings API, included by ledger.api.urls under the same `api/v1/` prefix."""

from django.urls import path

from holdings.api.exports import BeancountExportView
from holdings.api.views import (
    costs,
    fixed_assets,
    hpc,
    loans,
    lots,
    prices,
    production,
    reconciliation,
    reports,
    setup,
    setup_file,
    treasury,
)

urlpatterns = [
    path("imports/", production.ImportBatchListCreate.as_view(), name="import-list"),
    path("imports/<int:pk>/", production.ImportBatchDetail.as_view(), name="import-detail"),
    path("prices/", prices.PriceList.as_view(), name="price-list"),
    path("lots/", lots.LotList.as_view(), name="lot-list"),
    path("exports/beancount/", BeancountExportView.as_view(), name="beancount-export"),
    path("production/", production.ProductionRecordList.as_view(), name="production-list"),
    path("payouts/", production.PayoutList.as_view(), name="payout-list"),
    path("remeasurements/", prices.RemeasurementList.as_view(), name="remeasurement-list"),
    path("reports/production/", reports.ProductionReportView.as_view(), name="production-report"),
    path("pool-accounts/", setup.PoolAccountList.as_view(), name="pool-account-list"),
    path("wallets/", setup.WalletList.as_view(), name="wallet-list"),
    path(
        "wallets/<str:code>/addresses/",
        setup.WalletAddressCreate.as_view(),
        name="wallet-address-create",
    ),
    path("pools/", setup.PoolList.as_view(), name="pool-list"),
    path("setup/", setup_file.SetupFileLoad.as_view(), name="setup-load"),
    path("sites/", setup.SiteList.as_view(), name="site-list"),
    path("sales/", treasury.SaleListCreate.as_view(), name="sale-list"),
    path("sales/preview/", treasury.SalePreview.as_view(), name="sale-preview"),
    path("sales/<int:pk>/", treasury.SaleDetail.as_view(), name="sale-detail"),
    path("transfers/", treasury.TransferListCreate.as_view(), name="transfer-list"),
    path(
        "reports/realized-gains/",
        reports.RealizedGainsReportView.as_view(),
        name="realized-gains-report",
    ),
    path(
        "reports/realized-gains-by-commodity/",
        reports.GainsByCommodityView.as_view(),
        name="realized-gains-by-commodity",
    ),
    path("reports/rollforward/", reports.RollforwardView.as_view(), name="rollforward"),
    path(
        "reports/rollforward-by-commodity/",
        reports.RollforwardByCommodityView.as_view(),
        name="rollforward-by-commodity",
    ),
    path(
        "reports/price-evidence/",
        reports.PriceEvidenceView.as_view(),
        name="price-evidence",
    ),
    path("reports/loan-schedule/", reports.LoanScheduleView.as_view(), name="loan-schedule"),
    path("loans/", loans.LoanList.as_view(), name="loan-list"),
    path("loans/<str:code>/", loans.LoanDetail.as_view(), name="loan-detail"),
    path("loans/<str:code>/events/", loans.LoanEventList.as_view(), name="loan-event-list"),
    path("loans/<str:code>/draws/", loans.LoanDrawCreate.as_view(), name="loan-draw-create"),
    path("loans/<str:code>/pledges/", loans.LoanPledgeCreate.as_view(), name="loan-pledge-create"),
    path(
        "loans/<str:code>/releases/",
        loans.LoanReleaseCreate.as_view(),
        name="loan-release-create",
    ),
    path(
        "loans/<str:code>/repayments/",
        loans.LoanRepaymentCreate.as_view(),
        name="loan-repayment-create",
    ),
    path(
        "loans/<str:code>/liquidations/",
        loans.LoanLiquidationCreate.as_view(),
        name="loan-liquidation-create",
    ),
    path(
        "loans/<str:code>/accruals/",
        loans.LoanAccrualCreate.as_view(),
        name="loan-accrual-create",
    ),
    path(
        "reconciliations/",
        reconciliation.ReconciliationList.as_view(),
        name="reconciliation-list",
    ),
    path(
        "reconciliations/<int:pk>/",
        reconciliation.ReconciliationDetail.as_view(),
        name="reconciliation-detail",
    ),
    path("statements/", reconciliation.StatementListCreate.as_view(), name="statement-list"),
    path(
        "statements/uploads/<int:pk>/",
        reconciliation.StatementUploadDetail.as_view(),
        name="statement-upload-detail",
    ),
    path(
        "statements/<int:pk>/",
        reconciliation.StatementDetail.as_view(),
        name="statement-detail",
    ),
    path("site-costs/", costs.SiteCostListCreate.as_view(), name="site-cost-list"),
    path("site-costs/typed/", costs.TypedInvoiceCreate.as_view(), name="site-cost-typed"),
    path(
        "site-costs/<int:pk>/approve/",
        costs.TypedInvoiceApprove.as_view(),
        name="site-cost-approve",
    ),
    path(
        "site-costs/<int:pk>/reject/", costs.TypedInvoiceReject.as_view(), name="site-cost-reject"
    ),
    path("meter-readings/", costs.MeterReadingListCreate.as_view(), name="meter-reading-list"),
    path("reports/cost-to-mine/", costs.CostToMineView.as_view(), name="cost-to-mine"),
    path(
        "reports/fixed-assets/", costs.FixedAssetsReportView.as_view(), name="fixed-assets-report"
    ),
    path("reports/gross-profit/", costs.GrossProfitView.as_view(), name="gross-profit-report"),
    path(
        "vendor-deposits/",
        fixed_assets.VendorDepositListCreate.as_view(),
        name="vendor-deposit-list",
    ),
    path("fixed-assets/", fixed_assets.FixedAssetListCreate.as_view(), name="fixed-asset-list"),
    path(
        "fixed-assets/depreciation/",
        fixed_assets.DepreciationRunCreate.as_view(),
        name="fixed-asset-depreciation",
    ),
    path(
        "fixed-assets/<str:code>/",
        fixed_assets.FixedAssetDetail.as_view(),
        name="fixed-asset-detail",
    ),
    path(
        "fixed-assets/<str:code>/events/",
        fixed_assets.FixedAssetEventList.as_view(),
        name="fixed-asset-event-list",
    ),
    path(
        "fixed-assets/<str:code>/in-service/",
        fixed_assets.AssetInServiceCreate.as_view(),
        name="fixed-asset-in-service",
    ),
    path(
        "fixed-assets/<str:code>/life-changes/",
        fixed_assets.AssetLifeChangeCreate.as_view(),
        name="fixed-asset-life-change",
    ),
    path(
        "fixed-assets/<str:code>/impairments/",
        fixed_assets.AssetImpairmentCreate.as_view(),
        name="fixed-asset-impairment",
    ),
    path(
        "fixed-assets/<str:code>/disposals/",
        fixed_assets.AssetDisposalCreate.as_view(),
        name="fixed-asset-disposal",
    ),
    path("hpc-contracts/", hpc.HpcContractListCreate.as_view(), name="hpc-contract-list"),
    path("hpc-revenue/", hpc.HpcRevenueListCreate.as_view(), name="hpc-revenue-list"),
]
