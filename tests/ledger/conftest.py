"""Fixtures of the ledger's admin tests."""

from __future__ import annotations

import pytest

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
