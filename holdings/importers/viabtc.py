"""ViaBTC open API: saved profit-history and payment-history pages, and the client.

A saved file is one page `{"code":0,"data":{"count","curr_page","has_next","total",
"total_page","data":[rows]}}` or a JSON array of pages. Profit rows (`total_profit`) are
daily earnings, cut on UTC days because the client always asks with `utc=true`; payment rows
(`tx`) are payouts. Amounts are decimal strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from holdings.importers.clients import (
    DEFAULT_TIMEOUT,
    MAX_PAGES,
    Credentials,
    JsonApi,
    PoolApiError,
    coded_data,
    key_header,
)
from holdings.importers.common import (
    Fields,
    document_rows,
    finish,
    is_earning_row,
    join_json_array,
    load_json,
    saved_coded_data,
)
from holdings.importers.records import Earning, ImportFileError, ParseContext, ParsedFile, Payout

POOL = "ViaBTC"
PROFIT_PATH = "/res/openapi/v1/profit/history"
PAYMENT_PATH = "/res/openapi/v1/wallet/payment/history"
PAGE_SIZE = 100


def _page_rows(where: str, page: Any, file_name: str) -> list[Any]:
    data = saved_coded_data(where, page, file_name=file_name, a_pool="a ViaBTC", answer="API page")
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ImportFileError(f"{where} has no data.data list of rows", file_name=file_name)
    return rows


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    document = load_json(content, file_name=ctx.file_name)
    earnings: list[Earning] = []
    payouts: list[Payout] = []
    for item in document_rows(document, _page_rows, file_name=ctx.file_name):
        if is_earning_row(
            item,
            earning_key="total_profit",
            payout_key="tx",
            neither="is neither a profit row (total_profit) nor a payment row (tx)",
        ):
            earnings.append(_earning(item, ctx))
        else:
            payouts.append(_payout(item, ctx))
    return finish(earnings, payouts, ctx, day_field="date", day_name="date", id_name="payment id")


def _check_coin(item: Fields, ctx: ParseContext, *, required: bool) -> None:
    if not required and not item.present("coin"):
        return
    coin = item.text("coin")
    if coin != ctx.commodity:
        raise item.error(f"is {coin!r}, but the pool account holds {ctx.commodity}", "coin")


def _earning(item: Fields, ctx: ParseContext) -> Earning:
    _check_coin(item, ctx, required=True)
    return Earning(
        day=item.day("date"),
        # total_profit is what ViaBTC credited for the day, after its fee; the fee itself
        # is not reported, so no gross/fee.
        net=item.amount("total_profit", scale=ctx.scale),
        gross=None,
        fee=None,
        hashrate_hs=None,
        external_id=None,
        raw=item.raw(),
        row=item.row,
        field_names={"net": "total_profit"},
    )


def _payout(item: Fields, ctx: ParseContext) -> Payout:
    _check_coin(item, ctx, required=False)
    return Payout(
        external_id=item.ident("id"),
        txid=item.txid("tx"),
        address=item.address("address"),
        amount=item.amount("amount", scale=ctx.scale, positive=True),
        paid_at=item.unix_time("create_time"),
        raw=item.raw(),
        row=item.row,
    )


class Client:
    """ViaBTC open API, authenticated by the `X-API-KEY` header.

    A ViaBTC API key belongs to one (sub-)account, so the key alone chooses the account;
    `sub_account` is accepted for the common client interface.
    """

    def __init__(
        self, *, base_url: str, credentials: Credentials, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        headers = key_header(
            "X-API-KEY", credentials.api_key, missing="ViaBTC needs credentials.api_key"
        )
        self._api = JsonApi(pool=POOL, base_url=base_url, timeout=timeout, headers=headers)

    def fetch_day(self, *, sub_account: str, commodity: str, day: date) -> bytes:
        """Every page of the day's profit history and payment history, as a JSON array of
        the pages exactly as received."""
        params = {
            "coin": commodity.upper(),
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
            # ViaBTC cuts days on Beijing time unless told otherwise.
            "utc": "true",
        }
        pages = self._pages(PROFIT_PATH, params) + self._pages(PAYMENT_PATH, params)
        return join_json_array(pages)

    def _pages(self, path: str, params: dict[str, str]) -> list[bytes]:
        bodies: list[bytes] = []
        for page in range(1, MAX_PAGES + 1):
            response = self._api.call(
                "GET", path, params={**params, "page": str(page), "limit": str(PAGE_SIZE)}
            )
            listing = coded_data(response.data, pool=POOL, path=path)
            if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
                raise PoolApiError(POOL, path, "answer has no data.data list of rows")
            bodies.append(response.body)
            if listing.get("has_next") is not True:
                return bodies
        raise PoolApiError(POOL, path, f"still has_next after {MAX_PAGES} pages")
