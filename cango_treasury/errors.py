"""Who answers a 403: the admin's paths get the admin's page saying why
(ledger.admin.errors), everything else the API's JSON error (ledger.api.errors)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ledger.admin import errors as admin_errors
from ledger.api import errors as api_errors


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(reverse("admin:index")):
        return admin_errors.permission_denied(request, exception)
    return api_errors.permission_denied(request, exception)
