"""F2Pool's own balance (`POST /v2/assets/balance`), fetched every night from a local stub of
the API, kept as the pool account's statement for the day and used by the pool
reconciliation."""

from __future__ import annotations

import importlib
import json
import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from werkzeug import Request, Response

from holdings.errors import InvalidSetup
from holdings.importers import f2pool
from holdings.importers.records import ImportFileError
from holdings.models import BalanceStatementLine, Statement
from holdings.services import setup
from holdings.services.reconciliation import pool_balances_fetch, reconcile
from holdings.tasks import fetch_pool_balances
from tests.holdings.conftest import f2pool_file, run_import

D = Decimal
DAY = date(2026, 1, 5)
PATH = "/v2/assets/balance"
SECRET = "F2P_BALANCE_SECRET"
SCHEDULE = importlib.import_module("holdings.migrations.0011_pool_balance_schedule")


def answer(balance: str) -> bytes:
    """F2Pool's answer, its figures as JSON doubles."""
    return (
        '{"balance_info":{"balance":'
        + balance
        + ',"paid":2.0493,"total_income":2.56644,"yesterday_income":0.2,'
        '"estimated_today_income":0.5201}}'
    ).encode()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


# --- the parser ----------------------------------------------------------------------------


def test_a_double_is_read_exactly_through_its_shortest_text():
    assert f2pool.parse_balance(answer("0.51714"), file_name="b.json", scale=8) == D("0.51714")
    # A serializer's 17 digits of the same double are the same figure.
    read = f2pool.parse_balance(answer("0.51714000000000002"), file_name="b.json", scale=8)
    assert str(read) == "0.51714"
    assert f2pool.parse_balance(answer("0"), file_name="b.json", scale=8) == D(0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            answer("0.123456789"),
            "b.json, row 1, field balance_info.balance: 0.123456789 has more decimal places "
            "than the commodity allows (8)",
        ),
        (
            answer("-0.1"),
            "b.json, row 1, field balance_info.balance: must not be negative, got -0.1",
        ),
        (
            b'{"balance_info":{"paid":2.0493}}',
            "b.json, row 1, field balance_info.balance: is missing",
        ),
        (b'{"code":1001}', "b.json, row 1, field balance_info: is missing"),
        (b"[]", "b.json, row 1: an F2Pool balance answer must be a JSON object"),
    ],
)
def test_a_balance_that_is_not_exact_is_refused_naming_the_field(content, message):
    with pytest.raises(ImportFileError) as caught:
        f2pool.parse_balance(content, file_name="b.json", scale=8)
    assert str(caught.value) == message


# --- the service ---------------------------------------------------------------------------


class StubPool:
    """F2Pool's balance endpoint: each sub-account's balance, or an HTTP status to fail with."""

    def __init__(self) -> None:
        self.balances: dict[str, str | int] = {}
        self.asked: list[dict] = []

    def handle(self, request: Request) -> Response:
        assert request.headers["F2P-API-SECRET"] == "s3cret"
        body = json.loads(request.data)
        self.asked.append(body)
        assert body["currency"] == "bitcoin"
        figure = self.balances[body["mining_user_name"]]
        if isinstance(figure, int):
            return Response('{"msg":"internal error"}', status=figure)
        return Response(answer(figure), content_type="application/json")


@pytest.fixture
def stub(world, httpserver, monkeypatch) -> StubPool:
    """The world's F2Pool account with two days of earnings (0.3 + 0.2 BTC receivable at
    the end of DAY), fetched daily from the stub with its secret from the environment."""
    monkeypatch.setenv(SECRET, "s3cret")
    pool = world["pool"]
    pool.api_base_url = httpserver.url_for("/").rstrip("/")
    pool.save()
    account = world["account"]
    account.fetch_daily, account.api_secret_env = True, SECRET
    account.save()
    content = f2pool_file([(DAY - timedelta(days=1), "0.3"), (DAY, "0.2")])
    assert run_import("f2pool", content).status == "succeeded"
    pool_stub = StubPool()
    httpserver.expect_request(PATH, method="POST").respond_with_handler(pool_stub.handle)
    return pool_stub


def pool_item(as_of: date = DAY):
    run = reconcile(as_of=as_of, kinds=["pool"])[0]
    return run.items.get(subject="F2P-A")


@pytest.mark.django_db
def test_the_balance_is_kept_once_per_pool_account_and_day(stub, caplog):
    stub.balances["cango-a"] = "0.5"
    caplog.set_level(logging.INFO, logger="holdings.services.reconciliation")

    kept = pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1))

    assert [s.file_name for s in kept] == ["f2pool-balance-F2P-A-2026-01-05.csv"]
    statement = kept[0]
    assert statement.kind == "custodian"
    assert bytes(statement.content) == (
        b"date,account,commodity,balance\n2026-01-05,F2P-A,BTC,0.50000000\n"
    )
    line = BalanceStatementLine.objects.get()
    assert (line.on, line.account, line.commodity_id, line.balance) == (
        DAY,
        "F2P-A",
        "BTC",
        D("0.5"),
    )
    assert stub.asked == [{"currency": "bitcoin", "mining_user_name": "cango-a"}]
    # The answer as received is in the log.
    assert any(
        r.levelno == logging.INFO and answer("0.5").decode() in r.getMessage()
        for r in caplog.records
    )

    again = pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1))

    assert [s.pk for s in again] == [statement.pk]
    assert Statement.objects.count() == 1 and BalanceStatementLine.objects.count() == 1


