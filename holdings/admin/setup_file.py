"""The whole set-up loaded from one file in the admin (linked from the sites list): finance
staff and approvers upload it, or dry-run it to see what it would create."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from holdings.admin.forms.setup import SetupFileForm
from holdings.services.setup_file import SetupReport, setup_file_load
from ledger.admin import allowed, refusal
from ledger.errors import LedgerError
from ledger.roles import OPERATE_ROLES

LOAD_ROLES = OPERATE_ROLES


def setup_load_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not allowed(request.user, LOAD_ROLES):
        raise refusal("Loading the set-up from a file", LOAD_ROLES)
    posted = request.method == "POST"
    form = SetupFileForm(request.POST if posted else None, request.FILES if posted else None)
    report: SetupReport | None = None
    if posted and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = setup_file_load(
                name=upload.name, content=upload.read(), dry_run=form.cleaned_data["dry_run"]
            )
        except LedgerError as exc:
            form.add_error("file", exc.message)
        else:
            model_admin.message_user(request, report.summary(), messages.SUCCESS)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "form": form,
        "title": "Load set-up from a file",
        "intro": "Sites, pools, wallets with their addresses, and pool accounts, from one "
        "YAML or CSV file. All or nothing: the first problem refuses the whole file, naming "
        "the row (or path) and the field. What is already set up (same code) is left as it "
        "is.",
        "submit_label": "Load the set-up",
        "media": model_admin.media + form.media,
        "report": report,
        "report_rows": _rows(report),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/holdings/setup_load.html", context)


def _rows(report: SetupReport | None) -> list[tuple[str, list[str], list[str]]]:
    if report is None:
        return []
    return [
        (kind.replace("_", " "), report.created[kind], report.existing[kind])
        for kind in report.created
    ]
