"""The month-end close page (/admin/close/): the checks a controller runs before closing a
month, each with where it is fixed, the close itself for a finance approver, and the
month's closes with their reviews.

The page reads through holdings.selectors.close and writes through holdings.services.close
(and holdings.services.fair_value for the month-end remeasurement); the admin site routes
to it (holdings/admin_site.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from holdings.admin.forms.close import MonthCloseForm, MonthForm
from holdings.models import PeriodCloseReview
from holdings.selectors import close as close_selectors
from holdings.services import close as close_services
from holdings.services import fair_value
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.models import PeriodClose
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, READ_ROLES, has_any_role
from ledger.selectors import closed_through


def fix_links(key: str, start: date, end: date) -> list[tuple[str, str]]:
    """Where a check's problems are fixed (or looked into), for each check."""
    day = {"__year": end.year, "__month": end.month, "__day": end.day}

    def on_day(field: str) -> str:
        return urlencode({f"{field}{suffix}": value for suffix, value in day.items()})

    links = {
        close_selectors.IMPORTS: [
            ("Upload a pool file", reverse("admin:holdings_importbatch_upload")),
            ("Import batches", reverse("admin:holdings_importbatch_changelist")),
        ],
        close_selectors.PRICES: [
            ("Import prices", reverse("admin:holdings_price_import")),
            ("Prices", reverse("admin:holdings_price_changelist")),
        ],
        close_selectors.FAIR_VALUE: [
            (
                "Remeasurements",
                f"{reverse('admin:holdings_remeasurement_changelist')}?{on_day('as_of')}",
            ),
        ],
        close_selectors.RECONCILIATIONS: [
            (
                "Reconciliation runs",
                f"{reverse('admin:holdings_reconciliationrun_changelist')}?{on_day('as_of')}",
            ),
            ("Reconcile a day", reverse("admin:holdings_reconciliationrun_run")),
        ],
        close_selectors.SEALS: [
            ("Journal seals", reverse("admin:ledger_journalseal_changelist")),
        ],
        close_selectors.WAITING: [
            (
                "Manual journals waiting",
                f"{reverse('admin:ledger_manualjournal_changelist')}?status__exact=submitted",
            ),
            (
                "Cancellations requested",
                f"{reverse('admin:ledger_cancellation_changelist')}?status__exact=requested",
            ),
            (
                "Typed invoices waiting",
                f"{reverse('admin:holdings_sitecost_changelist')}?status__exact=submitted",
            ),
        ],
    }
    return links[key]


def default_month(today: date) -> date:
    """The month a controller closes today: the last one that has ended."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def close_view(request: HttpRequest, site: Any) -> HttpResponse:
    user = request.user
    if not has_any_role(user, READ_ROLES):
        raise PermissionDenied
    today = timezone.now().date()  # USE_TZ: UTC
    status = 200
    close_form = None
    if request.method == "POST":
        close_form = MonthCloseForm(request.POST)
        action = request.POST.get("action", "close")
        if action == "remeasure":
            return _remeasure(request, close_form)
        if not has_any_role(user, APPROVE_ROLES):
            raise PermissionDenied
        if close_form.is_valid():
            month = close_form.cleaned_data["month"]
            try:
                review = close_services.month_close(
                    month=month, by=user, reason=close_form.cleaned_data["reason"]
                )
            except LedgerError as exc:
                add_service_error(close_form, exc)
            else:
                messages.success(
                    request,
                    f"The books are closed through {review.period_close.through}"
                    + (
                        f", with {review.failures} failing check(s) and your reason kept."
                        if review.failures
                        else ", every check passing."
                    ),
                )
                return HttpResponseRedirect(f"{request.path}?month={month:%Y-%m}")
        status = 400
        month_form = MonthForm({"month": request.POST.get("month", "")})
    else:
        raw = request.GET.get("month")
        month_form = MonthForm(
            {"month": raw if raw is not None else f"{default_month(today):%Y-%m}"}
        )
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": "Month-end close",
        "month_form": month_form,
        "closed_through": closed_through(),
        "today": today,
    }
    if month_form.is_valid():
        start = month_form.cleaned_data["month"]
        context.update(_month_context(request, start, today, close_form))
    else:
        status = 400
    request.current_app = site.name
    return TemplateResponse(request, "admin/holdings/close.html", context, status=status)


def _month_context(
    request: HttpRequest, start: date, today: date, form: MonthCloseForm | None
) -> dict[str, Any]:
    end = close_selectors.month_end(start)
    checks = close_selectors.close_checks(month=start)
    failing = [check for check in checks if not check.ok]
    current = closed_through()
    closes = (
        PeriodClose.objects.filter(through=end)
        .select_related("closed_by", "reopened_by", "review", "review__reviewed_by")
        .order_by("-closed_at")
    )
    history = [(close, _review(close)) for close in closes]
    blocked = ""
    if current is not None and current >= end:
        blocked = f"The books are closed through {current}: this month is closed."
    elif end > today:
        blocked = f"The month ends on {end}, after today ({today}): it cannot be closed yet."
    if form is None:
        form = MonthCloseForm(initial={"month": f"{start:%Y-%m}"})
    return {
        "month": start,
        "month_text": f"{start:%Y-%m}",
        "end": end,
        "rows": [(check, fix_links(check.key, start, end)) for check in checks],
        "failing": failing,
        "history": history,
        "blocked": blocked,
        "can_close": has_any_role(request.user, APPROVE_ROLES) and not blocked,
        "can_remeasure": has_any_role(request.user, OPERATE_ROLES)
        and not blocked
        and any(check.key == close_selectors.FAIR_VALUE for check in failing),
        "close_form": form,
    }


def _review(close: PeriodClose) -> PeriodCloseReview | None:
    try:
        return close.review  # type: ignore[attr-defined,no-any-return]
    except PeriodCloseReview.DoesNotExist:
        return None


def _remeasure(request: HttpRequest, form: MonthCloseForm) -> HttpResponse:
    """Remeasure every fair-value commodity at the month end, then back to the checks."""
    if not has_any_role(request.user, OPERATE_ROLES):
        raise PermissionDenied
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for e in form.errors.get("month", [])))
        return HttpResponseRedirect(request.path)
    start = form.cleaned_data["month"]
    end = close_selectors.month_end(start)
    try:
        done = fair_value.remeasure_all(as_of=end, created_by=request.user)
    except LedgerError as exc:
        messages.error(request, f"Nothing was remeasured: {exc.message}")
    else:
        codes = ", ".join(result.commodity_id for result in done) or "no commodity"
        messages.success(request, f"Remeasured at {end}: {codes}.")
    return HttpResponseRedirect(f"{request.path}?month={start:%Y-%m}")
