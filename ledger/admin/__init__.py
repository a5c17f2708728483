"""The admin in which finance staff do their daily work on the ledger.

Who may do what comes from the role groups (ledger.roles), not from Django model
permissions: every role reads; finance staff and approvers keep the chart of accounts and
reverse entries; approvers close and reopen periods and maintain commodities; auditors read
and write nothing. Superusers may do what any role may. Nothing in the ledger is deleted.

Every write goes through ledger.services, so the admin obeys the same rules as the API.

The daily and monthly roll-ups (DailyBalance, MonthlyBalance) are not registered: they are
derived rows kept by a database trigger, with no meaning of their own beyond the balances
shown here; they are verified against the postings by selectors.rollup_differences().

One module per domain: base (what they share, RoleAdmin), accounts, journal, cancellations,
periods, manual_journals (with manual_journal_attachments, the pages of their supporting
documents), seals, audit and tokens (API tokens, without their secrets).
"""

from __future__ import annotations

from django.contrib import admin

# Importing a submodule registers its admins. This is the order they were registered in
# when the admin was one module, kept as it was (isort would sort it).
# isort: off
from ledger.admin import (  # noqa: F401
    accounts,
    journal,
    cancellations,
    periods,
    manual_journals,
    seals,
    audit,
    tokens,
)

# isort: on

# Imported from ledger.admin outside the ledger (holdings/admin.py, holdings/admin_schedule.py,
# tests): kept here so that those imports need not change. Submodules import from
# ledger.admin.base, never from here.
from ledger.admin.base import (
    RoleAdmin,
    adopt,
    allowed,
    entry_link,
    refusal,
    utc_time,
    utc_today,
)

__all__ = ["RoleAdmin", "adopt", "allowed", "entry_link", "refusal", "utc_time", "utc_today"]

admin.site.site_header = "cango-treasury"
admin.site.site_title = "cango-treasury"
admin.site.index_title = "Treasury ledger"
