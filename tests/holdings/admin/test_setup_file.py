"""The "Load set-up from a file" admin page: linked from the sites list for finance staff
and approvers, refused to auditors; a dry run shows what would be created and writes
nothing; a load creates everything; a bad file is a form error naming the row and field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from holdings.models import PoolAccount, Site, Wallet
from tests.holdings.services.test_setup_file import CSV, YAML, counts

pytestmark = pytest.mark.django_db
LOAD = "admin:holdings_site_load"


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    people = {
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
    def login(role: str) -> Any:
        client.force_login(users[role])
        return client

    return login


def post(client, content: bytes, name: str = "setup.yaml", dry_run: bool = False):
    data = {"file": SimpleUploadedFile(name, content)}
    if dry_run:
        data["dry_run"] = "on"
    return client.post(reverse(LOAD), data)


@pytest.mark.parametrize(
    ("role", "code"), [("staff", 200), ("approver", 200), ("auditor", 403), ("no_role", 403)]
)
def test_the_page_for_every_role(world, as_role, role, code):
    client = as_role(role)
    assert client.get(reverse(LOAD)).status_code == code
    sites = client.get(reverse("admin:holdings_site_changelist"))
    if sites.status_code == 200:
        assert (reverse(LOAD) in sites.content.decode()) == (code == 200)
    before = counts()
    assert post(client, YAML).status_code == code
    if code == 403:
        assert counts() == before


def test_a_dry_run_shows_what_would_be_created_and_writes_nothing(world, as_role):
    before = counts()
    response = post(as_role("staff"), YAML, dry_run=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Dry run of setup.yaml: nothing written" in page
    assert "US-ND-01" in page and "ANT-A" in page and "COLD-9" in page
    assert counts() == before


def test_a_load_creates_everything(world, as_role):
    response = post(as_role("approver"), CSV, name="setup.csv")
    assert response.status_code == 200
    assert "Loaded setup.csv" in response.content.decode()
    assert Site.objects.filter(code="US-ND-01").exists()
    assert PoolAccount.objects.get(code="ANT-A").site.code == "US-ND-01"
    assert Wallet.objects.get(code="COLD-9").addresses.count() == 1


def test_a_bad_file_is_a_form_error_naming_row_and_field(world, as_role):
    before = counts()
    bad = CSV.replace(b"f2pool,US-ND-01", b"nopool,US-ND-01")
    response = post(as_role("staff"), bad, name="setup.csv")
    assert response.status_code == 200
    assert "setup.csv, row 3, field pool" in response.content.decode()
    assert counts() == before
    response = as_role("staff").post(reverse(LOAD), {})
    assert "This field is required" in response.content.decode()
