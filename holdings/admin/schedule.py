"""The nightly jobs' schedule (django-celery-beat, kept in the database) in the admin, by
role like everything else: every role sees it, finance approvers change it (a time, a job
switched off), nobody deletes a job: a job is disabled instead, and the change is in the
audit log."""

from __future__ import annotations

from typing import Any

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


class PeriodicTaskAdmin(ByRole, beat_admin.PeriodicTaskAdmin):
    list_display = ("name", "enabled", "task", "scheduler", "last_run_at", "total_run_count")
    search_fields = ("name", "task", "description")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not allowed(request.user, APPROVE_ROLES):
            return {}
        actions.pop("delete_selected", None)
        return actions


class CrontabScheduleAdmin(ByRole, beat_admin.CrontabScheduleAdmin):
    pass


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
