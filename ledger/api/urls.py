from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ledger.api import views
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
    path("journal-entries/", views.JournalEntryListCreate.as_view(), name="journal-entry-list"),
    path(
        "journal-entries/<int:pk>/",
        views.JournalEntryDetail.as_view(),
        name="journal-entry-detail",
    ),
    path(
        "journal-entries/<int:pk>/reverse/",
        views.JournalEntryReverse.as_view(),
        name="journal-entry-reverse",
    ),
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
