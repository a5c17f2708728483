"""The sealed journal: its seals, read-only, and *Verify the chain*."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from ledger import selectors
from ledger.admin.base import RoleAdmin, refusal
from ledger.models import JournalSeal


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
            raise refusal("Verifying the journal", self.view_roles)
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
