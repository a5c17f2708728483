from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("ledger.api.urls")),
]

# Under /api/ Django's own error pages are JSON in the API's error shape; under /admin/ a
# refusal is a page of the admin saying why.
handler400 = "ledger.api.errors.bad_request"
handler403 = "cango_treasury.errors.permission_denied"
handler404 = "ledger.api.errors.page_not_found"
handler500 = "ledger.api.errors.server_error"
