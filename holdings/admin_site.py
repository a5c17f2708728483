"""The admin site. Its index is the treasury dashboard, with the applications below it.

Every role sees the dashboard (it only reads); a user without a role gets the admin's own
index, which shows them nothing, and anyone without admin access is sent to the log-in.
The figures come from holdings.selectors.dashboard; this module parses the date, and
holdings.admin.dashboard turns the figures into charts and tooltips.

The site is TreasuryAdminConfig.default_site, outside the holdings.admin package on purpose:
Django creates the default site when autodiscovery first touches it, before it imports any
application's admin module, and importing holdings.admin registers the holdings pages. So
this module imports nothing of holdings.admin; the index imports the dashboard's figures
when it is shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from holdings.errors import HoldingsError
from holdings.selectors import dashboard
from ledger.dates import REPORT_CEILING, REPORT_FLOOR, parse_report_date
from ledger.roles import OPERATE_ROLES, READ_ROLES, has_any_role

NUL = "\x00"


def looked_up_field(model: type[models.Model], lookup: str) -> models.Field | None:
    """The field a change list's filter (`?<path>__<lookup>=`) compares its value with,
    following relations; None when the path names no field (a list filter's own parameter)
    or stops at a relation."""
    opts = model._meta
    field = None
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except FieldDoesNotExist:
            break  # a lookup or a transform of `field`
        path_infos = getattr(field, "path_infos", None)
        if not path_infos:
            break  # a field of its own: what follows are its lookups
        opts = path_infos[-1].to_opts
    return field if isinstance(field, models.Field) else None


class BoundedDateChangeList(ChangeList):
    """The change list of every admin on the site (TreasuryAdminSite.register): a filter the
    database could not take answers as Django answers any bad filter (IncorrectLookupParameters:
    the list again, with ?e=1), never an error page:

    - a value or name with NUL (PostgreSQL text cannot hold it), in any filter, the list
      filters' own (`?wallet=`) included; the search (`?q=`) is Django's, which refuses NUL
      itself with a message;
    - a lookup on a binary field (`?content__gte=abc`): its value is text, never bytes;
    - a date drill-down (`?<field>__year=`) outside the report dates (ledger/dates.py): Django
      works out the end of the year, month or day asked for, which for 9999 is no date at all;
    - a `__range` lookup (`?kind__range=abc`): no page of the admin sends one, and Django
      hands its text to the database as the pair of bounds it is not.
    """

    def get_filters(self, request: HttpRequest) -> Any:
        for key, values in self.get_filters_params().items():
            if NUL in key or any(NUL in value for value in values):
                raise IncorrectLookupParameters(f"{key!r}: a filter cannot contain NUL")
            if "range" in key.split(LOOKUP_SEP):
                raise IncorrectLookupParameters(f"{key!r}: a range is not filtered on")
            field = looked_up_field(self.model, key)
            if isinstance(field, models.BinaryField):
                raise IncorrectLookupParameters(f"{key!r}: {field.name} is not filtered on")
        if self.date_hierarchy:
            year = request.GET.get(f"{self.date_hierarchy}__year")
            if year is not None:
                try:
                    number = int(year)
                except ValueError as exc:
                    raise IncorrectLookupParameters(f"{year!r} is not a year") from exc
                if not REPORT_FLOOR.year <= number <= REPORT_CEILING.year:
                    raise IncorrectLookupParameters(
                        f"{number} is outside {REPORT_FLOOR.year} to {REPORT_CEILING.year}"
                    )
        return super().get_filters(request)


class CheckedModelAdmin(admin.ModelAdmin):
    """What every admin registered on the site gets, its own or a third party's (the nightly
    jobs' schedule, the task results), ahead of its own classes (TreasuryAdminSite.register)."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> Any:
        return BoundedDateChangeList

    def response_action(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        """An action on a selection whose ids are not ids (`_selected_action=abc`) does
        nothing and says so, where the action met the database's refusal as an error page."""
        for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
            try:
                self.opts.pk.to_python(value)
            except ValidationError:
                self.message_user(
                    request,
                    f"{value!r} names no {self.opts.verbose_name}: nothing was done.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        """An id with NUL (`/admin/ledger/commodity/US%00D/change/`) names nothing: the page
        answers as for any id that names nothing."""
        if NUL in str(object_id):
            return None
        return super().get_object(request, object_id, from_field)


class TreasuryAdminSite(admin.AdminSite):
    dashboard_template = "admin/holdings/dashboard.html"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every model's admin is a CheckedModelAdmin (above): its change list refuses what
        the database could not take, and its pages an id with NUL."""
        base = admin_class or admin.ModelAdmin
        checked = type(base.__name__, (CheckedModelAdmin, base), {})
        super().register(model_or_iterable, checked, **options)

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        """The search behind an autocomplete field: a term with NUL is refused (400), as the
        database could not compare it."""
        if NUL in request.GET.get("term", ""):
            return JsonResponse({"error": "The search cannot contain NUL."}, status=400)
        return super().autocomplete_view(request)

    # --- the month-end close (/admin/close/) and the reports (/admin/reports/<name>/,
    # holdings.admin.reports), with a Reports entry in the navigation and on the index, after
    # the applications.

    def get_urls(self) -> list[Any]:
        from holdings.admin.reports import urls as report_urls

        return [
            path("close/", self.admin_view(self.close_view), name="close"),
            *report_urls(self),
            *super().get_urls(),
        ]

    def close_view(self, request: HttpRequest) -> HttpResponse:
        """The month-end close (holdings.admin.close)."""
        from holdings.admin.close import close_view

        return close_view(request, self)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        apps = super().get_app_list(request, app_label)
        if app_label is not None or not has_any_role(request.user, READ_ROLES):
            return apps
        from holdings.admin.reports import DEFINITIONS
        from holdings.admin.reports.pages import report_url

        entries = [
            {
                "name": d.title,
                "object_name": d.name,
                "admin_url": report_url(d.name, **dict(d.defaults)),
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
            for d in DEFINITIONS
        ]
        entries.append(
            {
                "name": "Month-end close",
                "object_name": "close",
                "admin_url": reverse("admin:close"),
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
        )
        reports = {
            "name": "Reports",
            "app_label": "reports",
            "app_url": reverse("admin:reports_index"),
            "has_module_perms": True,
            "models": entries,
        }
        return [*apps, reports]

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        if not has_any_role(request.user, READ_ROLES):
            return super().index(request, extra_context)
        from holdings.admin.dashboard import dashboard_context
        from holdings.admin.worklist import waiting_items

        today = timezone.now().date()  # USE_TZ: UTC
        raw = request.GET.get("as_of", "").strip()
        context: dict[str, Any] = {
            "title": "Treasury dashboard",
            "today": today,
            "waiting": waiting_items(user=request.user, today=today),
        }
        as_of, problem = parse_date(raw)
        if raw and as_of is None:
            context["dashboard_error"] = (
                f"{problem}. Write the date as YYYY-MM-DD, for example {today.isoformat()}."
            )
            context["as_of_text"] = raw
        else:
            if as_of is None:
                as_of = dashboard.default_as_of(today=today)
                if as_of != today:
                    context["as_of_note"] = (
                        f"Nothing is posted after {as_of.isoformat()}: the figures are those "
                        "of the latest day with entries."
                    )
            commodity = request.GET.get("commodity", "").strip() or dashboard.BTC
            context["as_of_text"] = as_of.isoformat()
            try:
                board = dashboard.dashboard(as_of=as_of, commodity=commodity)
            except HoldingsError as error:
                context["dashboard_error"] = f"commodity: {error.message}."
            else:
                context.update(dashboard_context(board))
        context["links"] = quick_links(request)
        response = super().index(request, {**context, **(extra_context or {})})
        response.template_name = self.dashboard_template
        if "dashboard_error" in context:
            response.status_code = 400
        return response


def parse_date(text: str) -> tuple[date | None, str]:
    """The dashboard's date, within the report dates (ledger/dates.py), or why not."""
    try:
        return parse_report_date(text), ""
    except ValueError as exc:
        return None, str(exc)


def quick_links(request: HttpRequest) -> list[tuple[str, str]]:
    """The day's work, for the roles that do it."""
    if not has_any_role(request.user, OPERATE_ROLES):
        return []
    return [
        ("Upload a pool file", reverse("admin:holdings_importbatch_upload")),
        ("Import prices", reverse("admin:holdings_price_import")),
        ("Record a sale", reverse("admin:holdings_sale_add")),
        ("Record a transfer", reverse("admin:holdings_transfer_add")),
        ("Record a loan event", reverse("admin:holdings_loanevent_add")),
    ]
