"""What PostgreSQL refuses of a site cost whose entry does not post what the document makes
of it. A writer gone wrong is played by the service with the entry's postings, or the
document, altered on their way to the database."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError

from holdings import chart, migrations
from holdings.models import SiteCost
from holdings.selectors import cost_integrity
from holdings.services import costs
from holdings.services.reconciliation import reconcile
from ledger import services as ledger_services
from tests.holdings.database.test_disposal_records import behind_the_triggers
from tests.holdings.services.test_costs import (
    HEADER,
    JULY,
    _typed,
    sites,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sites")]
D = Decimal

AUGUST = HEADER + b"SITE-A,power,Grid Co,P-08,2025-08-01,2025-08-31,,150000.00,,,,,,,\n"


def postings_written_as(monkeypatch, change) -> None:
    """Each site cost's postings pass through `change` on their way to the journal."""
    plan = costs._postings
    monkeypatch.setattr(costs, "_postings", lambda cost: change(cost, plan(cost)))


def moved(lines, code, by):
    return [(c, v + by, q + by) if c == code else (c, v, q) for c, v, q in lines]


def test_an_invoices_entry_books_its_cost(monkeypatch):
    """A tenth of the power invoice's cost booked, the rest left owed to the vendor."""

    def short(cost, lines):
        if cost.reference != "P-07":
            return lines
        return moved(moved(lines, "5000-SITE-A", D("-157500.00")), "2210", D("157500.00"))

    postings_written_as(monkeypatch, short)
    with pytest.raises(
        IntegrityError,
        match=r"holdings_site_cost_matches_its_entry: site cost \d+ \(power invoice P-07 of site "
        r"SITE-A\) makes -160000\.00 USD of account 2210, but its entry #\d+ of 2025-07-31 posts "
        r"-2500\.00 at -2500\.00\n",
    ):
        costs.site_costs_import(content=JULY, file_name="july.csv")
    assert not SiteCost.objects.exists()


def test_an_invoice_paid_in_cash_is_not_owed(monkeypatch):
    def owed(cost, lines):
        return [("2210" if c == chart.CASH else c, v, q) for c, v, q in lines]

    postings_written_as(monkeypatch, owed)
    paid = JULY.replace(b"site staff,\n", b"site staff,true\n")
    with pytest.raises(
        IntegrityError,
        match=r"site cost \d+ \(other invoice O-07 of site SITE-B\) makes -10000\.00 USD of "
        r"account 1000, but its entry #\d+ of 2025-07-31 posts 0 at 0",
    ):
        costs.site_costs_import(content=paid, file_name="july.csv")


def test_an_accrual_sits_on_its_own_sites_accounts(monkeypatch):
    costs.site_costs_import(content=JULY, file_name="july.csv")

    def elsewhere(cost, lines):
        return [(c.replace("SITE-A", "SITE-B"), v, q) for c, v, q in lines]

    costs.site_account(chart.HOSTING_COST, SiteCost.objects.get(reference="H-07").site)
    for parent in (chart.POWER_COST, chart.HOSTING_COST, chart.ACCRUED_SITE_COSTS):
        costs.site_account(parent, SiteCost.objects.get(reference="O-07").site)
    postings_written_as(monkeypatch, elsewhere)
    with pytest.raises(
        IntegrityError,
        match=r"site cost \d+ \(\w+ accrual \S+ of site SITE-A\) makes -\d+\.00 USD of account "
        r"2200-SITE-A, but its entry #\d+ of 2025-08-31 posts 0 at 0",
    ):
        costs.site_costs_accrue(month=date(2025, 8, 1))


def test_an_invoice_reversing_an_accrual_takes_it_out(monkeypatch):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    costs.site_costs_accrue(month=date(2025, 8, 1))

    def kept(cost, lines):
        return [line for line in lines if not line[0].startswith("2200-")] + [
            ("5000-SITE-A", D("160000.00"), D("160000.00"))
        ]

    postings_written_as(monkeypatch, kept)
    with pytest.raises(
        IntegrityError,
        match=r"site cost \d+ \(power invoice P-08 of site SITE-A\) makes 160000\.00 USD of "
        r"account 2200-SITE-A, but its entry #\d+ of 2025-08-31 posts 0 at 0",
    ):
        costs.site_costs_import(content=AUGUST, file_name="august.csv")


def test_site_costs_as_the_service_writes_them_pass(staff_user, approver_user):
    """Invoices from a file, paid and owed, accruals, an invoice reversing one, a typed
    invoice approved by another person."""
    costs.site_costs_import(content=JULY, file_name="july.csv")
    costs.site_costs_accrue(month=date(2025, 8, 1))
    costs.site_costs_import(content=AUGUST, file_name="august.csv")
    ledger_services.entry_post(
        effective_date=date(2025, 7, 1),
        memo="Capital",
        postings=[("1000", D("500.00"), D("500.00")), ("3000", D("-500.00"), D("-500.00"))],
    )
    paid = HEADER + b"SITE-B,other,,O-09,2025-09-01,2025-09-30,,,,,,500.00,,water,true\n"
    costs.site_costs_import(content=paid, file_name="paid.csv")
    typed = costs.site_cost_submit(line=_typed(), by=staff_user)
    costs.site_cost_approve(cost=typed, by=approver_user)
    assert SiteCost.objects.filter(status="posted").count() == 8


def test_the_rule_reads_the_charts_own_codes():
    name = "0050_site_costs_match_their_entries.sql"
    sql = Path(migrations.__file__).with_name(name).read_text()
    body = sql[sql.index("CREATE FUNCTION") :]
    assert set(re.findall(r"'(\d{4})-?'", body)) == {
        chart.POWER_COST,
        chart.HOSTING_COST,
        chart.OTHER_SITE_COST,
        chart.POWER_CREDITS,
        chart.ACCRUED_SITE_COSTS,
        chart.CASH,
        chart.VENDOR_PAYABLES,
    }
    assert costs.COST_ACCOUNTS == {
        "power": chart.POWER_COST,
        "hosting": chart.HOSTING_COST,
        "other": chart.OTHER_SITE_COST,
    }


def test_the_nightly_check_names_a_site_cost_off_its_entry():
    """As a ledger of an earlier release may hold it: 0050 was not there to refuse."""
    costs.site_costs_import(content=JULY, file_name="july.csv")
    assert [f.status for f in cost_integrity.site_cost_entries()] == ["matched"]
    hosting = SiteCost.objects.get(reference="H-07")
    behind_the_triggers(f"UPDATE holdings_sitecost SET amount = 31000.00 WHERE id = {hosting.pk}")

    sequence = hosting.entry.sequence
    found = [f for f in reconcile_internal() if f.checked == "site_cost_entries"]
    assert [(f.subject, f.status, f.message) for f in found] == [
        (
            str(hosting.pk),
            "unmatched",
            f"site cost {hosting.pk} (hosting invoice H-07 of site SITE-A) makes -31000.00 USD "
            f"of account 2210, but its entry #{sequence} posts -30000.00 at -30000.00",
        ),
        (
            str(hosting.pk),
            "unmatched",
            f"site cost {hosting.pk} (hosting invoice H-07 of site SITE-A) makes 31000.00 USD "
            f"of account 5020-SITE-A, but its entry #{sequence} posts 30000.00 at 30000.00",
        ),
    ]


def reconcile_internal():
    [run] = reconcile(as_of=date(2025, 7, 31), kinds=["internal"])
    return list(run.items.order_by("id"))
