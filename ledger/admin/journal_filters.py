"""The journal list's filters: an account (with the accounts below it), a date range and
the type of document behind the entry; and how an entry finds its document.

An entry's document is whatever row points at it one to one (a pool record, payout, sale,
transfer, loan event, remeasurement, manual journal, or the cancellation whose reversal it
is): the ledger finds it from the relations the applications declare, without knowing
their models."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from ledger.dates import parse_report_date
from ledger.models import Account, JournalEntry, Posting
from ledger.selectors import subtree_ids


def document_relations() -> list[Any]:
    """The one-to-one relations other tables hold to an entry: its possible documents."""
    return [
        relation
        for relation in JournalEntry._meta.related_objects
        if relation.one_to_one and relation.related_model is not JournalEntry
    ]


def document_object(entry: JournalEntry) -> models.Model | None:
    """The row behind the entry, if any."""
    for relation in document_relations():
        try:
            return getattr(entry, relation.get_accessor_name())
        except ObjectDoesNotExist:
            continue
    return None


class InputFilter(admin.ListFilter):
    """A filter typed in (a code, dates) rather than picked from a list."""

    template = "admin/ledger/input_filter.html"
    parameters: tuple[tuple[str, str], ...] = ()  # (parameter, label)

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any):
        super().__init__(request, params, model, model_admin)
        self.request = request
        self.values: dict[str, str] = {}
        for name, _label in self.parameters:
            value = params.pop(name, None)
            if isinstance(value, list):
                value = value[-1]
            if value:
                self.values[name] = str(value).strip()
        self.other_params = [
            (key, value)
            for key, values in request.GET.lists()
            for value in values
            if key not in dict(self.parameters) and key != "p"
        ]

    def has_output(self) -> bool:
        return True

    def refuse(self, queryset: models.QuerySet, problem: str) -> models.QuerySet:
        """A value that cannot be read: said on the page, naming the parameter, and no
        entries listed rather than all of them."""
        messages.error(self.request, problem)
        return queryset.none()

    def expected_parameters(self) -> list[str | None]:
        return [name for name, _label in self.parameters]

    def choices(self, changelist: Any) -> Iterator[Any]:
        yield {
            "fields": [(n, label, self.values.get(n, "")) for n, label in self.parameters],
            "other": self.other_params,
            "clear": changelist.get_query_string(remove=self.expected_parameters()),
        }


class AccountFilter(InputFilter):
    title = "account (with the accounts below it)"
    parameters = (("account", "code"),)

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        code = self.values.get("account")
        if not code:
            return queryset
        account = Account.objects.filter(code=code).first()
        if account is None:
            return self.refuse(queryset, f"account: no account has the code {code[:70]!r}.")
        postings = Posting.objects.filter(
            entry_id=OuterRef("pk"), account_id__in=subtree_ids(account)
        )
        return queryset.filter(Exists(postings))


class DateRangeFilter(InputFilter):
    title = "date range (effective date, UTC)"
    parameters = (("from", "from"), ("to", "to"))

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        days: dict[str, date | None] = {}
        for name in ("from", "to"):
            text = self.values.get(name)
            try:
                days[name] = parse_report_date(text) if text else None
            except ValueError as exc:
                return self.refuse(queryset, f"{name}: {exc}; write the date as YYYY-MM-DD.")
        first, last = days["from"], days["to"]
        if first is not None and last is not None and first > last:
            return self.refuse(queryset, f"to: must not be before from ({first.isoformat()}).")
        if first is not None:
            queryset = queryset.filter(effective_date__gte=first)
        if last is not None:
            queryset = queryset.filter(effective_date__lte=last)
        return queryset


class DocumentTypeFilter(admin.SimpleListFilter):
    title = "document type"
    parameter_name = "document"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (relation.get_accessor_name(), str(relation.related_model._meta.verbose_name))
            for relation in document_relations()
        ] + [("none", "none (a plain entry)")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        if not value:
            return queryset
        names = [relation.get_accessor_name() for relation in document_relations()]
        if value == "none":
            return queryset.filter(**{f"{name}__isnull": True for name in names})
        if value not in names:
            messages.error(request, f"document: {value[:70]!r} is not a document type.")
            return queryset.none()
        return queryset.filter(**{f"{value}__isnull": False})
