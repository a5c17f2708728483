"""Rows as a ledger deployed before a rule may hold them, for tests of what reads them."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from ledger import services as ledger_services


def _posted_past(pending: tuple[str, ...], entry: dict[str, Any]) -> Any:
    """Posted, then the checks at commit that read the `pending` tables taken away, after the
    books' own writes were checked (as a ledger kept before those checks holds it)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        posted = ledger_services.entry_post(**entry)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            for table in pending:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("SET session_replication_role = DEFAULT")
    return posted


def posted_past_the_lots(**entry: Any) -> None:
    """An entry no lot explains, as a ledger kept before holdings migrations 0036 and 0041 may
    hold (or a superuser with the triggers off): its comparison with the lots at commit taken
    away. So is its check for its document (holdings 0056), which such a ledger did not have
    either."""
    _posted_past(("holdings_entry_lots_pending", "holdings_entry_documents_pending"), entry)


# This transaction's entries taken out of the check for their documents at commit, as in a
# ledger kept before holdings migration 0056: for tests of the rules before it, whose raw SQL
# writes entries of a document's kind with no document.
DOCUMENTS_UNCHECKED = [
    "SET session_replication_role = replica",
    "DELETE FROM holdings_entry_documents_pending",
    "SET session_replication_role = DEFAULT",
]


def documents_unchecked() -> None:
    with connection.cursor() as cursor:
        for sql in DOCUMENTS_UNCHECKED:
            cursor.execute(sql)


def posted_without_its_document(**entry: Any) -> Any:
    """An entry of a document's kind that no document names, as a ledger kept before holdings
    migration 0056 may hold (or a superuser with the triggers off): its check for its document
    at commit taken away."""
    return _posted_past(("holdings_entry_documents_pending",), entry)
