"""What no admin page answers with an error page, whichever admin it is (the project's or a
third party's on the site): a filter the database could not take (NUL, a lookup on a binary
field) is a bad filter, answered as Django answers one (the list again, ?e=1); an id with
NUL or that is no number names nothing; an autocomplete search with NUL is a 400."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from holdings.admin_site import BoundedDateChangeList
from ledger.models import AuditLog, JournalEntry, PeriodClose
from tests.conftest import UserFactory
from tests.holdings.api.test_endpoints import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(client, staff_user, approver_user):
    """The client logged in with a role, with admin access (is_staff)."""
    people = {
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        "staff": staff_user,
        "approver": approver_user,
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])

    def login(role: str):
        client.force_login(people[role])
        return client

    return login


@pytest.fixture
def world(chart):
    return build_world()


# A change list per kind of filter: a field's (a relation's, a choice's, a text's), a list
# filter of the project's own (LotWalletFilter, WaitingFilter), a drill-down from another
# page, and the third-party admins registered on the site (django-celery-beat, results).
NUL_FILTERS = [
    "/admin/holdings/lot/?commodity=%00",
    "/admin/holdings/lot/?commodity__code__exact=BTC%00",
    "/admin/holdings/lot/?wallet=%00",
    "/admin/holdings/lot/?wallet=HOT%00",
    "/admin/holdings/lot/?origin=%00",
    "/admin/ledger/journalentry/?kind=%00",
    "/admin/ledger/journalentry/?memo=a%00b",
    "/admin/ledger/journalentry/?me%00mo=a",
    "/admin/ledger/account/?commodity__code__exact=%00",
    "/admin/ledger/cancellation/?status=%00",
    "/admin/ledger/manualjournal/?waiting=%00",
    "/admin/ledger/manualjournal/?status__exact=%00",
    "/admin/ledger/periodclose/?through=%00",
    "/admin/holdings/sale/?method=%00",
    "/admin/holdings/disposal/?method=%00",
    "/admin/holdings/sitecost/?site__code=%00",
    "/admin/holdings/importbatch/?source=%00",
    "/admin/holdings/price/?source=%00",
    "/admin/ledger/auditlog/?action=%00",
    "/admin/django_celery_beat/periodictask/?task=%00",
    "/admin/django_celery_beat/crontabschedule/?minute=%00",
    "/admin/django_celery_results/taskresult/?status=%00",
]

BINARY_FILTERS = [
    "/admin/holdings/importbatch/?content__gte=abc",
    "/admin/holdings/importbatch/?content=abc",
    "/admin/holdings/statement/?content__gte=abc",
    "/admin/holdings/statementupload/?content__gte=abc",
    "/admin/holdings/statementupload/?content__exact=abc",
]


def refused_as_a_bad_filter(client: Any, page: str) -> None:
    """Django's answer to a bad filter: the same list, unfiltered, with ?e=1 (no error)."""
    response = client.get(page)
    assert response.status_code == 302, page
    path = page.split("?", 1)[0]
    assert response["Location"] == f"{path}?e=1", page
    assert client.get(response["Location"]).status_code == 200, page


@pytest.mark.parametrize("page", NUL_FILTERS)
def test_a_filter_with_nul_is_a_bad_filter_on_every_list(as_role, world, page):
    refused_as_a_bad_filter(as_role("superuser"), page)


@pytest.mark.parametrize(
    "page",
    [
        "/admin/holdings/lot/?commodity=%00",
        "/admin/holdings/lot/?wallet=%00",
        "/admin/ledger/journalentry/?memo=a%00b",
        "/admin/django_celery_beat/periodictask/?task=%00",
    ],
)
def test_finance_staff_are_answered_the_same(as_role, world, page):
    refused_as_a_bad_filter(as_role("staff"), page)


RANGE_FILTERS = [
    "/admin/ledger/commodity/?kind__range=abc",
    "/admin/ledger/journalentry/?kind__range=a,b",
    "/admin/ledger/account/?is_active__range=",
    "/admin/ledger/auditlog/?at__range=",
    "/admin/holdings/lot/?origin__range=2025-02-30",
    "/admin/holdings/reconciliationrun/?as_of__range=",
    "/admin/django_celery_beat/periodictask/?enabled__range=NaN",
]


