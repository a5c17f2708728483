"""The admin in which finance staff do their daily work on the ledger.

Who may do what comes from the role groups (ledger.roles), not from Django model
permissions: every role reads; finance staff and approvers keep the chart of accounts and
reverse entries; approvers close and reopen periods and maintain commodities; auditors read
and write nothing. Superusers may do what any role may. Nothing in the ledger is deleted.

Every write goes through ledger.services, so the admin obeys the same rules as the API.

The daily and monthly roll-ups (DailyBalance, MonthlyBalance) are not registered: they are
derived rows kept by a database trigger, with no meaning of their own beyond the balances
shown here; they are verified against the postings by selectors.rollup_differences().
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import F, Func
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from ledger import audit, cancellations, selectors, services
from ledger.errors import LedgerError
from ledger.forms import (
    AccountAddForm,
    AccountChangeForm,
    CancellationRequestForm,
    ConfirmForm,
    ManualJournalForm,
    ManualJournalLineForm,
    ManualJournalLineFormSet,
    PeriodCloseForm,
    RejectJournalForm,
    ReopenPeriodForm,
    add_service_error,
)
from ledger.models import (
    Account,
    AuditAction,
    AuditLog,
    Cancellation,
    CancellationStatus,
    Commodity,
    JournalEntry,
    JournalSeal,
    ManualJournal,
    ManualJournalLine,
    ManualJournalStatus,
    PeriodClose,
    Posting,
)
from ledger.money import FUNCTIONAL_CURRENCY, VALUE_PLACES, to_scale
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, READ_ROLES, has_any_role

admin.site.site_header = "cango-treasury"
admin.site.site_title = "cango-treasury"
admin.site.index_title = "Treasury ledger"

NOTHING: frozenset[str] = frozenset()
# "Select all" on a journal of millions must not reverse it wholesale by one click.

T = TypeVar("T")


def utc_today() -> date:
    return timezone.now().date()  # USE_TZ: now() is aware UTC


def allowed(user: Any, roles: frozenset[str]) -> bool:
    """Role check; an empty set of roles allows nobody, not even a superuser."""
    return bool(roles) and has_any_role(user, roles)


def amount(quantity: Decimal, places: int, unit: str = "") -> str:
    """An amount with its scale's decimals and thousands separators, Dr or Cr for its sign."""
    scaled = to_scale(quantity, places)
    side = " Dr" if scaled > 0 else " Cr" if scaled < 0 else ""
    text = f"{abs(scaled):,f}"
    return f"{text} {unit}{side}" if unit else f"{text}{side}"


def entry_label(entry: JournalEntry) -> str:
    return f"#{entry.sequence or entry.pk}"


def entry_link(entry: JournalEntry) -> SafeString:
    url = reverse("admin:ledger_journalentry_change", args=[entry.pk])
    return format_html('<a href="{}">{}</a>', url, entry_label(entry))


@functools.cache
def audit_tables() -> frozenset[str]:
    """The audited tables (read once per process: they change only with a migration)."""
    return frozenset(audit.audited_tables())


def adopt(target: models.Model, created: models.Model) -> None:
    """Make the admin's unsaved instance the row a service created (for logs, redirects)."""
    for field in created._meta.concrete_fields:
        setattr(target, field.attname, getattr(created, field.attname))
    target._state.adding = False
    target._state.db = created._state.db


class ServiceRefused(Exception):
    """A service refused in save_model (input accepted moments before: a race)."""


