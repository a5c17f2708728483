from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger.api import attachment_views, cancellation_views, control_views, report_views, views
from ledger.api.permissions import RolePermission
from ledger.api.serializers import ACCOUNT_CODE_PATTERN


class AccountCodeConverter:
    """What an account code can look like (see Account.code); anything else is a 404."""

    regex = ACCOUNT_CODE_PATTERN.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AccountCodeConverter, "account_code")

urlpatterns = [
    path("", views.ApiRoot.as_view(), name="api-root"),
    path("auth/", include("ledger.api.tokens")),
    path("commodities/", views.CommodityList.as_view(), name="commodity-list"),
    path("accounts/", views.AccountList.as_view(), name="account-list"),
    path("accounts/<account_code:code>/", views.AccountDetail.as_view(), name="account-detail"),
    path(
        "accounts/<account_code:code>/balance/",
        views.AccountBalanceView.as_view(),
        name="account-balance",
    ),
    path("balances/", views.BalanceListView.as_view(), name="balance-list"),
    path("reports/trial-balance/", views.TrialBalanceView.as_view(), name="trial-balance"),
    path(
        "reports/account-detail/",
        report_views.AccountDetailView.as_view(),
        name="account-detail-report",
    ),
    path("reports/balance-sheet/", report_views.BalanceSheetView.as_view(), name="balance-sheet"),
    path(
        "reports/income-statement/",
        report_views.IncomeStatementView.as_view(),
        name="income-statement",
    ),
    path("journal-entries/", views.JournalEntryListCreate.as_view(), name="journal-entry-list"),
    path(
        "journal-entries/<int:pk>/",
        views.JournalEntryDetail.as_view(),
        name="journal-entry-detail",
    ),
    # A document's entry is undone only by cancelling the document (maker-checker).
    path(
        "cancellations/",
        cancellation_views.CancellationListCreate.as_view(),
        name="cancellation-list",
    ),
    path(
        "cancellations/<int:pk>/",
        cancellation_views.CancellationDetail.as_view(),
        name="cancellation-detail",
    ),
    path(
        "cancellations/<int:pk>/approve/",
        cancellation_views.CancellationApprove.as_view(),
        name="cancellation-approve",
    ),
    path(
        "cancellations/<int:pk>/reject/",
        cancellation_views.CancellationReject.as_view(),
        name="cancellation-reject",
    ),
    # Controls: manual journals (maker-checker), period closes, the audit log.
    path(
        "manual-journals/",
        control_views.ManualJournalListCreate.as_view(),
        name="manual-journal-list",
    ),
    path(
        "manual-journals/<int:pk>/",
        control_views.ManualJournalDetail.as_view(),
        name="manual-journal-detail",
    ),
    path(
        "manual-journals/<int:pk>/submit/",
        control_views.ManualJournalSubmit.as_view(),
        name="manual-journal-submit",
    ),
    path(
        "manual-journals/<int:pk>/approve/",
        control_views.ManualJournalApprove.as_view(),
        name="manual-journal-approve",
    ),
    path(
        "manual-journals/<int:pk>/reject/",
        control_views.ManualJournalReject.as_view(),
        name="manual-journal-reject",
    ),
    path(
        "manual-journals/<int:pk>/attachments/",
        attachment_views.ManualJournalAttachmentListCreate.as_view(),
        name="manual-journal-attachments",
    ),
    path(
        "manual-journals/<int:pk>/attachments/<int:attachment>/content/",
        attachment_views.ManualJournalAttachmentContent.as_view(),
        name="manual-journal-attachment-content",
    ),
    path("periods/", control_views.PeriodListCreate.as_view(), name="period-list"),
    path("periods/<int:pk>/", control_views.PeriodDetail.as_view(), name="period-detail"),
    path("periods/<int:pk>/reopen/", control_views.PeriodReopen.as_view(), name="period-reopen"),
    path("audit-log/", control_views.AuditLogList.as_view(), name="audit-log"),
    path("integrity/", control_views.JournalIntegrityView.as_view(), name="integrity"),
    path("", include("holdings.api.urls")),
    # The schema and its documentation need a role like every other endpoint.
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[RolePermission]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[RolePermission]),
        name="docs",
    ),
]
