"""Fixtures of the ledger's admin tests, and how a test undoes an entry (a cancellation)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import services
from ledger.models import Cancellation, CancellationStatus, JournalEntry
from tests.conftest import UserFactory


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    """Every role, each with admin access (is_staff)."""
    people = {
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return people


@pytest.fixture
def as_role(client, users):
    def login(role: str):
        client.force_login(users[role])
        return client

    return login


def cancel_entry(
    entry: JournalEntry,
    *,
    maker: Any,
    approver: Any,
    effective_date: date | None = None,
    reason: str = "booked in error",
) -> Cancellation:
    """Undo an entry the only way there is: its document's cancellation, asked for by `maker`
    and approved by `approver` (another person, a finance approver). Returns the approved
    cancellation; its `reversal` is the reversing entry."""
    requested, created = services.cancellation_request(
        entry=entry, reason=reason, by=maker, effective_date=effective_date
    )
    assert created and requested.status == CancellationStatus.REQUESTED
    done = services.cancellation_approve(cancellation=requested, by=approver)
    assert done.status == CancellationStatus.APPROVED and done.reversal is not None
    return done