class RoleAdmin(admin.ModelAdmin):
    """Permissions from role membership; an empty set of roles means nobody."""

    view_roles: frozenset[str] = READ_ROLES
    add_roles: frozenset[str] = NOTHING
    change_roles: frozenset[str] = NOTHING

    def has_module_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, self.view_roles)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing in the ledger is deleted

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The History link of a change page: the record's rows in the audit log (what the
        database recorded, whoever changed it), or Django's own history if not audited."""
        table = self.opts.db_table
        if table in audit_tables() and self.get_object(request, unquote(object_id)) is not None:
            url = reverse("admin:ledger_auditlog_changelist")
            return HttpResponseRedirect(
                f"{url}?{urlencode({'table_name': table, 'record_id': unquote(object_id)})}"
            )
        return super().history_view(request, object_id, extra_context)

    def call_service(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except LedgerError as exc:
            raise ServiceRefused(exc.message) from exc

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as exc:  # the view's transaction is rolled back: nothing written
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def confirm_page(
        self,
        request: HttpRequest,
        *,
        original: models.Model,
        form: Any,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": original,
            "form": form,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/ledger/confirm_form.html", context)


# --- commodities -------------------------------------------------------------------------


@admin.register(Commodity)
class CommodityAdmin(RoleAdmin):
    # A commodity's scale and measurement policy are accounting settings: approvers only.
    add_roles = APPROVE_ROLES
    change_roles = APPROVE_ROLES
    list_display = ("code", "name", "decimal_places", "kind", "measurement_policy")
    list_filter = ("kind", "measurement_policy")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        if obj.accounts.exists():  # postings carry the scale; the database refuses a change
            return ("code", "decimal_places")
        return ("code",)  # the primary key: changing it would make a new commodity

    def save_model(self, request: HttpRequest, obj: Commodity, form: Any, change: bool) -> None:
        fields = ("name", "decimal_places", "kind", "measurement_policy")
        if change:
            original = Commodity.objects.get(pk=obj.pk)
            self.call_service(
                lambda: services.commodity_update(
                    commodity=original,
                    **{f: form.cleaned_data[f] for f in fields if f in form.changed_data},
                )
            )
            return
        created = self.call_service(
            lambda: services.commodity_create(
                code=form.cleaned_data["code"], **{f: form.cleaned_data[f] for f in fields}
            )
        )
        obj._state.adding = False
        obj._state.db = created._state.db


# --- accounts ----------------------------------------------------------------------------


class TreePath(Func):
    """The codes from the root down to the account: ordering by it lists the chart as a tree
    (parents before their children, siblings by code); its length is the depth plus one."""

    arity = 1
    template = (
        "(WITH RECURSIVE up(id, parent_id, code, depth) AS ("
        " SELECT a.id, a.parent_id, a.code::text, 0 FROM ledger_account a"
        " WHERE a.id = %(expressions)s"
        " UNION ALL"
        " SELECT p.id, p.parent_id, p.code::text, up.depth + 1"
        " FROM ledger_account p JOIN up ON p.id = up.parent_id WHERE up.depth < 64)"
        " SELECT array_agg(up.code ORDER BY up.depth DESC) FROM up)"
    )
    output_field = ArrayField(models.TextField())


ACCOUNT_EDITABLE = ("name", "must_not_go_negative", "is_active")
ACCOUNT_FIXED = ("code", "type", "commodity", "parent")


@admin.register(Account)
class AccountAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "tree_name",
        "type",
        "commodity",
        "must_not_go_negative",
        "is_active",
        "balance_quantity",
        "balance_value",
    )
    list_display_links = ("code", "tree_name")
    list_filter = ("type", "commodity", "is_active")
    search_fields = ("code", "name")
    list_select_related = ("commodity",)
    sortable_by = ()  # always the tree
    list_per_page = 500  # a chart is a few hundred accounts: one page, one tree

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Account]:
        return super().get_queryset(request).annotate(tree_path=TreePath(F("id")))

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # An expression, not the annotation's name: Django also orders the parent choices
        # of account forms by this, on querysets without the annotation.
        return [TreePath(F("id")).asc()]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # One read of every balance for the page, not one per row.
        found = {row.account_id: row for row in selectors.balances(as_of=utc_today())}
        for account in changelist.result_list:
            account.balance_today = found.get(account.pk)
        return changelist

    @admin.display(description="name")
    def tree_name(self, obj: Account) -> str:
        depth = len(getattr(obj, "tree_path", None) or [obj.code]) - 1
        if depth <= 0:
            return obj.name
        return format_html(
            '<span class="tree-depth-{}" style="padding-left: {}em">{}{}</span>',
            depth,
            depth * 1.5,
            "— " * depth,
            obj.name,
        )

    @admin.display(description="balance today (UTC)")
    def balance_quantity(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return amount(balance.quantity, balance.scale, balance.commodity)

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def balance_value(self, obj: Account) -> str:
        balance = getattr(obj, "balance_today", None)
        if balance is None:
            return "-"
        return amount(balance.value, VALUE_PLACES)

    @admin.display(description="balance today (UTC), with its children")
    def balance_detail(self, obj: Account) -> str:
        if obj.pk is None:
            return "-"
        balance = selectors.account_balance(account=obj, as_of=utc_today())
        quantity = amount(balance.quantity, balance.scale, balance.commodity)
        if balance.commodity == FUNCTIONAL_CURRENCY:
            return quantity
        return f"{quantity}, valued {amount(balance.value, VALUE_PLACES, FUNCTIONAL_CURRENCY)}"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return AccountAddForm.Meta.fields
        return (
            "code",
            "name",
            "type",
            "commodity",
            "parent",
            "must_not_go_negative",
            "is_active",
            "balance_detail",
            "created_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (*ACCOUNT_FIXED, "balance_detail", "created_at")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = AccountChangeForm if obj is not None else AccountAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            original = Account.objects.select_related("commodity").get(pk=obj.pk)
            self.call_service(
                lambda: services.account_update(
                    account=original,
                    **{name: changed[name] for name in ACCOUNT_EDITABLE if name in changed},
                )
            )
            return
        created = self.call_service(lambda: services.account_create(**form.service_arguments()))
        adopt(obj, created)


# --- journal -----------------------------------------------------------------------------


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("account", "commodity", "quantity_display", "value_display")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Posting]:
        return super().get_queryset(request).select_related("account").order_by("id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="quantity")
    def quantity_display(self, obj: Posting) -> str:
        return amount(obj.quantity, obj.scale, obj.commodity_id)

    @admin.display(description=f"{FUNCTIONAL_CURRENCY} value")
    def value_display(self, obj: Posting) -> str:
        return amount(obj.value, VALUE_PLACES)


def _reversed_by(entry: JournalEntry) -> JournalEntry | None:
    try:
        return entry.reversed_by
    except ObjectDoesNotExist:
        return None


@admin.register(JournalEntry)
class JournalEntryAdmin(RoleAdmin):
    # No add (a person's entry is a manual journal, approved by another before it posts), no
    # change, no delete: posted entries are immutable. A mistake is undone by cancelling the
    # entry's document, asked for here and approved by another person.
    cancel_roles = OPERATE_ROLES
    list_display = (
        "sequence_label",
        "effective_date",
        "kind",
        "short_memo",
        "created_by_name",
        "reversal",
        "status",
    )
    list_display_links = ("sequence_label",)
    list_filter = ("kind", "status")
    date_hierarchy = "effective_date"
    search_fields = ("memo", "idempotency_key", "sequence__exact")
    search_help_text = "Memo, idempotency key or sequence number (#123 or 123)."
    list_select_related = ("created_by", "reversal_of", "reversed_by")
    show_full_result_count = False
    actions = None
    inlines = (PostingInline,)
    fields = (
        "sequence_label",
        "effective_date",
        "kind",
        "status",
        "memo",
        "idempotency_key",
        "payload_hash",
        "reversal",
        "document",
        "cancellation",
        "created_by_name",
        "approved_by_name",
        "manual_journal_link",
        "created_at",
    )
    readonly_fields = fields
    change_form_template = "admin/ledger/journalentry/change_form.html"

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.cancel_roles)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[JournalEntry]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "created_by", "approved_by", "reversal_of", "reversed_by", "manual_journal"
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet, search_term: str
    ) -> tuple[models.QuerySet, bool]:
        term = search_term.strip()
        if term.startswith("#") and term[1:].isdigit():
            return queryset.filter(sequence=int(term[1:])), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="sequence", ordering="sequence")
    def sequence_label(self, obj: JournalEntry) -> str:
        return entry_label(obj)

    @admin.display(description="memo")
    def short_memo(self, obj: JournalEntry) -> str:
        return Truncator(obj.memo).chars(80)

    @admin.display(description="created by")
    def created_by_name(self, obj: JournalEntry) -> str:
        return obj.created_by.get_username() if obj.created_by else "-"

    @admin.display(description="approved by")
    def approved_by_name(self, obj: JournalEntry) -> str:
        return obj.approved_by.get_username() if obj.approved_by else "-"

    @admin.display(description="manual journal")
    def manual_journal_link(self, obj: JournalEntry) -> str:
        try:
            journal = obj.manual_journal  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "-"
        url = reverse("admin:ledger_manualjournal_change", args=[journal.pk])
        return format_html('<a href="{}">{}</a>', url, journal_label(journal))

    @admin.display(description="reversal")
    def reversal(self, obj: JournalEntry) -> str:
        parts = []
        if obj.reversal_of is not None:
            parts.append(format_html("reverses {}", entry_link(obj.reversal_of)))
        reversed_by = _reversed_by(obj)
        if reversed_by is not None:
            parts.append(format_html("reversed by {}", entry_link(reversed_by)))
        if not parts:
            return "-"
        return format_html_join("; ", "{}", ((part,) for part in parts))

    @admin.display(description="document")
    def document(self, obj: JournalEntry) -> str:
        return cancellations.document_of(obj)

    @admin.display(description="cancellation")
    def cancellation(self, obj: JournalEntry) -> str:
        found = obj.cancellations.order_by("-id").first()
        if found is None:
            return "-"
        url = reverse("admin:ledger_cancellation_change", args=[found.pk])
        return format_html(
            '<a href="{}">#{}</a> {}', url, found.pk, found.get_status_display().lower()
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.cancel_view)
        return [
            path("<path:object_id>/cancel/", view, name="ledger_journalentry_cancel"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        entry = self.get_object(request, unquote(object_id))
        can_cancel = (
            entry is not None
            and entry.reversal_of_id is None
            and self.has_cancel_permission(request)
            and not entry.cancellations.exclude(status=CancellationStatus.REJECTED).exists()
        )
        extra_context = {**(extra_context or {}), "can_cancel": can_cancel}
        return super().change_view(request, object_id, form_url, extra_context)

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Ask for the entry's document to be cancelled; another person approves."""
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        entry = self.get_object(request, unquote(object_id))
        if entry is None:
            raise Http404(f"no journal entry {object_id}")
        form = CancellationRequestForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                cancellation, _created = services.cancellation_request(
                    entry=entry,
                    reason=form.cleaned_data["reason"],
                    effective_date=form.cleaned_data["effective_date"] or None,
                    by=request.user,
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.message_user(
                    request,
                    f"Cancellation of {cancellation.document} asked for: a finance approver "
                    "other than you approves it (only then is anything reversed).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ledger_cancellation_change", args=[cancellation.pk])
                )
        return self.confirm_page(
            request,
            original=entry,
            form=form,
            title=f"Cancel the document of entry {entry_label(entry)}",
            intro=(
                f"{cancellations.document_of(entry)} ({entry.effective_date}, "
                f"{Truncator(entry.memo).chars(80)}). Once another person approves, its entry "
                "is reversed and what it did to lots, disposals and loans is undone with it; "
                "if later events depend on it, it is refused, naming them."
            ),
            submit_label="Ask for the cancellation",
        )


@admin.register(Cancellation)
class CancellationAdmin(RoleAdmin):
    """Cancellations: asked for from an entry's page; approved or rejected here by a finance
    approver who did not ask. Nothing here is edited or deleted."""

    decide_roles = APPROVE_ROLES
    list_display = (
        "label",
        "document",
        "entry_link",
        "effective_date",
        "status",
        "requested_by",
        "decided_by",
        "reversal_link",
    )
    list_filter = ("status",)
    search_fields = ("document", "reason")
    list_select_related = ("entry", "reversal", "requested_by", "decided_by")
    fields = (
        "label",
        "document",
        "entry_link",
        "effective_date",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "rejection_reason",
        "reversal_link",
    )
    readonly_fields = fields
    change_form_template = "admin/ledger/cancellation/change_form.html"

    @admin.display(description="cancellation")
    def label(self, obj: Cancellation) -> str:
        return f"#{obj.pk}"

    @admin.display(description="entry")
    def entry_link(self, obj: Cancellation) -> str:
        return entry_link(obj.entry)

    @admin.display(description="reversal")
    def reversal_link(self, obj: Cancellation) -> str:
        return entry_link(obj.reversal) if obj.reversal is not None else "-"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="ledger_cancellation_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="ledger_cancellation_reject",
            ),
            *super().get_urls(),
        ]

    def can_decide(self, request: HttpRequest, cancellation: Cancellation) -> bool:
        return (
            cancellation.status == CancellationStatus.REQUESTED
            and allowed(request.user, self.decide_roles)
            and cancellation.requested_by_id != request.user.pk
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        cancellation = self.get_object(request, unquote(object_id))
        can_decide = cancellation is not None and self.can_decide(request, cancellation)
        extra_context = {**(extra_context or {}), "can_decide": can_decide}
        return super().change_view(request, object_id, form_url, extra_context)

    def _decide(
        self, request: HttpRequest, object_id: str, form: Any, decide: Callable[..., Any]
    ) -> tuple[Cancellation, HttpResponse | None]:
        if not allowed(request.user, self.decide_roles):
            raise PermissionDenied
        cancellation = self.get_object(request, unquote(object_id))
        if cancellation is None:
            raise Http404(f"no cancellation {object_id}")
        if request.method == "POST" and form.is_valid():
            try:
                decided = decide(cancellation)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                message = (
                    f"{decided.document} cancelled: reversed by entry "
                    f"{entry_label(decided.reversal)}."
                    if decided.reversal is not None
                    else f"Cancellation of {decided.document} rejected."
                )
                self.log_change(request, decided, message)
                self.message_user(request, message, messages.SUCCESS)
                return cancellation, HttpResponseRedirect(
                    reverse("admin:ledger_cancellation_change", args=[decided.pk])
                )
        return cancellation, None

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        cancellation, done = self._decide(
            request,
            object_id,
            form,
            lambda c: services.cancellation_approve(cancellation=c, by=request.user),
        )
        if done is not None:
            return done
        return self.confirm_page(
            request,
            original=cancellation,
            form=form,
            title=f"Approve the cancellation of {cancellation.document}",
            intro=f"Asked for by {username(cancellation.requested_by)}: {cancellation.reason}. "
            f"Approving reverses entry {entry_label(cancellation.entry)} at "
            f"{cancellation.effective_date} and undoes its lots, disposals and loan figures, "
            "in one transaction.",
            submit_label="Approve and reverse",
        )

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        form = RejectJournalForm(request.POST if request.method == "POST" else None)
        cancellation, done = self._decide(
            request,
            object_id,
            form,
            lambda c: services.cancellation_reject(
                cancellation=c, by=request.user, reason=form.cleaned_data["reason"]
            ),
        )
        if done is not None:
            return done
        return self.confirm_page(
            request,
            original=cancellation,
            form=form,
            title=f"Reject the cancellation of {cancellation.document}",
            intro=f"Asked for by {username(cancellation.requested_by)}: {cancellation.reason}. "
            "Nothing is reversed; the request keeps your reason.",
            submit_label="Reject",
        )


# --- periods -----------------------------------------------------------------------------


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

    def save_model(self, request: HttpRequest, obj: PeriodClose, form: Any, change: bool) -> None:
        if change:  # no plain edit: has_change_permission is False for everyone
            raise PermissionDenied
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
            raise PermissionDenied
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
                f"Closed by {close.closed_by.get_username()} at {close.closed_at:%Y-%m-%d %H:%M} "
                "UTC. Reopening lets entries be dated in this period again; it is recorded "
                "with your name, the time and the reason. Earlier closes stay in force."
            ),
            submit_label="Reopen",
        )


