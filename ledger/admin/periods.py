"""Period closes: closing the books through a date, and reopening them with a reason."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from ledger import services
from ledger.admin.base import RoleAdmin, adopt, allowed, refusal, utc_time
from ledger.errors import LedgerError
from ledger.forms import PeriodCloseForm, ReopenPeriodForm, add_service_error
from ledger.models import PeriodClose
from ledger.roles import APPROVE_ROLES


@admin.register(PeriodClose)
class PeriodCloseAdmin(RoleAdmin):
    # Add = close the books through a date; reopening has its own page, with a reason.
    add_roles = APPROVE_ROLES
    reopen_roles = APPROVE_ROLES
    form = PeriodCloseForm
    list_display = (
        "through",
        "state",
        "closed_by_name",
        "closed_at",
        "reopened_by_name",
        "reopened_at",
        "reopen_reason",
    )
    list_select_related = ("closed_by", "reopened_by")
    change_form_template = "admin/ledger/periodclose/change_form.html"

    def has_reopen_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.reopen_roles)

    @admin.display(description="state")
    def state(self, obj: PeriodClose) -> str:
        return "Closed" if obj.is_open else "Reopened"

    @admin.display(description="closed by")
    def closed_by_name(self, obj: PeriodClose) -> str:
        return obj.closed_by.get_username()

    @admin.display(description="reopened by")
    def reopened_by_name(self, obj: PeriodClose) -> str:
        return obj.reopened_by.get_username() if obj.reopened_by else "-"

    @admin.display(description="")
    def reopen_link(self, obj: PeriodClose) -> str:
        if not obj.is_open:
            return ""
        url = reverse("admin:ledger_periodclose_reopen", args=[obj.pk])
        return format_html('<a href="{}">Reopen…</a>', url)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        if self.has_reopen_permission(request):
            return (*self.list_display, "reopen_link")
        return self.list_display

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("through",)
        return (
            "through",
            "state",
            "closed_by_name",
            "closed_at",
            "reopened_by_name",
            "reopened_at",
            "reopen_reason",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "title": "Close the books through a date",
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
        }
        return super().add_view(request, form_url, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        close = self.get_object(request, unquote(object_id))
        can_reopen = close is not None and close.is_open and self.has_reopen_permission(request)
        extra_context = {**(extra_context or {}), "can_reopen": can_reopen}
        return super().change_view(request, object_id, form_url, extra_context)

    def add_refusal(self, request: HttpRequest) -> PermissionDenied:
        return refusal("Closing a period", self.add_roles)

    def change_refusal(self, request: HttpRequest, obj: Any) -> PermissionDenied:
        return PermissionDenied(
            "A period close is not edited: an approver reopens it, with a reason, and closes "
            "the books again."
        )

    def save_model(self, request: HttpRequest, obj: PeriodClose, form: Any, change: bool) -> None:
        if change:  # no plain edit: has_change_permission is False for everyone
            raise self.change_refusal(request, obj)
        through = form.cleaned_data["through"]
        created = self.call_service(lambda: services.period_close(through=through, by=request.user))
        adopt(obj, created)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.reopen_view)
        return [
            path("<path:object_id>/reopen/", view, name="ledger_periodclose_reopen"),
            *super().get_urls(),
        ]

    def reopen_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_reopen_permission(request):
            raise refusal("Reopening a period", self.reopen_roles)
        close = self.get_object(request, unquote(object_id))
        if close is None:
            raise Http404(f"no period close {object_id}")
        changelist = reverse("admin:ledger_periodclose_changelist")
        if not close.is_open:
            self.message_user(
                request, f"The close through {close.through} was already reopened.", messages.ERROR
            )
            return HttpResponseRedirect(changelist)
        form = ReopenPeriodForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                reopened = services.period_reopen(
                    through=close.through, by=request.user, reason=reason
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_change(request, reopened, f"Reopened: {reopened.reopen_reason}")
                self.message_user(
                    request, f"The books through {close.through} are reopened.", messages.SUCCESS
                )
                return HttpResponseRedirect(changelist)
        return self.confirm_page(
            request,
            original=close,
            form=form,
            title=f"Reopen the books through {close.through}",
            intro=(
                f"Closed by {close.closed_by.get_username()} at {utc_time(close.closed_at)}. "
                "Reopening lets entries be dated in this period again; it is recorded "
                "with your name, the time and the reason. Earlier closes stay in force."
            ),
            submit_label="Reopen",
        )
