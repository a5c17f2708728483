"""A report page in a real browser (headless Chromium, as tests/cango_treasury/test_browser):
its Print button works under the site's content security policy, printing hides the admin
around the report, and a figure leads to the account detail for the same dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By

from ledger import services
from tests.cango_treasury.test_browser import (  # noqa: F401 (fixtures)
    browser,
    log_in,
    people,
    tx_world,
    wait_for,
)


@pytest.mark.django_db(transaction=True)
def test_a_report_prints_without_the_admin_and_drills_down(browser, live_server, people):  # noqa: F811
    amount = Decimal("1234.56")
    services.entry_post(
        effective_date=date(2026, 1, 5),
        memo="Capital paid in",
        postings=[("1000", amount, amount), ("3000", -amount, -amount)],
    )
    log_in(browser, live_server.url, "maria.staff")
    browser.get(f"{live_server.url}/admin/reports/trial-balance/?as_of=2026-01-31")
    wait_for(
        browser,
        lambda b: b.find_element(By.ID, "report-print").is_displayed(),
        "the Print button (its script allowed by the content security policy)",
    )
    assert browser.find_element(By.ID, "header").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.ID, "header").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, ".report-form").is_displayed()
    assert not browser.find_element(By.ID, "report-print").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, ".report-table table").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    browser.find_elements(By.LINK_TEXT, "1234.56")[0].click()
    wait_for(browser, lambda b: "/admin/reports/account-detail/" in b.current_url, "the detail")
    assert "start=2026-01-01" in browser.current_url and "end=2026-01-31" in browser.current_url
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Opening balance" in text and "Closing balance" in text and "Capital paid in" in text