# --- manual journals (maker-checker) ------------------------------------------------------


def journal_label(journal: ManualJournal) -> str:
    return f"MJ-{journal.pk}"


def username(user: Any) -> str:
    return user.get_username() if user is not None else "-"


def _editable(journal: ManualJournal | None, user: Any) -> bool:
    """A new journal, or a draft of the user's own."""
    if journal is None:
        return allowed(user, OPERATE_ROLES)
    return journal.is_draft and journal.created_by_id == getattr(user, "pk", None)


class ManualJournalLineInline(admin.TabularInline):
    model = ManualJournalLine
    form = ManualJournalLineForm
    formset = ManualJournalLineFormSet
    fields = ("account", "quantity", "value")
    autocomplete_fields = ("account",)
    extra = 2
    min_num = 0
    verbose_name = "line"
    verbose_name_plural = "lines (debit positive, credit negative; values in USD)"

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 2 if obj is None else 1

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[ManualJournalLine]:
        return super().get_queryset(request).select_related("account").order_by("id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _editable(obj, request.user)  # a draft's line, while it is a draft


@admin.register(ManualJournal)
class ManualJournalAdmin(RoleAdmin):
    """Finance staff and approvers draft a journal with its lines and submit it; a finance
    approver who is not its maker approves it (then it is posted) or rejects it with a
    reason. Every step goes through ledger.services; PostgreSQL refuses the rest."""

    add_roles = OPERATE_ROLES
    decide_roles = APPROVE_ROLES
    form = ManualJournalForm
    inlines = (ManualJournalLineInline,)
    list_display = (
        "label",
        "status",
        "effective_date",
        "short_memo",
        "kind",
        "maker",
        "submitted_at",
        "decided_by",
        "posted_entry",
    )
    list_display_links = ("label",)
    list_filter = ("status", "kind")
    search_fields = ("memo", "=id")
    list_select_related = ("created_by", "approved_by", "rejected_by", "entry")
    date_hierarchy = "effective_date"
    change_form_template = "admin/ledger/manualjournal/change_form.html"

    # --- who may do what

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return allowed(request.user, OPERATE_ROLES)
        return _editable(obj, request.user)

    def can_submit(self, request: HttpRequest, journal: ManualJournal) -> bool:
        return _editable(journal, request.user)

    def can_decide(self, request: HttpRequest, journal: ManualJournal) -> bool:
        """Approve or reject: an approver, not the maker (the service refuses too)."""
        return (
            journal.status == ManualJournalStatus.SUBMITTED
            and allowed(request.user, self.decide_roles)
            and journal.created_by_id != request.user.pk
        )

    # --- list and page

    @admin.display(description="journal", ordering="id")
    def label(self, obj: ManualJournal) -> str:
        return journal_label(obj)

    @admin.display(description="memo")
    def short_memo(self, obj: ManualJournal) -> str:
        return Truncator(obj.memo).chars(80)

    @admin.display(description="maker", ordering="created_by__username")
    def maker(self, obj: ManualJournal) -> str:
        return username(obj.created_by)

    @admin.display(description="approved or rejected by")
    def decided_by(self, obj: ManualJournal) -> str:
        return username(obj.approved_by or obj.rejected_by)

    @admin.display(description="posted as")
    def posted_entry(self, obj: ManualJournal) -> str:
        return entry_link(obj.entry) if obj.entry is not None else "-"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ManualJournalForm.Meta.fields
        fields: tuple[str, ...] = (
            "status",
            "effective_date",
            "memo",
            "kind",
            "maker",
            "created_at",
            "submitted_at",
        )
        if obj.status == ManualJournalStatus.APPROVED:
            fields += ("approved_by", "approved_at", "posted_entry")
        if obj.status == ManualJournalStatus.REJECTED:
            fields += ("rejected_by", "rejected_at", "rejection_reason")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        fixed = tuple(
            f for f in self.get_fields(request, obj) if f not in ManualJournalForm.Meta.fields
        )
        return fixed if _editable(obj, request.user) else self.get_fields(request, obj)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "title": "Draft a manual journal",
            "show_save_and_add_another": False,
        }
        return super().add_view(request, form_url, extra_context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        journal = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {})}
        if journal is not None:
            context.update(
                can_submit=self.can_submit(request, journal),
                can_decide=self.can_decide(request, journal),
                can_copy=journal.status == ManualJournalStatus.REJECTED
                and allowed(request.user, OPERATE_ROLES),
                title=f"{journal_label(journal)}: {journal.get_status_display().lower()}",
                show_save_and_add_another=False,
            )
        return super().change_view(request, object_id, form_url, context)

    # --- saving: the journal and its lines in one service call

    def save_model(self, request: HttpRequest, obj: ManualJournal, form: Any, change: bool) -> None:
        """Saved with its lines, by the service, in save_related."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        (lines,) = formsets
        postings = [line for _, line in lines.lines()]
        header = {name: form.cleaned_data[name] for name in ManualJournalForm.Meta.fields}
        for formset in formsets:  # written by the service, not the formset
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if change:
            journal = self.call_service(
                lambda: services.manual_journal_update(
                    journal=form.instance.pk, by=request.user, postings=postings, **header
                )
            )
        else:
            journal, _created = self.call_service(
                lambda: services.manual_journal_create(by=request.user, postings=postings, **header)
            )
        adopt(form.instance, journal)

    # --- actions: submit, approve, reject, copy

    def get_urls(self) -> list[Any]:
        def view(action: str) -> Any:
            return self.admin_site.admin_view(getattr(self, f"{action}_view"))

        return [
            path(f"<path:object_id>/{action}/", view(action), name=f"ledger_manualjournal_{action}")
            for action in ("submit", "approve", "reject", "copy")
        ] + super().get_urls()

    def _journal_or_404(self, request: HttpRequest, object_id: str) -> ManualJournal:
        journal = self.get_object(request, unquote(object_id))
        if journal is None:
            raise Http404(f"no manual journal {object_id}")
        return journal

    def _page(
        self,
        request: HttpRequest,
        journal: ManualJournal,
        form: Any,
        *,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        response = self.confirm_page(
            request,
            original=journal,
            form=form,
            title=title,
            intro=intro,
            submit_label=submit_label,
        )
        response.template_name = "admin/ledger/manualjournal/action_form.html"
        assert response.context_data is not None
        response.context_data["lines"] = [
            {
                "account": line.account,
                "quantity": amount(
                    line.quantity, line.account.commodity.decimal_places, line.account.commodity_id
                ),
                "value": amount(line.value, VALUE_PLACES),
            }
            for line in journal.lines.select_related("account__commodity").order_by("id")
        ]
        response.context_data["journal"] = journal
        return response

    def _done(self, request: HttpRequest, journal: ManualJournal, message: str) -> HttpResponse:
        self.log_change(request, journal, message)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:ledger_manualjournal_change", args=[journal.pk]))

    def submit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, OPERATE_ROLES):
            raise PermissionDenied
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_submit(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                return self._done(
                    request, journal, f"{journal_label(journal)} submitted for approval."
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Submit {journal_label(journal)} for approval",
            intro="Once submitted it can no longer be edited. A finance approver other than "
            "you approves it (it is then posted) or rejects it with a reason.",
            submit_label="Submit for approval",
        )

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, self.decide_roles):
            raise PermissionDenied
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_approve(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                assert journal.entry is not None
                return self._done(
                    request,
                    journal,
                    f"{journal_label(journal)} approved and posted as entry "
                    f"{entry_label(journal.entry)}.",
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Approve {journal_label(journal)}",
            intro=f"Made by {username(journal.created_by)}. Approving posts these lines to "
            "the journal now, recorded as made by its maker and approved by you.",
            submit_label="Approve and post",
        )

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, self.decide_roles):
            raise PermissionDenied
        form = RejectJournalForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = services.manual_journal_reject(
                    journal=journal, by=request.user, reason=form.cleaned_data["reason"]
                )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                return self._done(
                    request,
                    journal,
                    f"{journal_label(journal)} rejected: {journal.rejection_reason}",
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Reject {journal_label(journal)}",
            intro=f"Made by {username(journal.created_by)}. Nothing is posted; the journal "
            "keeps your reason. Rejected is final: its maker drafts a new journal.",
            submit_label="Reject",
        )

    def copy_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        journal = self._journal_or_404(request, object_id)
        if not allowed(request.user, OPERATE_ROLES):
            raise PermissionDenied
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                copy = services.manual_journal_copy(journal=journal, by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, copy, f"Copy of {journal_label(journal)}")
                self.message_user(
                    request,
                    f"{journal_label(copy)} drafted from {journal_label(journal)}: edit it, then "
                    "submit it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:ledger_manualjournal_change", args=[copy.pk])
                )
        return self._page(
            request,
            journal,
            form,
            title=f"Draft a copy of {journal_label(journal)}",
            intro="A new draft with the same date, memo and lines, yours to edit and submit.",
            submit_label="Draft a copy",
        )


# --- the sealed journal -------------------------------------------------------------------


@admin.register(JournalSeal)
class JournalSealAdmin(RoleAdmin):
    """Read-only, for every role: written by the sealing job, never changed or deleted.
    *Verify the chain* hashes the sealed entries again (selectors.journal_verify)."""

    list_display = ("sequence", "entry", "short_hash", "postings", "sealed_at")
    search_fields = ("sequence__exact", "entry_id__exact")
    search_help_text = "Sequence or entry id."
    show_full_result_count = False
    list_per_page = 100
    sortable_by = ()
    fields = (
        "sequence",
        "entry",
        "previous_hash",
        "header_hash",
        "postings_hash",
        "postings",
        "content_hash",
        "entry_hash",
        "sealed_at",
    )
    readonly_fields = fields
    change_list_template = "admin/ledger/journalseal/change_list.html"

    @admin.display(description="entry")
    def entry(self, obj: JournalSeal) -> str:
        # A plain id: the seal outlives its entry, to report it missing.
        url = reverse("admin:ledger_journalentry_change", args=[obj.entry_id])
        return format_html('<a href="{}">{}</a>', url, obj.entry_id)

    @admin.display(description="hash")
    def short_hash(self, obj: JournalSeal) -> str:
        return format_html('<code title="{}">{}…</code>', obj.entry_hash, obj.entry_hash[:16])

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.verify_view)
        return [path("verify/", view, name="ledger_journalseal_verify"), *super().get_urls()]

    def verify_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = selectors.journal_verify(chains=True)
        through = "nothing yet" if report.sealed_through is None else f"#{report.sealed_through}"
        found = report.first_break
        chains = "".join(
            f" The {chain.chain} are sealed through "
            f"{'nothing yet' if chain.sealed_through is None else f'#{chain.sealed_through}'}"
            f" ({chain.entries_checked} entries checked, head hash {chain.head_hash})."
            for chain in report.chains
        )
        if found is None:
            self.message_user(
                request,
                f"The chain verifies: {report.entries_checked} entries checked, sealed through "
                f"{through}, head hash {report.head_hash}; {report.unsealed_entries} entries "
                f"wait for the next sealing run.{chains}",
                messages.SUCCESS,
            )
        else:
            chain = "The chain" if found.chain == "journal" else f"The {found.chain} chain"
            row = "" if found.record is None else f", {found.record} {found.record_id}"
            self.message_user(
                request,
                f"{chain} breaks at sequence {found.sequence} (entry {found.entry_id}{row}): "
                f"{found.reason}: {found.detail}. {report.entries_checked} entries matched "
                f"their seals in the journal.{chains}",
                messages.ERROR,
            )
        return HttpResponseRedirect(reverse("admin:ledger_journalseal_changelist"))


# --- the audit log ------------------------------------------------------------------------


class AuditedTableFilter(admin.SimpleListFilter):
    title = "table"
    parameter_name = "table_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(table, audit.model_label(table) or table) for table in sorted(audit_tables())]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        return queryset.filter(table_name=value) if value else queryset


def _pretty(values: Any) -> str:
    if values is None:
        return "-"
    text = json.dumps(values, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return format_html('<pre style="margin: 0; white-space: pre-wrap">{}</pre>', text)


@admin.register(AuditLog)
class AuditLogAdmin(RoleAdmin):
    """Read-only, for every role: written by PostgreSQL triggers, never changed or deleted."""

    list_display = ("at", "actor", "action", "table", "record", "changes", "context")
    list_filter = (AuditedTableFilter, "action", ("at", admin.DateFieldListFilter))
    search_fields = ("=record_id", "actor", "context")
    search_help_text = "Record id (exact), actor (user:alice, task:…, command:…) or context."
    show_full_result_count = False
    list_per_page = 100
    sortable_by = ()
    fields = (
        "at",
        "transaction_id",
        "actor",
        "actor_user_id",
        "context",
        "table",
        "record",
        "action",
        "old_values",
        "new_values",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        # The History link of every audited record's page filters by these.
        if lookup in {"table_name", "record_id", "actor", "transaction_id", "actor_user_id"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="table")
    def table(self, obj: AuditLog) -> str:
        return audit.model_label(obj.table_name) or obj.table_name

    # Tables logged under another key than their primary key (a token's is its secret).
    NOT_BY_PRIMARY_KEY = frozenset({"authtoken_token", "knox_authtoken"})

    @admin.display(description="record")
    def record(self, obj: AuditLog) -> str:
        model = audit.models_by_table().get(obj.table_name)
        if (
            model is None
            or not obj.record_id
            or obj.table_name in self.NOT_BY_PRIMARY_KEY
            or model not in self.admin_site._registry
        ):
            return obj.record_id or "-"
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.record_id])
        return format_html('<a href="{}">{}</a>', url, obj.record_id)

    @admin.display(description="what changed")
    def changes(self, obj: AuditLog) -> str:
        if obj.action == AuditAction.UPDATE and obj.new:
            return Truncator(", ".join(sorted(obj.new))).chars(80)
        return obj.get_action_display()

    @admin.display(description="before")
    def old_values(self, obj: AuditLog) -> str:
        return _pretty(obj.old)

    @admin.display(description="after")
    def new_values(self, obj: AuditLog) -> str:
        return _pretty(obj.new)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise Http404("the audit log has no history of its own: it never changes")


from ledger import admin_tokens  # noqa: E402, F401 (API tokens, without their secrets)