@pytest.mark.django_db
def test_the_pool_reconciliation_matches_the_kept_balance(stub):
    stub.balances["cango-a"] = "0.5"
    statement = pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1))[0]

    item = pool_item()

    assert (item.status, item.ledger_amount, item.source_amount, item.difference) == (
        "matched",
        D("0.5"),
        D("0.5"),
        D(0),
    )
    assert item.source == "pool statement f2pool-balance-F2P-A-2026-01-05.csv"
    assert item.details == {"statement": statement.pk}


@pytest.mark.django_db
def test_a_pool_balance_that_differs_is_a_break_of_exactly_the_difference(stub):
    stub.balances["cango-a"] = "0.49999999"
    pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1))

    item = pool_item()

    assert (item.status, item.ledger_amount, item.source_amount, item.difference) == (
        "unmatched",
        D("0.5"),
        D("0.49999999"),
        D("-0.00000001"),
    )


@pytest.mark.django_db
def test_a_failing_pool_api_is_logged_and_the_others_are_kept(stub, world, caplog):
    setup.pool_account_create(
        code="F2P-C",
        pool=world["pool"],
        name="cango-c",
        api_secret_env=SECRET,
        fetch_daily=True,
    )
    setup.pool_account_create(code="F2P-D", pool=world["pool"], name="cango-d")  # not daily
    setup.pool_account_create(  # daily, but no API secret
        code="F2P-E", pool=world["pool"], name="cango-e", fetch_daily=True
    )
    stub.balances["cango-a"] = 500
    stub.balances["cango-c"] = "0.25"
    caplog.set_level(logging.INFO, logger="holdings.services.reconciliation")

    kept = pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1))

    assert [s.file_name for s in kept] == ["f2pool-balance-F2P-C-2026-01-05.csv"]
    assert sorted(b["mining_user_name"] for b in stub.asked) == ["cango-a", "cango-c"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    url = stub_url(world)
    assert errors[0] == (
        f"pool account F2P-A: the pool's balance for 2026-01-05 from {url} was not kept: "
        f"F2Pool API {PATH} (HTTP 500): internal error"
    )
    assert errors[1:] == ["pool balances for 2026-01-05 not kept for: F2P-A"]
    # With no statement, the failed account is held to the pool's own reports.
    item = pool_item()
    assert (item.status, item.source_amount) == ("matched", D("0.5"))
    assert item.source == "F2Pool's reports"


def stub_url(world) -> str:
    world["pool"].refresh_from_db()
    return world["pool"].api_base_url + PATH


@pytest.mark.django_db
def test_a_missing_secret_is_logged_with_the_pool_account(stub, monkeypatch, caplog):
    monkeypatch.delenv(SECRET)

    assert pool_balances_fetch(on=DAY, today=DAY + timedelta(days=1)) == []

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "pool account F2P-A" in errors[0] and PATH in errors[0]
    assert f"environment variable {SECRET} is not set" in errors[0]
    assert stub.asked == []


# --- the nightly job -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_day_other_than_yesterday_is_refused_and_nothing_is_kept(stub):
    stub.balances["cango-a"] = "0.5"

    with pytest.raises(InvalidSetup) as refused:
        fetch_pool_balances.apply(kwargs={"day": "2026-01-05"}, throw=True).get()

    yesterday = timezone.now().date() - timedelta(days=1)
    assert refused.value.message == (
        "F2Pool states its balance as of the latest 00:00 UTC only: the balance at the end "
        f"of {yesterday} can be fetched, not of 2026-01-05"
    )
    assert not BalanceStatementLine.objects.exists()
    assert stub.asked == []  # nobody was asked


@pytest.mark.django_db
def test_the_task_keeps_yesterday_by_default(stub):
    stub.balances["cango-a"] = "0.5"
    yesterday = (timezone.now().date() - timedelta(days=1)).isoformat()

    result = fetch_pool_balances.apply().get()

    assert result == {
        "day": yesterday,
        "statements": [f"f2pool-balance-F2P-A-{yesterday}.csv"],
    }


@pytest.mark.django_db
def test_the_fetch_is_scheduled_before_the_reconciliation():
    task = PeriodicTask.objects.get(name="Fetch pool balances")
    assert task.task == "holdings.fetch_pool_balances"
    assert task.enabled and task.description
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, str(crontab.timezone)) == ("20", "3", "UTC")
    reconciliation = PeriodicTask.objects.get(name="Nightly reconciliation").crontab
    assert (int(crontab.hour), int(crontab.minute)) < (
        int(reconciliation.hour),
        int(reconciliation.minute),
    )

    SCHEDULE.unschedule(django_apps, None)
    assert not PeriodicTask.objects.filter(name="Fetch pool balances").exists()
    SCHEDULE.schedule(django_apps, None)
    SCHEDULE.schedule(django_apps, None)  # again: still one
    assert PeriodicTask.objects.filter(name="Fetch pool balances").count() == 1
