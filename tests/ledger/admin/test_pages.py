"""The admin: pages per role, the chart as a tree with balances, writes through the services."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from ledger import selectors, services
from ledger.admin import utc_today
from ledger.errors import InvalidAccount
from ledger.models import Account, Cancellation, Commodity, JournalEntry, PeriodClose
from tests.ledger.conftest import cancel_entry

pytestmark = pytest.mark.django_db

ROLES_THAT_READ = ("superuser", "staff", "approver", "auditor")
D = Decimal


def cash_in(amount: str = "1000.00", day: date | None = None, memo: str = "cash in"):
    value = D(amount)
    return services.entry_post(
        effective_date=day or utc_today(),
        memo=memo,
        postings=[("1000", value, value), ("3000", -value, -value)],
    )


def child(code: str, name: str, parent: str) -> Account:
    """A child account: the same type and commodity as its parent."""
    above = Account.objects.get(code=parent)
    return services.account_create(
        code=code, name=name, type=above.type, commodity=above.commodity_id, parent=parent
    )


def url(name: str, *args) -> str:
    return reverse(f"admin:ledger_{name}", args=args)


def messages_of(response) -> list[str]:
    """The messages shown on the page a followed redirect landed on."""
    assert response.redirect_chain, "follow the redirect to see its messages"
    return [str(message) for message in response.context["messages"]]


def row_of(html: str, code: str) -> str:
    """The changelist row whose link text is the account code."""
    for row in html.split("<tr")[1:]:
        if re.search(rf">{re.escape(code)}</a>", row):
            return row.split("</tr>")[0]
    raise AssertionError(f"no row for {code}")


# --- every role reads; nobody without a role does --------------------------------------------


def test_site_header(as_role, chart):
    response = as_role("superuser").get(reverse("admin:index"))
    assert response.status_code == 200
    assert "cango-treasury" in response.content.decode()


@pytest.mark.parametrize("role", ROLES_THAT_READ)
def test_changelists_and_detail_pages_render_for_every_role(as_role, role, chart, users):
    entry = cash_in()
    done = cancel_entry(entry, maker=users["staff"], approver=users["approver"])
    reversal = done.reversal
    asked, _ = services.cancellation_request(
        entry=cash_in(memo="second"), reason="typo", by=users["staff"]
    )
    close = services.period_close(through=date(2020, 1, 31), by=users["approver"])
    client = as_role(role)
    pages = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["ledger"]),
        url("commodity_changelist"),
        url("commodity_change", "USD"),
        url("account_changelist"),
        url("account_changelist") + "?commodity__code__exact=BTC&is_active__exact=1",
        url("account_changelist") + "?q=cash",
        url("account_change", Account.objects.get(code="1000").pk),
        url("journalentry_changelist"),
        url("journalentry_changelist") + f"?q=%23{entry.sequence}",
        url("journalentry_changelist") + "?q=cash",
        url("journalentry_changelist") + f"?effective_date__year={entry.effective_date.year}",
        url("journalentry_changelist") + "?kind=reversal",
        url("journalentry_change", entry.pk),
        url("journalentry_change", reversal.pk),
        url("cancellation_changelist"),
        url("cancellation_changelist") + "?status__exact=requested",
        url("cancellation_change", done.pk),
        url("cancellation_change", asked.pk),
        url("periodclose_changelist"),
        url("periodclose_change", close.pk),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    index = client.get(reverse("admin:index")).content.decode()
    for model in ("Commodities", "Accounts", "Journal entries", "Cancellations", "Period closes"):
        assert model in index
    for hidden in ("Daily balance", "Monthly balance"):
        assert hidden not in index


def test_a_staff_user_without_a_role_sees_nothing(as_role, chart):
    client = as_role("no_role")
    assert "Ledger" not in client.get(reverse("admin:index")).content.decode()
    for name in ("commodity", "account", "journalentry", "periodclose"):
        assert client.get(url(f"{name}_changelist")).status_code == 403


def test_users_without_is_staff_are_sent_to_the_login(client, staff_user, chart):
    client.force_login(staff_user)  # a role but no admin access
    response = client.get(url("account_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- commodities -------------------------------------------------------------------------------


def test_commodity_list_shows_scale_kind_and_policy(as_role, chart):
    html = as_role("auditor").get(url("commodity_changelist")).content.decode()
    row = row_of(html, "ETC")
    for text in ("Ethereum Classic", ">18<", "Crypto asset", "Fair value (ASC 350-60)"):
        assert text in row


def test_decimal_places_are_read_only_once_an_account_uses_the_commodity(as_role, chart):
    client = as_role("approver")
    services.commodity_create(
        code="SOL", name="Solana", decimal_places=9, kind="crypto", measurement_policy="fair_value"
    )
    used = client.get(url("commodity_change", "USD")).content.decode()
    unused = client.get(url("commodity_change", "SOL")).content.decode()
    assert 'name="decimal_places"' not in used
    assert 'name="decimal_places"' in unused
    response = client.post(
        url("commodity_change", "USD"),
        {"name": "US dollar", "decimal_places": "4", "kind": "fiat", "measurement_policy": "cost"},
    )
    assert response.status_code == 302
    assert Commodity.objects.get(code="USD").decimal_places == 2


def test_only_approvers_change_commodities(as_role, chart):
    data = {"name": "Kaspa!", "decimal_places": "8", "kind": "crypto", "measurement_policy": "cost"}
    assert as_role("staff").post(url("commodity_change", "KAS"), data).status_code == 403
    assert as_role("auditor").post(url("commodity_change", "KAS"), data).status_code == 403
    assert Commodity.objects.get(code="KAS").name == "Kaspa"
    assert as_role("approver").post(url("commodity_change", "KAS"), data).status_code == 302
    assert Commodity.objects.get(code="KAS").name == "Kaspa!"
    new = {"code": "SOL", "name": "Solana", "decimal_places": "9", "kind": "crypto"}
    new["measurement_policy"] = "fair_value"
    assert as_role("staff").post(url("commodity_add"), new).status_code == 403
    assert as_role("approver").post(url("commodity_add"), new).status_code == 302
    assert Commodity.objects.get(code="SOL").decimal_places == 9


# --- accounts: a tree, with balances -------------------------------------------------------------


def test_accounts_are_listed_as_a_tree(as_role, chart):
    # Codes chosen so that code order and tree order differ.
    child("9000", "Bank A", "1000")
    child("0100", "Bank A sub", "9000")
    child("1210-B", "Cold B", "1210")
    child("1210-A", "Cold A", "1210")
    response = as_role("staff").get(url("account_changelist"))
    assert response.status_code == 200
    codes = [account.code for account in response.context["cl"].result_list]
    assert codes[:4] == ["1000", "9000", "0100", "1110"]
    assert codes[codes.index("1210") : codes.index("1210") + 4] == [
        "1210",
        "1210-A",
        "1210-B",
        "1220",
    ]
    assert len(codes) == Account.objects.count()
    html = response.content.decode()
    assert "tree-depth" not in row_of(html, "1000")
    assert "tree-depth-1" in row_of(html, "9000") and "— Bank A" in row_of(html, "9000")
    assert "tree-depth-2" in row_of(html, "0100") and "— — Bank A sub" in row_of(html, "0100")


def test_balance_column_shows_todays_balance_with_the_commodity_scale(as_role, chart):
    child("1210-A", "Cold A", "1210")
    services.entry_post(
        effective_date=utc_today(),
        memo="mined",
        postings=[("1210-A", D("0.5"), D("30000.00")), ("4000", D("-30000"), D("-30000"))],
    )
    cash_in("1234567.89")
    html = as_role("auditor").get(url("account_changelist")).content.decode()
    for code in ("1210-A", "1210"):  # the parent rolls up its child
        row = row_of(html, code)
        assert "0.50000000 BTC Dr" in row
        assert "30,000.00 Dr" in row
    assert "30,000.00 USD Cr" in row_of(html, "4000")
    assert "1,234,567.89 USD Dr" in row_of(html, "1000")
    assert "1,234,567.89 USD Cr" in row_of(html, "3000")
    assert "0.000000 USDT" in row_of(html, "1110")  # zero, at USDT's six decimals


def test_balances_are_read_twice_per_page_not_once_per_row(as_role, chart, monkeypatch):
    """The balance at as_of and at the end of the day before start (for the activity)."""
    calls = []
    real = selectors.balances

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "balances", counting)
    client = as_role("staff")
    with CaptureQueriesContext(connection) as before:
        client.get(url("account_changelist"))
    for n in range(10):
        child(f"1300-{n}", f"Pool {n}", "1300")
    with CaptureQueriesContext(connection) as after:
        client.get(url("account_changelist"))
    before_start = utc_today().replace(day=1) - timedelta(days=1)
    page = [{"as_of": utc_today()}, {"as_of": before_start}]
    assert calls == page + page
    assert len(after.captured_queries) == len(before.captured_queries)


def test_adding_an_account_goes_through_the_service(as_role, chart):
    cold = Account.objects.get(code="1210")
    response = as_role("staff").post(
        url("account_add"),
        {
            "code": "1210-01",
            "name": "Cold storage, custodian A",
            "type": "asset",
            "commodity": "BTC",
            "parent": cold.pk,
            "must_not_go_negative": "on",
        },
    )
    assert response.status_code == 302
    account = Account.objects.get(code="1210-01")
    assert (account.parent, account.commodity_id, account.must_not_go_negative) == (
        cold,
        "BTC",
        True,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "1210-X", "commodity": "USD"}, "a child of 1210 must be a asset account in BTC"),
        ({"code": "1210-X", "type": "liability"}, "a child of 1210 must be a asset account in BTC"),
        ({"code": "1000"}, "Account with this Code already exists."),
        ({"code": "bad code!"}, "Letters, digits, . _ -"),
    ],
)
def test_a_bad_account_shows_the_error_and_creates_nothing(as_role, chart, data, message):
    before = Account.objects.count()
    form = {
        "name": "Wrong",
        "type": "asset",
        "commodity": "BTC",
        "parent": Account.objects.get(code="1210").pk,
        **data,
    }
    response = as_role("staff").post(url("account_add"), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Account.objects.count() == before


def test_a_service_refusal_at_save_time_writes_nothing_and_says_why(as_role, chart, monkeypatch):
    """The form asked the service moments before; if it refuses now (a race), no 500."""
    real = services.account_create
    calls = []

    def accepts_once(**kwargs):
        calls.append(kwargs["code"])
        if len(calls) > 1:
            raise InvalidAccount("code: Account with this Code already exists.", field="code")
        return real(**kwargs)

    monkeypatch.setattr(services, "account_create", accepts_once)
    data = {"code": "5900", "name": "Bank fees", "type": "expense", "commodity": "USD"}
    response = as_role("staff").post(url("account_add"), data, follow=True)
    assert calls == ["5900", "5900"]
    assert response.redirect_chain == [(url("account_add"), 302)]
    assert messages_of(response) == ["code: Account with this Code already exists."]
    assert not Account.objects.filter(code="5900").exists()


def test_account_change_edits_name_and_flags_only(as_role, chart):
    cash = Account.objects.get(code="1000")
    response = as_role("staff").post(
        url("account_change", cash.pk),
        {
            "code": "1001",
            "type": "liability",
            "commodity": "BTC",
            "name": "Cash at banks",
            "must_not_go_negative": "on",
        },  # is_active left out: unticked
    )
    assert response.status_code == 302
    cash.refresh_from_db()
    assert (cash.code, cash.type, cash.commodity_id) == ("1000", "asset", "USD")
    assert (cash.name, cash.must_not_go_negative, cash.is_active) == ("Cash at banks", True, False)


def test_an_account_below_zero_cannot_be_flagged_must_not_go_negative(as_role, chart):
    cash_in("250.00", day=date(2025, 10, 1))
    equity = Account.objects.get(code="3000")
    response = as_role("staff").post(
        url("account_change", equity.pk),
        {"name": equity.name, "must_not_go_negative": "on", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "is below zero on 2025-10-01 (-250.00 USD)" in response.content.decode()
    equity.refresh_from_db()
    assert equity.must_not_go_negative is False


def test_accounts_are_never_deleted(as_role, chart):
    account = Account.objects.get(code="5200")
    client = as_role("superuser")
    assert client.get(url("account_delete", account.pk)).status_code == 403
    assert client.post(url("account_delete", account.pk), {"post": "yes"}).status_code == 403
    response = client.post(
        url("account_changelist"), {"action": "delete_selected", "_selected_action": [account.pk]}
    )
    assert response.status_code in (200, 302)
    assert Account.objects.filter(pk=account.pk).exists()


# --- journal entries ---------------------------------------------------------------------------


def test_journal_entry_detail_is_read_only_with_its_postings(as_role, chart):
    entry = cash_in("1000.00", memo="Opening cash")
    client = as_role("staff")
    html = client.get(url("journalentry_change", entry.pk)).content.decode()
    assert "1000 Cash" in html and "3000 Opening balance equity" in html
    assert "1,000.00 USD Dr" in html and "1,000.00 USD Cr" in html
    assert 'name="memo"' not in html and 'name="_save"' not in html
    assert "Cancel its document…" in html and url("journalentry_cancel", entry.pk) in html
    assert "Reverse…" not in html
    for role in ("approver", "superuser"):
        html = as_role(role).get(url("journalentry_change", entry.pk)).content.decode()
        assert "Cancel its document…" in html, role
    html = as_role("auditor").get(url("journalentry_change", entry.pk)).content.decode()
    assert "Cancel its document…" not in html and "Reverse…" not in html


def test_the_journal_list_reads_a_fixed_number_of_queries(as_role, chart, users, second_approver):
    client = as_role("staff")
    for n in range(3):
        cancel_entry(cash_in(memo=f"first {n}"), maker=users["staff"], approver=users["approver"])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("journalentry_changelist")).status_code == 200
    for n in range(10):
        cancel_entry(cash_in(memo=f"more {n}"), maker=users["approver"], approver=second_approver)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url("journalentry_changelist")).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_journal_entries_cannot_be_added_changed_or_deleted(as_role, chart):
    entry = cash_in(memo="original")
    client = as_role("superuser")
    assert client.get(url("journalentry_add")).status_code == 403
    assert client.post(url("journalentry_change", entry.pk), {"memo": "edited"}).status_code == 403
    assert client.post(url("journalentry_delete", entry.pk), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.memo == "original"


def test_a_cancellation_is_asked_for_on_the_entry_and_approved_by_another(as_role, chart, users):
    entry = cash_in()
    staff = as_role("staff")
    page = url("journalentry_cancel", entry.pk)
    form = staff.get(page)
    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    assert 'name="effective_date"' in form.content.decode()
    blank = staff.post(page, {"reason": "  ", "effective_date": ""})
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    assert not Cancellation.objects.exists()

    response = staff.post(page, {"reason": "Booked twice", "effective_date": ""}, follow=True)
    cancellation = Cancellation.objects.get()
    assert response.redirect_chain[0][0] == url("cancellation_change", cancellation.pk)
    (message,) = messages_of(response)
    assert message.startswith(f"Cancellation of journal entry #{entry.sequence} asked for")
    assert (cancellation.requested_by, cancellation.reason) == (users["staff"], "Booked twice")
    assert cancellation.effective_date == entry.effective_date
    # Nothing is reversed before a finance approver other than the one who asked approves.
    assert not JournalEntry.objects.filter(reversal_of=entry).exists()
    html = response.content.decode()
    assert "Approve…" not in html and "Reject…" not in html
    entry_page = staff.get(url("journalentry_change", entry.pk)).content.decode()
    assert "Cancel its document…" not in entry_page  # already being cancelled

    approver = as_role("approver")  # the same test client, now the approver's
    html = approver.get(url("cancellation_change", cancellation.pk)).content.decode()
    assert "Approve…" in html and "Reject…" in html
    confirm = url("cancellation_approve", cancellation.pk)
    assert approver.get(confirm).status_code == 200
    response = approver.post(confirm, {}, follow=True)
    cancellation.refresh_from_db()
    reversal = JournalEntry.objects.get(reversal_of=entry)
    assert response.redirect_chain[0][0] == url("cancellation_change", cancellation.pk)
    assert messages_of(response) == [
        f"journal entry #{entry.sequence} cancelled: reversed by entry #{reversal.sequence}."
    ]
    assert (cancellation.status, cancellation.reversal) == ("approved", reversal)
    assert (reversal.kind, reversal.effective_date) == ("reversal", entry.effective_date)
    assert (reversal.created_by, reversal.approved_by) == (users["staff"], users["approver"])
    assert "Booked twice" in reversal.memo
    assert selectors.account_balance(account="1000", as_of=utc_today()).value == 0

    # Once only: no second approval, no second cancellation, and a reversal is never undone.
    html = approver.get(url("cancellation_change", cancellation.pk)).content.decode()
    assert "Approve…" not in html
    again = approver.post(confirm, {})
    assert again.status_code == 200 and "already approved" in again.content.decode()
    staff = as_role("staff")  # the test client logs in as one person at a time
    refused = staff.post(page, {"reason": "again", "effective_date": ""})
    assert refused.status_code == 200 and "already cancelled" in refused.content.decode()
    for undone in (entry, reversal):
        html = staff.get(url("journalentry_change", undone.pk)).content.decode()
        assert "Cancel its document…" not in html
    refused = staff.post(url("journalentry_cancel", reversal.pk), {"reason": "undo"})
    assert refused.status_code == 200 and "never undone" in refused.content.decode()
    assert JournalEntry.objects.filter(reversal_of__isnull=False).count() == 1

    html = staff.get(url("journalentry_changelist")).content.decode()
    assert "reversed by <a" in html and "reverses <a" in html


def test_a_rejected_cancellation_reverses_nothing(as_role, chart, users):
    entry = cash_in()
    cancellation, _ = services.cancellation_request(entry=entry, reason="wrong", by=users["staff"])
    approver = as_role("approver")
    page = url("cancellation_reject", cancellation.pk)
    assert 'name="reason"' in approver.get(page).content.decode()
    blank = approver.post(page, {"reason": " "})
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    response = approver.post(page, {"reason": "the deposit was real"}, follow=True)
    assert response.redirect_chain[0][0] == url("cancellation_change", cancellation.pk)
    assert messages_of(response) == [f"Cancellation of journal entry #{entry.sequence} rejected."]
    cancellation.refresh_from_db()
    assert (cancellation.status, cancellation.rejection_reason) == (
        "rejected",
        "the deposit was real",
    )
    assert not JournalEntry.objects.filter(reversal_of=entry).exists()
    # It may be asked for again.
    html = as_role("staff").get(url("journalentry_change", entry.pk)).content.decode()
    assert "Cancel its document…" in html


def test_the_cancel_page_can_date_the_reversal_in_an_open_period(as_role, chart, users):
    old = cash_in(day=date(2025, 10, 1))
    services.period_close(through=date(2025, 10, 31), by=users["approver"])
    client = as_role("staff")
    page = url("journalentry_cancel", old.pk)
    assert client.get(page).status_code == 200
    refused = client.post(page, {"effective_date": "", "reason": "wrong account"})
    assert refused.status_code == 200
    assert "inside the period closed through 2025-10-31" in refused.content.decode()
    before = client.post(page, {"effective_date": "2025-09-30", "reason": "wrong account"})
    assert before.status_code == 200
    assert "on or after its entry&#x27;s date 2025-10-01" in before.content.decode()
    assert not Cancellation.objects.exists()
    response = client.post(page, {"effective_date": "2025-11-03", "reason": "wrong account"})
    cancellation = Cancellation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("cancellation_change", cancellation.pk)
    assert cancellation.effective_date == date(2025, 11, 3)
    as_role("approver").post(url("cancellation_approve", cancellation.pk), {})
    reversal = JournalEntry.objects.get(reversal_of=old)
    assert reversal.effective_date == date(2025, 11, 3)
    assert reversal.memo.endswith(": wrong account")


def test_the_journal_list_offers_no_bulk_action(as_role, chart):
    entry = cash_in()
    for role in ("superuser", "staff", "approver"):
        client = as_role(role)
        html = client.get(url("journalentry_changelist")).content.decode()
        assert 'name="action"' not in html and "Reverse selected entries" not in html, role
        assert 'name="_selected_action"' not in html, role
        response = client.post(
            url("journalentry_changelist"),
            {"action": "reverse_entries", "_selected_action": [entry.pk]},
            follow=True,
        )
        assert response.status_code == 200, role
    assert JournalEntry.objects.count() == 1
    assert not JournalEntry.objects.filter(reversal_of=entry).exists()
    assert not Cancellation.objects.exists()


def test_the_generic_reverse_page_is_gone(as_role, chart):
    entry = cash_in()
    with pytest.raises(NoReverseMatch):
        url("journalentry_reverse", entry.pk)
    # Its old address is no page: the admin's fallback reads "<pk>/reverse" as an object id,
    # finds no such entry and lands on the admin index, posting nothing.
    client = as_role("superuser")
    page = f"{url('journalentry_changelist')}{entry.pk}/reverse/"
    for response in (
        client.get(page, follow=True),
        client.post(page, {"effective_date": "", "memo": "undo"}, follow=True),
    ):
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == reverse("admin:index")
        assert any("reverse" in m and "exist" in m for m in messages_of(response))
        assert 'name="memo"' not in response.content.decode()
    assert JournalEntry.objects.count() == 1
    assert not Cancellation.objects.exists()


def test_only_finance_staff_and_approvers_ask_and_only_another_approver_decides(
    as_role, chart, users
):
    entry = cash_in()
    auditor = as_role("auditor")
    assert auditor.get(url("journalentry_cancel", entry.pk)).status_code == 403
    assert auditor.post(url("journalentry_cancel", entry.pk), {"reason": "x"}).status_code == 403
    assert not Cancellation.objects.exists()

    cancellation, _ = services.cancellation_request(
        entry=entry, reason="wrong", by=users["approver"]
    )
    approve = url("cancellation_approve", cancellation.pk)
    reject = url("cancellation_reject", cancellation.pk)
    for role in ("auditor", "staff"):
        client = as_role(role)
        html = client.get(url("cancellation_change", cancellation.pk)).content.decode()
        assert "Approve…" not in html and "Reject…" not in html, role
        assert client.get(approve).status_code == 403, role
        assert client.post(approve, {}).status_code == 403, role
        assert client.post(reject, {"reason": "no"}).status_code == 403, role
    # The approver who asked sees no decision, and is refused one.
    client = as_role("approver")
    html = client.get(url("cancellation_change", cancellation.pk)).content.decode()
    assert "Approve…" not in html and "Reject…" not in html
    own = client.post(approve, {})
    assert own.status_code == 403 and "nobody approves their own" in own.content.decode()
    own = client.post(reject, {"reason": "no"})
    assert own.status_code == 403 and "nobody rejects their own" in own.content.decode()
    cancellation.refresh_from_db()
    assert cancellation.status == "requested"
    assert not JournalEntry.objects.filter(reversal_of=entry).exists()


# --- periods -----------------------------------------------------------------------------------


def test_an_approver_closes_a_period(as_role, chart, users):
    client = as_role("approver")
    assert client.get(url("periodclose_add")).status_code == 200
    response = client.post(url("periodclose_add"), {"through": "2025-10-31"})
    assert response.status_code == 302
    close = PeriodClose.objects.get()
    assert (close.through, close.closed_by, close.is_open) == (
        date(2025, 10, 31),
        users["approver"],
        True,
    )
    assert selectors.closed_through() == date(2025, 10, 31)

    again = client.post(url("periodclose_add"), {"through": "2025-09-30"})
    assert again.status_code == 200
    assert "the books are already closed through 2025-10-31" in again.content.decode()
    assert PeriodClose.objects.count() == 1


@pytest.mark.parametrize("through", ["0001-01-01", "1899-12-31"])
def test_a_period_is_not_closed_through_a_date_the_ledger_does_not_take(as_role, chart, through):
    response = as_role("approver").post(url("periodclose_add"), {"through": through})
    assert response.status_code == 200
    error = response.content.decode().split('id="id_through_error">', 1)[1].split("</ul>")[0]
    assert error == f"<li>through {through} is before 1900-01-01, the earliest date taken</li>"
    assert not PeriodClose.objects.exists()


def test_finance_staff_and_auditors_cannot_close_a_period(as_role, chart):
    for role in ("staff", "auditor"):
        client = as_role(role)
        assert client.get(url("periodclose_add")).status_code == 403
        assert client.post(url("periodclose_add"), {"through": "2025-10-31"}).status_code == 403
    assert not PeriodClose.objects.exists()


def test_an_approver_reopens_a_period_with_a_reason(as_role, chart, users):
    close = services.period_close(through=date(2025, 10, 31), by=users["approver"])
    client = as_role("approver")
    html = client.get(url("periodclose_change", close.pk)).content.decode()
    assert "Reopen…" in html
    page = url("periodclose_reopen", close.pk)
    assert client.get(page).status_code == 200
    blank = client.post(page, {"reason": "   "})
    assert blank.status_code == 200 and "This field is required." in blank.content.decode()
    response = client.post(page, {"reason": "Late ViaBTC statement for October"})
    assert response.status_code == 302
    close.refresh_from_db()
    assert close.reopened_by == users["approver"]
    assert close.reopen_reason == "Late ViaBTC statement for October"
    assert selectors.closed_through() is None
    row = row_of(client.get(url("periodclose_changelist")).content.decode(), "2025-10-31")
    assert "Reopened" in row and "Late ViaBTC statement" in row


def test_only_the_latest_close_can_be_reopened(as_role, chart, users):
    early = services.period_close(through=date(2025, 9, 30), by=users["approver"])
    services.period_close(through=date(2025, 10, 31), by=users["approver"])
    response = as_role("approver").post(url("periodclose_reopen", early.pk), {"reason": "oops"})
    assert response.status_code == 200
    assert "reopen the later close through 2025-10-31 first" in response.content.decode()
    early.refresh_from_db()
    assert early.is_open


def test_finance_staff_and_auditors_cannot_reopen(as_role, chart, users):
    close = services.period_close(through=date(2025, 10, 31), by=users["approver"])
    for role in ("staff", "auditor"):
        client = as_role(role)
        assert "Reopen…" not in client.get(url("periodclose_change", close.pk)).content.decode()
        assert client.get(url("periodclose_reopen", close.pk)).status_code == 403
        assert client.post(url("periodclose_reopen", close.pk), {"reason": "x"}).status_code == 403
    close.refresh_from_db()
    assert close.is_open


def test_period_closes_are_neither_edited_nor_deleted(as_role, chart, users):
    close = services.period_close(through=date(2025, 10, 31), by=users["approver"])
    client = as_role("superuser")
    assert (
        client.post(url("periodclose_change", close.pk), {"through": "2025-12-31"}).status_code
        == 403
    )
    assert client.post(url("periodclose_delete", close.pk), {"post": "yes"}).status_code == 403
    close.refresh_from_db()
    assert close.through == date(2025, 10, 31)


# --- auditors write nothing --------------------------------------------------------------------


def test_auditors_cannot_change_anything(as_role, chart, users):
    entry = cash_in(memo="original")
    cancellation, _ = services.cancellation_request(
        entry=cash_in(memo="other"), reason="wrong", by=users["staff"]
    )
    close = services.period_close(through=date(2020, 1, 31), by=users["approver"])
    cash = Account.objects.get(code="1000")
    client = as_role("auditor")
    attempts = [
        (url("commodity_add"), {"code": "ABC", "name": "x", "decimal_places": "2", "kind": "fiat"}),
        (url("commodity_change", "USD"), {"name": "changed"}),
        (url("commodity_delete", "KAS"), {"post": "yes"}),
        (url("account_add"), {"code": "9999", "name": "x", "type": "asset", "commodity": "USD"}),
        (url("account_change", cash.pk), {"name": "changed", "is_active": "on"}),
        (url("account_delete", cash.pk), {"post": "yes"}),
        (url("journalentry_add"), {"memo": "x"}),
        (url("journalentry_change", entry.pk), {"memo": "changed"}),
        (url("journalentry_delete", entry.pk), {"post": "yes"}),
        (url("journalentry_cancel", entry.pk), {"reason": "x", "effective_date": ""}),
        (url("cancellation_approve", cancellation.pk), {}),
        (url("cancellation_reject", cancellation.pk), {"reason": "x"}),
        (url("cancellation_change", cancellation.pk), {"reason": "changed"}),
        (url("cancellation_delete", cancellation.pk), {"post": "yes"}),
        (url("periodclose_add"), {"through": "2025-10-31"}),
        (url("periodclose_change", close.pk), {"through": "2025-10-31"}),
        (url("periodclose_delete", close.pk), {"post": "yes"}),
        (url("periodclose_reopen", close.pk), {"reason": "x"}),
    ]
    for page, data in attempts:
        assert client.post(page, data).status_code == 403, page
    assert Commodity.objects.get(code="USD").name == "US dollar"
    assert Commodity.objects.filter(code__in=["ABC", "KAS"]).count() == 1
    cash.refresh_from_db()
    assert (cash.name, cash.is_active) == ("Cash", True)
    assert not Account.objects.filter(code="9999").exists()
    assert JournalEntry.objects.count() == 2
    assert Cancellation.objects.get().status == "requested"
    assert PeriodClose.objects.get().is_open
    html = client.get(url("account_changelist")).content.decode()
    assert "Add account" not in html
