from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledger.api.urls")),
]

# Under /api/ Django's own error pages are JSON in the API's error shape.
handler400 = "ledger.api.errors.bad_request"
handler403 = "ledger.api.errors.permission_denied"
handler404 = "ledger.api.errors.page_not_found"
handler500 = "ledger.api.errors.server_error"
