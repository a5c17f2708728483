"""Closing a month in a real browser (headless Chromium, as tests/cango_treasury/
test_browser.py drives it): a finance approver picks the month, sees the failing check,
is refused without a reason, and closes with one."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from holdings.models import PeriodCloseReview
from ledger.models import PeriodClose
from tests.cango_treasury.test_browser import (  # noqa: F401 (fixtures)
    browser,
    log_in,
    page_text,
    people,
    wait_for,
)
from tests.holdings.admin.test_close import END, closable_january
from tests.holdings.conftest import tx_world  # noqa: F401 (a fixture)


def submit_and_wait(driver: WebDriver, form: str) -> None:
    """Submit the form and wait until its page is replaced (reading the page while it is
    being replaced fails in Chromium's inspector)."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.XPATH, f"//form[@id='{form}']//*[@type='submit']").click()

    def replaced(_driver: WebDriver) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # stale, or its node already gone with the old document
            return True
        return False

    wait_for(driver, replaced, f"the {form} answer")


@pytest.mark.django_db(transaction=True)
def test_an_approver_closes_a_month_with_a_reason(browser, live_server, people):  # noqa: F811
    closable_january(None, remeasure=False)
    base = live_server.url
    log_in(browser, base, "ali.approver")

    browser.get(f"{base}/admin/close/")
    month = browser.find_element(By.NAME, "month")
    browser.execute_script("arguments[0].value = '2026-01'", month)
    submit_and_wait(browser, "month-form")
    wait_for(browser, lambda b: "Checks for 2026-01" in page_text(b), "the month's checks")
    failing = browser.find_element(By.ID, "check-fair_value").text
    assert "Failing" in failing and "BTC is not remeasured at 2026-01-31" in failing
    assert browser.find_element(By.ID, "check-fair_value").find_element(
        By.LINK_TEXT, "Remeasurements"
    )

    submit_and_wait(browser, "close-form")
    wait_for(browser, lambda b: "needs your written reason" in page_text(b), "the refusal")
    assert not PeriodClose.objects.exists()

    browser.find_element(By.NAME, "reason").send_keys("Remeasured in the audit workpaper.")
    submit_and_wait(browser, "close-form")
    wait_for(
        browser, lambda b: "The books are closed through 2026-01-31" in page_text(b), "the close"
    )
    history = browser.find_element(By.ID, "close-history").text
    assert "Remeasured in the audit workpaper." in history and "ali.approver" in history
    review = PeriodCloseReview.objects.get()
    assert review.period_close.through == END and review.failures == 1
