"""The nightly jobs' schedule (django-celery-beat, kept in the database) in the admin, by
role like everything else: every role sees it, finance approvers change it (a time, a job
switched off), nobody deletes a job: a job is disabled instead, and the change is in the
audit log."""

from __future__ import annotations

import json
from typing import Any

from celery.schedules import ParseException, crontab_parser
from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from ledger.admin import allowed
from ledger.roles import APPROVE_ROLES, READ_ROLES
from ledger.text import validate_printable_line


class ByRole:
    """Permissions from role membership, as in the rest of the admin."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, APPROVE_ROLES)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, APPROVE_ROLES)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    """django-celery-beat's form, with what it lets through refused on its field: a task
    name that failed its own field's checks (the library's check then raised KeyError), a
    registered task's name that is not printable text, headers that are not JSON (blank
    ones are saved as NULL, which the column refuses)."""

    def clean_regtask(self) -> str:
        value = self.cleaned_data.get("regtask") or ""
        validate_printable_line(value)
        if len(value) > 200:
            raise forms.ValidationError("A task's name has at most 200 characters.")
        return value

    def clean_headers(self) -> str:
        value = (self.cleaned_data.get("headers") or "").strip() or "{}"
        try:
            json.loads(value)
        except ValueError as exc:
            raise forms.ValidationError(f"Unable to parse JSON: {exc}") from exc
        return value

    def clean(self) -> dict[str, Any]:
        if "task" not in self.cleaned_data and not self.cleaned_data.get("regtask"):
            return self.cleaned_data  # the task field's own error says what is wrong
        return super().clean()


class PeriodicTaskAdmin(ByRole, beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm
    list_display = ("name", "enabled", "task", "scheduler", "last_run_at", "total_run_count")
    search_fields = ("name", "task", "description")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not allowed(request.user, APPROVE_ROLES):
            return {}
        actions.pop("delete_selected", None)
        return actions


# Each crontab field's range, as Celery reads it (the values it takes, from the lowest).
CRONTAB_RANGES = {
    "minute": (60, 0),
    "hour": (24, 0),
    "day_of_week": (7, 0),
    "day_of_month": (31, 1),
    "month_of_year": (12, 1),
}


class CrontabScheduleForm(forms.ModelForm):
    """A crontab's fields read as Celery reads them, each refused on its field (Celery's
    parser raised while the form was shown again); the time zone without the hidden
    initial value the library's field looked up as a zone (a file name too long)."""

    class Meta:
        model = CrontabSchedule
        fields = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "timezone" in self.fields:
            self.fields["timezone"].show_hidden_initial = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        for name, (size, lowest) in CRONTAB_RANGES.items():
            value = data.get(name)
            if value is None:
                continue
            try:
                crontab_parser(size, lowest).parse(str(value))
            except (ParseException, ValueError) as exc:
                self.add_error(name, f"Not a crontab value: {exc}")
        return data


class CrontabScheduleAdmin(ByRole, beat_admin.CrontabScheduleAdmin):
    form = CrontabScheduleForm
    readonly_fields = ("reads_as",)
    fields = (
        "reads_as",
        "minute",
        "hour",
        "day_of_month",
        "month_of_year",
        "day_of_week",
        "timezone",
    )

    @admin.display(description="Reads as")
    def reads_as(self, obj: CrontabSchedule) -> str:
        # Shown again with a form's errors, the crontab may hold what Celery cannot read.
        try:
            return str(obj.human_readable)
        except (ParseException, ValueError):
            return "-"


class IntervalScheduleAdmin(ByRole, beat_admin.IntervalScheduleAdmin):
    pass


class ClockedScheduleAdmin(ByRole, beat_admin.ClockedScheduleAdmin):
    pass


class SolarScheduleAdmin(ByRole, beat_admin.SolarScheduleAdmin):
    pass


for model, model_admin in (
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
    (IntervalSchedule, IntervalScheduleAdmin),
    (ClockedSchedule, ClockedScheduleAdmin),
    (SolarSchedule, SolarScheduleAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
