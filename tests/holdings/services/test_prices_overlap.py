"""Overlapping price files: the prices already recorded with the same value are skipped when
asked (the command's --skip-identical, the admin form's checkbox), the file refused
otherwise; a price recorded with another value refuses the file either way."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from holdings.models import Price

HEADER = "timestamp,base,quote,price,source\n"
JANUARY = HEADER + (
    "2024-06-01T00:00:00Z,BTC,USD,90000.00,test\n2024-06-02T00:00:00Z,BTC,USD,91000.00,test\n"
)
OVERLAP = HEADER + (
    "2024-06-02T00:00:00Z,BTC,USD,91000.00,test\n2024-06-03T00:00:00Z,BTC,USD,92000.00,test\n"
)
DIFFERING = HEADER + (
    "2024-06-02T00:00:00Z,BTC,USD,91000.01,test\n2024-06-04T00:00:00Z,BTC,USD,93000.00,test\n"
)


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


def year_2024() -> int:
    return Price.objects.filter(timestamp__year=2024).count()


def test_the_command_loads_overlapping_files_only_when_skipping(chart, tmp_path, capsys):
    for name, text in (("jan.csv", JANUARY), ("overlap.csv", OVERLAP), ("diff.csv", DIFFERING)):
        (tmp_path / name).write_text(text)
    call_command("import_prices", str(tmp_path / "jan.csv"))
    with pytest.raises(CommandError, match=r"overlap\.csv, row 2: .*already recorded"):
        call_command("import_prices", str(tmp_path / "overlap.csv"))
    assert year_2024() == 2
    call_command("import_prices", str(tmp_path / "overlap.csv"), "--skip-identical")
    assert "1 price(s) imported, 1 already there" in capsys.readouterr().out
    assert year_2024() == 3
    for extra in ([], ["--skip-identical"]):
        with pytest.raises(CommandError, match=r"diff\.csv, row 2: .*is already 91000\.00"):
            call_command("import_prices", str(tmp_path / "diff.csv"), *extra)
    assert year_2024() == 3


@pytest.mark.django_db
def test_the_admin_form_loads_overlapping_files_only_when_skipping(chart, as_role):
    client = as_role("staff")
    url = reverse("admin:holdings_price_import")

    def upload(name: str, text: str, skip: bool) -> str:
        data = {"file": SimpleUploadedFile(name, text.encode())}
        if skip:
            data["skip_identical"] = "on"
        return client.post(url, data, follow=True).content.decode()

    upload("jan.csv", JANUARY, False)
    assert year_2024() == 2
    assert "overlap.csv, row 2" in upload("overlap.csv", OVERLAP, False)
    assert year_2024() == 2
    assert "1 price(s) imported, 1 already recorded" in upload("overlap.csv", OVERLAP, True)
    assert year_2024() == 3
    assert "is already 91000.00" in upload("diff.csv", DIFFERING, True)
    assert year_2024() == 3
