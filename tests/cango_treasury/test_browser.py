"""The finance admin in a real browser: headless Chromium (Debian's package, installed by
`make test`) driven by Selenium against a live server and a Celery worker.

A finance staff member logs in, uploads a pool file and watches its batch complete; drafts a
manual journal and submits it; a finance approver (another person) approves it and it is
posted; both open the dashboard.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from holdings.models import BatchStatus, ImportBatch
from ledger import roles
from ledger.models import JournalEntry, ManualJournal, ManualJournalStatus
from tests.conftest import UserFactory
from tests.holdings.conftest import ADDRESS, f2pool_file, tx_world  # noqa: F401 (a fixture)

PASSWORD = "correct-horse-battery"
WAIT_SECONDS = 30


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail(
            "the browser test needs Debian's chromium and chromium-driver: `make test` "
            "installs them (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1200",
    ):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture
def people(tx_world):  # noqa: F811 (the fixture imported above)
    """Two finance people with admin access: one makes, the other approves."""
    made = {}
    for username, role in (
        ("maria.staff", roles.FINANCE_STAFF),
        ("ali.approver", roles.FINANCE_APPROVER),
    ):
        user = UserFactory(username=username, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        made[username] = user
    return made


def wait_for(browser: WebDriver, condition, what: str):  # type: ignore[no-untyped-def]
    try:
        # A page being replaced (a submit, a refresh) can drop an element between finding it
        # and reading it: look again at the next poll.
        return WebDriverWait(
            browser,
            WAIT_SECONDS,
            poll_frequency=0.25,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(condition)
    except TimeoutException:
        pytest.fail(f"{what} did not happen within {WAIT_SECONDS} s; page:\n{page_text(browser)}")


def page_text(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def submit(browser: WebDriver, field: str) -> None:
    """Click the submit button of the form holding `field` (the header's log-out is a form
    too)."""
    browser.find_element(By.XPATH, f"//form[.//*[@name='{field}']]//*[@type='submit']").click()


def follow(browser: WebDriver, link: str) -> None:
    # By the link's own text: the admin's object tools are upper-cased by its style sheet.
    links = browser.find_elements(By.XPATH, f"//a[contains(normalize-space(.), '{link}')]")
    if not links:
        pytest.fail(f"no link {link!r} on {browser.current_url}:\n{page_text(browser)}")
    links[0].click()


def confirm(browser: WebDriver) -> None:
    """Click the submit button of the page's own form (not the header's log-out)."""
    browser.find_element(By.XPATH, "//div[@id='content']//form//*[@type='submit']").click()


def choose_account(browser: WebDriver, row: int, code: str) -> None:
    """The account is an autocomplete: open it, type the code, take the match."""
    field = browser.find_element(By.NAME, f"lines-{row}-account")
    field.find_element(By.XPATH, "following-sibling::span[contains(@class, 'select2')]").click()
    search = wait_for(
        browser,
        lambda b: b.find_element(
            By.CSS_SELECTOR, ".select2-container--open input.select2-search__field"
        ),
        "the account search",
    )
    search.send_keys(code)
    wait_for(
        browser,
        lambda b: any(
            option.text.startswith(code)
            for option in b.find_elements(By.CSS_SELECTOR, ".select2-results__option--highlighted")
        ),
        f"account {code} in the search",
    )
    search.send_keys(Keys.ENTER)


def log_in(browser: WebDriver, base: str, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    submit(browser, "password")
    wait_for(browser, lambda b: "/admin/login/" not in b.current_url, f"{username}'s log-in")


@pytest.mark.django_db(transaction=True)
def test_a_day_in_the_finance_admin(browser, live_server, worker, people, tmp_path):
    base = live_server.url
    log_in(browser, base, "maria.staff")

    # The dashboard is where finance staff land.
    assert "svg" in browser.page_source
    dashboard = page_text(browser)
    assert "BTC held" in dashboard

    # Upload a pool file and watch its batch complete (the page refreshes itself).
    pool_file = tmp_path / "f2pool-2026-01.json"
    pool_file.write_bytes(
        f2pool_file(
            earnings=[(date(2026, 1, 1), "0.51714"), (date(2026, 1, 2), "0.49001")],
            payouts=[(5001, datetime(2026, 1, 2, 3, 0, tzinfo=UTC), "0.51714", ADDRESS)],
        )
    )
    browser.get(f"{base}/admin/holdings/importbatch/upload/")
    Select(browser.find_element(By.NAME, "source")).select_by_value("f2pool")
    Select(browser.find_element(By.NAME, "pool_account")).select_by_visible_text("F2P-A")
    browser.find_element(By.NAME, "file").send_keys(str(pool_file))
    submit(browser, "file")
    wait_for(
        browser,
        lambda b: "/admin/holdings/importbatch/" in b.current_url and "change" in b.current_url,
        "the batch page",
    )
    wait_for(browser, lambda b: "Succeeded" in page_text(b), "the import")
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.SUCCEEDED and batch.created_by.username == "maria.staff"
    assert batch.records_created == 3  # two earnings and a payout

    # A manual journal: drafted and submitted by finance staff...
    browser.get(f"{base}/admin/ledger/manualjournal/add/")
    effective = browser.find_element(By.NAME, "effective_date")
    effective.clear()
    effective.send_keys("2026-01-15")
    browser.find_element(By.NAME, "memo").send_keys("Bank charges reclassified")
    # Typed as accountants do, a Debit and a Credit; a USD line's value is its amount.
    for row, (code, column) in enumerate((("1000", "debit"), ("3000", "credit"))):
        choose_account(browser, row, code)
        browser.find_element(By.NAME, f"lines-{row}-{column}").send_keys("250.00")
    browser.find_element(By.NAME, "_save").click()
    wait_for(browser, lambda b: "was added successfully" in page_text(b), "the draft")
    journal = ManualJournal.objects.get()
    assert journal.status == ManualJournalStatus.DRAFT
    browser.get(f"{base}/admin/ledger/manualjournal/{journal.pk}/change/")
    follow(browser, "Submit for approval")
    confirm(browser)
    wait_for(browser, lambda b: "ubmitted" in page_text(b), "the submission")
    # ... which its maker cannot approve.
    assert not browser.find_elements(By.XPATH, "//a[contains(., 'Approve')]")
    assert not JournalEntry.objects.filter(kind="manual").exists()

    # A finance approver, another person, approves it: only then is it posted.
    log_in(browser, base, "ali.approver")
    browser.get(f"{base}/admin/ledger/manualjournal/{journal.pk}/change/")
    follow(browser, "Approve")
    confirm(browser)
    wait_for(browser, lambda b: "pproved" in page_text(b), "the approval")
    journal.refresh_from_db()
    assert journal.status == ManualJournalStatus.APPROVED
    entry = journal.entry
    assert (entry.created_by.username, entry.approved_by.username) == (
        "maria.staff",
        "ali.approver",
    )
    assert sorted((p.account.code, p.value) for p in entry.postings.select_related("account")) == [
        ("1000", D("250.00")),
        ("3000", D("-250.00")),
    ]

    # The approver lands on the dashboard too.
    browser.get(f"{base}/admin/")
    assert "BTC held" in page_text(browser) and "<svg" in browser.page_source
