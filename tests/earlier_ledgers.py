"""Rows as a ledger deployed before a rule may hold them, for tests of what reads them."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from ledger import services as ledger_services


def posted_past_the_lots(**entry: Any) -> None:
    """An entry no lot explains, as a ledger kept before holdings migrations 0036 and 0041 may
    hold (or a superuser with the triggers off): posted, then its comparison with the lots at
    commit taken away, after the books' own writes were checked. So is its check for its
    document (holdings 0056), which such a ledger did not have either."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        ledger_services.entry_post(**entry)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("DELETE FROM holdings_entry_lots_pending")
            cursor.execute("DELETE FROM holdings_entry_documents_pending")
            cursor.execute("SET session_replication_role = DEFAULT")


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
    migration 0056 may hold (or a superuser with the triggers off): posted, then its check
    for its document at commit taken away, after the books' own writes were checked."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        posted = ledger_services.entry_post(**entry)
        documents_unchecked()
    return posted
