"""Routes of the holdings API, included by ledger.api.urls under the same `api/v1/` prefix."""

from django.urls import path

from holdings.api import views

urlpatterns = [
    path("imports/", views.ImportBatchListCreate.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportBatchDetail.as_view(), name="import-detail"),
    path("prices/", views.PriceList.as_view(), name="price-list"),
    path("lots/", views.LotList.as_view(), name="lot-list"),
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
]
