"""Routes of the holdings API, included by ledger.api.urls under the same `api/v1/` prefix."""

from django.urls import path

from holdings.api import reconciliation_views, report_views, views
from holdings.api.exports import BeancountExportView

urlpatterns = [
    path("imports/", views.ImportBatchListCreate.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportBatchDetail.as_view(), name="import-detail"),
    path("prices/", views.PriceList.as_view(), name="price-list"),
    path("lots/", views.LotList.as_view(), name="lot-list"),
    path("exports/beancount/", BeancountExportView.as_view(), name="beancount-export"),
    path("production/", views.ProductionRecordList.as_view(), name="production-list"),
    path("payouts/", views.PayoutList.as_view(), name="payout-list"),
    path("remeasurements/", views.RemeasurementList.as_view(), name="remeasurement-list"),
    path("reports/production/", views.ProductionReportView.as_view(), name="production-report"),
    path("pool-accounts/", views.PoolAccountList.as_view(), name="pool-account-list"),
    path("wallets/", views.WalletList.as_view(), name="wallet-list"),
    path("sites/", views.SiteList.as_view(), name="site-list"),
    path("sales/", views.SaleListCreate.as_view(), name="sale-list"),
    path("sales/preview/", views.SalePreview.as_view(), name="sale-preview"),
    path("sales/<int:pk>/", views.SaleDetail.as_view(), name="sale-detail"),
    path("transfers/", views.TransferListCreate.as_view(), name="transfer-list"),
    path(
        "reports/realized-gains/",
        views.RealizedGainsReportView.as_view(),
        name="realized-gains-report",
    ),
    path("reports/rollforward/", report_views.RollforwardView.as_view(), name="rollforward"),
    path(
        "reports/price-evidence/",
        report_views.PriceEvidenceView.as_view(),
        name="price-evidence",
    ),
    path("reports/loan-schedule/", report_views.LoanScheduleView.as_view(), name="loan-schedule"),
    path("loans/", views.LoanList.as_view(), name="loan-list"),
    path("loans/<str:code>/", views.LoanDetail.as_view(), name="loan-detail"),
    path("loans/<str:code>/events/", views.LoanEventList.as_view(), name="loan-event-list"),
    path("loans/<str:code>/draws/", views.LoanDrawCreate.as_view(), name="loan-draw-create"),
    path("loans/<str:code>/pledges/", views.LoanPledgeCreate.as_view(), name="loan-pledge-create"),
    path(
        "loans/<str:code>/releases/",
        views.LoanReleaseCreate.as_view(),
        name="loan-release-create",
    ),
    path(
        "loans/<str:code>/repayments/",
        views.LoanRepaymentCreate.as_view(),
        name="loan-repayment-create",
    ),
    path(
        "loans/<str:code>/liquidations/",
        views.LoanLiquidationCreate.as_view(),
        name="loan-liquidation-create",
    ),
    path(
        "loans/<str:code>/accruals/",
        views.LoanAccrualCreate.as_view(),
        name="loan-accrual-create",
    ),
    path(
        "reconciliations/",
        reconciliation_views.ReconciliationList.as_view(),
        name="reconciliation-list",
    ),
    path(
        "reconciliations/<int:pk>/",
        reconciliation_views.ReconciliationDetail.as_view(),
        name="reconciliation-detail",
    ),
    path("statements/", reconciliation_views.StatementListCreate.as_view(), name="statement-list"),
    path(
        "statements/uploads/<int:pk>/",
        reconciliation_views.StatementUploadDetail.as_view(),
        name="statement-upload-detail",
    ),
    path(
        "statements/<int:pk>/",
        reconciliation_views.StatementDetail.as_view(),
        name="statement-detail",
    ),
]