@pytest.mark.parametrize("page", RANGE_FILTERS)
@pytest.mark.parametrize("role", ["superuser", "staff"])
def test_a_range_lookup_is_a_bad_filter(as_role, world, page, role):
    """Its text went to the database as a pair of bounds: anything but two characters (or,
    on a date or a flag, nothing) answered 500."""
    refused_as_a_bad_filter(as_role(role), page)


def test_an_action_on_ids_that_are_no_ids_does_nothing_and_says_so(as_role, world):
    client = as_role("approver")
    page = "/admin/holdings/importbatch/"
    response = client.post(
        page, {"action": "import_again", "_selected_action": ["abc"], "index": 0}, follow=True
    )
    assert response.status_code == 200
    assert "&#x27;abc&#x27; names no import batch: nothing was done." in (response.content.decode())


@pytest.mark.parametrize("page", BINARY_FILTERS)
def test_a_lookup_on_a_binary_field_is_a_bad_filter(as_role, world, page):
    refused_as_a_bad_filter(as_role("superuser"), page)


def test_the_lists_good_filters_still_filter(as_role, world):
    client = as_role("superuser")
    for page in (
        "/admin/holdings/lot/?wallet=HOT",
        "/admin/holdings/lot/?commodity__code__exact=BTC",
        "/admin/ledger/journalentry/?kind=manual",
        "/admin/holdings/importbatch/?status__exact=succeeded",
        "/admin/django_celery_beat/periodictask/?enabled__exact=1",
    ):
        assert client.get(page).status_code == 200, page


def test_a_search_with_nul_is_djangos_own_refusal(as_role, world):
    response = as_role("superuser").get("/admin/ledger/journalentry/?q=a%00b")
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()


def test_every_admin_on_the_site_has_the_checked_change_list(as_role, world):
    """Third-party admins included: they are registered through the site's register."""
    request = as_role("superuser").get("/admin/").wsgi_request
    assert admin.site._registry
    for model, model_admin in admin.site._registry.items():
        assert model_admin.get_changelist(request) is BoundedDateChangeList, model


# --- ids that name nothing ----------------------------------------------------------------


def pages_of(name: str, object_id: str) -> list[str]:
    return [
        reverse(f"admin:{name}_change", args=[object_id]),
        reverse(f"admin:{name}_history", args=[object_id]),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "holdings_sitecost",
        "holdings_fixedasset",
        "holdings_importbatch",
        "holdings_statementupload",
        "holdings_lot",
        "ledger_journalentry",
        "ledger_manualjournal",
        "ledger_cancellation",
        "ledger_periodclose",
        "ledger_account",
        "ledger_commodity",
        "ledger_auditlog",
        "django_celery_beat_periodictask",
    ],
)
@pytest.mark.parametrize("object_id", ["abc", "US\x00D", "1\x00"])
def test_an_id_that_names_nothing_is_djangos_doesnt_exist(as_role, world, name, object_id):
    client = as_role("superuser")
    for page in pages_of(name, object_id):
        response = client.get(page)
        if name == "ledger_auditlog" and page.endswith("/history/"):
            assert response.status_code == 404, page  # the audit log has no history
            continue
        assert response.status_code == 302, page
        assert response["Location"] == reverse("admin:index"), page
        followed = client.get(page, follow=True)
        assert "exist. Perhaps it was deleted?" in followed.content.decode(), page


def test_an_autocomplete_search_with_nul_is_refused(as_role, world):
    client = as_role("staff")
    query = "?app_label=ledger&model_name=manualjournalline&field_name=account&term="
    response = client.get(reverse("admin:autocomplete") + query + "a%00b")
    assert response.status_code == 400
    assert response.json() == {"error": "The search cannot contain NUL."}
    assert client.get(reverse("admin:autocomplete") + query + "cash").status_code == 200


def test_nothing_was_written(as_role, world):
    before = (JournalEntry.objects.count(), PeriodClose.objects.count(), AuditLog.objects.count())
    client = as_role("superuser")
    for page in [*NUL_FILTERS, *BINARY_FILTERS]:
        client.get(page)
    after = (JournalEntry.objects.count(), PeriodClose.objects.count(), AuditLog.objects.count())
    assert after == before
