"""ViaBTC open API: saved profit-history and payment-history pages, and the client.

A saved file is one page `{"code":0,"data":{"count","curr_page","has_next","total",
"total_page","data":[rows]}}` or a JSON array of pages. Profit rows (`total_profit`) are
daily earnings, cut on UTC days because the client always asks with `utc=true`; payment rows
(`tx`) are payouts. Amounts are decimal strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from holdings.importers.common import (
    DEFAULT_TIMEOUT,
    MAX_PAGES,
    Credentials,
    Fields,
    JsonApi,
    PoolApiError,
    collapse,
    join_json_array,
    jsonable,
    load_json,
    provider_message,
    responses,
)
from holdings.importers.records import (
    Earning,
    ImportFileError,
    ParseContext,
    ParsedFile,
    Payout,
)

POOL = "ViaBTC"
PROFIT_PATH = "/res/openapi/v1/profit/history"
PAYMENT_PATH = "/res/openapi/v1/wallet/payment/history"
PAGE_SIZE = 100


def _page_rows(where: str, page: Any, file_name: str) -> list[Any]:
    if not isinstance(page, dict) or "code" not in page:
        raise ImportFileError(f"{where} is not a ViaBTC API page", file_name=file_name)
    if page["code"] != 0:
        message = provider_message(page) or "no message"
        raise ImportFileError(
            f"{where} is a ViaBTC error answer (code {jsonable(page['code'])}): {message}",
            file_name=file_name,
        )
    data = page.get("data")
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ImportFileError(f"{where} has no data.data list of rows", file_name=file_name)
    return rows


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    document = load_json(content, file_name=ctx.file_name)
    earnings: list[Earning] = []
    payouts: list[Payout] = []
    row = 0
    for where, page in responses(document):
        for item in _page_rows(where, page, ctx.file_name):
            row += 1  # rows count items across the whole document, in order
            if not isinstance(item, dict):
                raise ImportFileError(
                    "a row must be a JSON object", file_name=ctx.file_name, row=row
                )
            fields = Fields(item, file_name=ctx.file_name, row=row)
            is_earning, is_payout = "total_profit" in item, "tx" in item
            if is_earning and not is_payout:
                earnings.append(_earning(fields, ctx))
            elif is_payout and not is_earning:
                payouts.append(_payout(fields, ctx))
            else:
                raise fields.error("is neither a profit row (total_profit) nor a payment row (tx)")
    return ParsedFile(
        earnings=collapse(
            earnings,
            key=lambda e: e.day,
            describe=lambda e: f"date {e.day}",
            field="date",
            file_name=ctx.file_name,
        ),
        payouts=collapse(
            payouts,
            key=lambda p: p.external_id,
            describe=lambda p: f"payment id {p.external_id}",
            field="id",
            file_name=ctx.file_name,
        ),
    )


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
        raw=jsonable(item.data),
        row=item.row,
    )


def _payout(item: Fields, ctx: ParseContext) -> Payout:
    _check_coin(item, ctx, required=False)
    return Payout(
        external_id=item.ident("id"),
        txid=item.txid("tx"),
        address=item.address("address"),
        amount=item.amount("amount", scale=ctx.scale, positive=True),
        paid_at=item.unix_time("create_time"),
        raw=jsonable(item.data),
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
        if not credentials.api_key:
            raise ValueError("ViaBTC needs credentials.api_key")
        self._api = JsonApi(
            pool=POOL,
            base_url=base_url,
            timeout=timeout,
            headers={"X-API-KEY": credentials.api_key},
        )

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
            data = response.data
            if not isinstance(data, dict) or data.get("code") != 0:
                code = jsonable(data.get("code")) if isinstance(data, dict) else None
                message = provider_message(data) or "no message"
                raise PoolApiError(POOL, path, f"error answer (code {code}): {message}")
            listing = data.get("data")
            if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
                raise PoolApiError(POOL, path, "answer has no data.data list of rows")
            bodies.append(response.body)
            if listing.get("has_next") is not True:
                return bodies
        raise PoolApiError(POOL, path, f"still has_next after {MAX_PAGES} pages")
