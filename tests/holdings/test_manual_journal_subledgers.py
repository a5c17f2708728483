"""No manual journal posts to an account a subledger keeps: wallets and every other account
holding lots, the fair value adjustments, loans' accounts, fixed assets' cost and
accumulated depreciation, accrued site costs, vendor deposits and HPC revenue. Each is
refused when drafted, changed, submitted and again when approved, naming the line
(`postings[N].account`) and the documents that post there instead; ordinary accounts (cash,
expenses, equity) take manual journals as before, and a manual journal's cancellation still
posts its reversal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from holdings.models import AssetClass, Loan
from holdings.selectors.lots import lot_differences
from holdings.services import loans
from ledger import services
from ledger.errors import InvalidEntry
from ledger.models import Account, JournalEntry, ManualJournal
from ledger.subledgers import kept_accounts

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1"
JAN_5 = date(2026, 1, 5)
LOTS = "not by a manual journal"


@pytest.fixture
def loan(world) -> Loan:
    return loans.loan_create(
        code="L1",
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 2),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )


def lines(code: str, *, at: int = 0, quantity: str = "100.00", value: str = "100.00") -> list:
    """One debit to `code`, balanced by equity (3000), the debit at position `at`."""
    kept = (code, D(quantity), D(value))
    other = ("3000", -D(value), -D(value))
    return [kept, other] if at == 0 else [other, kept]


def draft(by, postings, *, submit: bool = False) -> ManualJournal:
    journal, _ = services.manual_journal_create(
        effective_date=JAN_5,
        memo="found coins",
        kind="adjustment",
        postings=postings,
        by=by,
        submit=submit,
    )
    return journal


# --- refused at draft: the line and the documents named ----------------------------------


@pytest.mark.parametrize(
    ("code", "quantity", "value", "why"),
    [
        ("1210-COLD-1", "0.5", "50000.00", "account 1210-COLD-1 holds lots: its units"),
        ("1220", "0.5", "50000.00", "account 1220 holds lots"),
        ("1300", "0.5", "50000.00", "account 1300 holds lots"),
        ("1230", "0.5", "50000.00", "account 1230 holds lots"),
        ("1401", "5", "1.00", "account 1401 holds lots"),
        ("1110", "100.000000", "100.00", "account 1110 holds lots"),
        ("1290", "100.00", "100.00", "account 1290 is the fair value adjustment of BTC lots"),
        ("1492", "100.00", "100.00", "account 1492 is the fair value adjustment of ETC coll"),
        ("1600", "100.00", "100.00", "account 1600 is asset class ASIC's cost account"),
        ("1695", "100.00", "100.00", "account 1695 is asset class GPU's accumulated dep"),
        ("2000", "100.00", "100.00", "account 2000 is loans payable, kept in each loan's"),
        ("2110", "100.00", "100.00", "account 2110 is interest payable, kept in each loan's"),
        ("2200", "100.00", "100.00", "account 2200 is accrued site costs: it moves by month"),
        ("1500", "100.00", "100.00", "account 1500 is vendor deposits: it moves by deposits"),
        ("4200", "100.00", "100.00", "account 4200 is HPC revenue: it moves by the months'"),
    ],
)
@pytest.mark.parametrize("at", [0, 1])
def test_a_draft_to_an_account_a_subledger_keeps_is_refused_naming_the_line(
    world, staff_user, code, quantity, value, why, at
):
    with pytest.raises(InvalidEntry) as caught:
        draft(staff_user, lines(code, at=at, quantity=quantity, value=value))
    assert caught.value.field == f"postings[{at}].account"
    assert caught.value.code == "subledger_account"
    assert caught.value.message.startswith(why)
    assert caught.value.message.endswith(LOTS)
    assert not ManualJournal.objects.exists()


def test_a_loans_own_accounts_name_the_loan_and_its_events(loan, staff_user):
    expected = {
        loan.principal_account.code: f"account 2000-L1 is loan L1's principal payable: it moves "
        f"by the loan's draws, repayments and liquidations, {LOTS}",
        loan.interest_account.code: f"account 2100-L1 is loan L1's interest payable: it moves "
        f"by the loan's interest accruals, repayments and liquidations, {LOTS}",
    }
    for code, message in expected.items():
        with pytest.raises(InvalidEntry) as caught:
            draft(staff_user, lines(code, at=1))
        assert (caught.value.field, caught.value.message) == ("postings[1].account", message)
    pledged = loan.pledged_account
    assert kept_accounts([pledged.pk])[pledged.pk].startswith(
        f"account {pledged.code} is loan L1's pledged collateral (lots): it moves by the "
        "loan's pledges, releases and liquidations"
    )


def test_the_first_kept_line_is_named(world, staff_user):
    postings = [
        ("5300", D("10.00"), D("10.00")),
        ("1290", D("40.00"), D("40.00")),
        ("1210-COLD-1", D("0.5"), D("50.00")),
        ("3000", D("-100.00"), D("-100.00")),
    ]
    with pytest.raises(InvalidEntry) as caught:
        draft(staff_user, postings)
    assert caught.value.field == "postings[1].account"
    assert "1290" in caught.value.message


def test_ordinary_accounts_still_take_a_manual_journal(world, staff_user, approver_user):
    postings = [
        ("1000", D("1000.00"), D("1000.00")),
        ("5300", D("25.00"), D("25.00")),
        ("5110", D("0.00001"), D("1.00")),  # BTC units on an expense: no lots there
        ("3000", D("-1026.00"), D("-1026.00")),
    ]
    journal = draft(staff_user, postings, submit=True)
    approved = services.manual_journal_approve(journal=journal, by=approver_user)
    assert approved.status == "approved"
    assert sorted(p.account.code for p in approved.entry.postings.all()) == [
        "1000",
        "3000",
        "5110",
        "5300",
    ]
    assert (
        kept_accounts(
            list(
                Account.objects.filter(code__in=["1000", "3000", "4100", "5300"]).values_list(
                    "pk", flat=True
                )
            )
        )
        == {}
    )
    assert lot_differences(as_of=JAN_5) == []


def test_editing_a_draft_onto_a_wallet_is_refused(world, staff_user):
    journal = draft(staff_user, lines("5300"))
    with pytest.raises(InvalidEntry) as caught:
        services.manual_journal_update(
            journal=journal, by=staff_user, postings=lines("1220-HOT-1", quantity="0.5")
        )
    assert caught.value.field == "postings[0].account"
    assert [line.account.code for line in journal.lines.order_by("id")] == ["5300", "3000"]


# --- an account kept after the journal was drafted: refused at submission and approval ---


def new_asset_class(code: str = "ROBOT") -> AssetClass:
    """An asset class added to the chart after the journals below were drafted, on
    accounts that existed before (1620 and 1696)."""
    return AssetClass.objects.create(
        code=code,
        name="Robots",
        useful_life_months=48,
        cost_account="1620",
        accumulated_account="1696",
        expense_account="5400",
    )


@pytest.fixture
def robots_accounts(chart):
    services.account_create(code="1620", name="Robots (at cost)", type="asset", commodity="USD")
    services.account_create(
        code="1696", name="Accumulated depreciation: robots", type="asset", commodity="USD"
    )


def test_a_draft_whose_account_became_kept_is_refused_at_submission(robots_accounts, staff_user):
    journal = draft(staff_user, lines("1620", at=1))
    new_asset_class()
    with pytest.raises(InvalidEntry) as caught:
        services.manual_journal_submit(journal=journal, by=staff_user)
    assert caught.value.field == "postings[1].account"
    assert caught.value.message.startswith("account 1620 is asset class ROBOT's cost account")
    journal.refresh_from_db()
    assert journal.status == "draft"


def test_a_submitted_journal_whose_account_became_kept_is_refused_at_approval(
    robots_accounts, staff_user, approver_user
):
    journal = draft(staff_user, lines("1620"), submit=True)
    new_asset_class()
    entries = JournalEntry.objects.count()
    with pytest.raises(InvalidEntry) as caught:
        services.manual_journal_approve(journal=journal, by=approver_user)
    assert caught.value.field == "postings[0].account"
    assert caught.value.message.startswith(
        f"manual journal #{journal.pk} cannot be approved (reject it): account 1620 is asset "
        "class ROBOT's cost account: it moves by fixed asset receipts"
    )
    assert JournalEntry.objects.count() == entries
    journal.refresh_from_db()
    assert (journal.status, journal.entry) == ("submitted", None)
    rejected = services.manual_journal_reject(journal=journal, by=approver_user, reason="kept")
    assert rejected.status == "rejected"


def test_the_api_refuses_the_approval_naming_the_line(robots_accounts, staff_user, api_client_for):
    journal = draft(staff_user, lines("1696", at=1), submit=True)
    new_asset_class()
    response = api_client_for("approver").post(
        f"{API}/manual-journals/{journal.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("subledger_account", "postings[1].account")
    assert "account 1696 is asset class ROBOT's accumulated depreciation account" in body["detail"]
    assert ManualJournal.objects.get().status == "submitted"


def test_a_manual_journals_cancellation_still_posts_its_reversal(
    robots_accounts, staff_user, approver_user
):
    """The journal was approved before 1620 was kept; undoing it is a cancellation, not a
    manual journal, and puts the account back as the register has it."""
    journal = draft(staff_user, lines("1620"), submit=True)
    journal = services.manual_journal_approve(journal=journal, by=approver_user)
    new_asset_class()
    asked, _ = services.cancellation_request(
        entry=journal.entry, reason="posted to the robots by hand", by=staff_user
    )
    done = services.cancellation_approve(cancellation=asked, by=approver_user)
    assert done.status == "approved" and done.reversal is not None
    assert sorted(
        (p.account.code, p.value) for p in done.reversal.postings.select_related("account")
    ) == [("1620", D("-100.00")), ("3000", D("100.00"))]


# --- the API and the admin ---------------------------------------------------------------


def test_the_api_refuses_found_coins_on_a_wallet(world, api_client_for):
    body = {
        "effective_date": "2026-01-05",
        "memo": "found coins",
        "kind": "adjustment",
        "postings": [
            {"account": "1210-COLD-1", "quantity": "0.5", "value": "50000.00"},
            {"account": "3000", "quantity": "-50000.00", "value": "-50000.00"},
        ],
    }
    response = api_client_for("staff").post(f"{API}/journal-entries/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert (error["code"], error["field"]) == ("subledger_account", "postings[0].account")
    assert error["detail"] == (
        "account 1210-COLD-1 holds lots: its units and their cost move by pool imports and "
        "payouts, sales, transfers, loan events and opening lots, not by a manual journal"
    )
    assert not ManualJournal.objects.exists()
    assert lot_differences(as_of=JAN_5) == []


@pytest.mark.parametrize("code", ["1290", "2000-L1", "2100-L1"])
def test_the_api_refuses_a_draft_to_1290_or_a_loans_account(loan, api_client_for, code):
    body = {
        "effective_date": "2026-01-05",
        "memo": "adjusted by hand",
        "postings": [
            {"account": "3000", "quantity": "-100.00", "value": "-100.00"},
            {"account": code, "quantity": "100.00", "value": "100.00"},
        ],
    }
    response = api_client_for("staff").post(f"{API}/manual-journals/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert (error["code"], error["field"]) == ("subledger_account", "postings[1].account")
    assert error["detail"].startswith(f"account {code} ")
    assert not ManualJournal.objects.exists()


def test_the_admin_shows_the_refusal_on_the_line(world, client, staff_user):
    staff_user.is_staff = True
    staff_user.save(update_fields=["is_staff"])
    client.force_login(staff_user)
    accounts = dict(Account.objects.values_list("code", "pk"))
    data = {
        "effective_date": "2026-01-05",
        "memo": "found coins",
        "kind": "adjustment",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-account": str(accounts["3000"]),
        "lines-0-debit": "",
        "lines-0-credit": "50000.00",
        "lines-0-value": "",
        "lines-1-account": str(accounts["1210-COLD-1"]),
        "lines-1-debit": "0.5",
        "lines-1-credit": "",
        "lines-1-value": "50000.00",
    }
    response = client.post(reverse("admin:ledger_manualjournal_add"), data)
    assert response.status_code == 200, "the form is shown again with its error"
    html = response.content.decode().replace("&#x27;", "'")
    assert "Please correct the line shown below." in html
    message = "Line 2: account 1210-COLD-1 holds lots: its units and their cost move by"
    assert message in html
    # On the line's account field: its error list comes before the line's account input.
    line = html[: html.index('name="lines-1-account"')]
    assert message in line[line.index('name="lines-0-account"') :]
    assert not ManualJournal.objects.exists()
