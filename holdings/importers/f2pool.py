"""F2Pool API v2: saved `POST /v2/assets/transactions/list` responses, and the client.

A saved file is one response `{"transactions": [...]}` or a JSON array of them (several
requests or pages saved together). The sub-account is named in the request, not in the
rows, so the import is told which pool account a file belongs to.

`parse_balance` reads a `POST /v2/assets/balance` answer: the sub-account's balance as of
00:00 UTC, for the pool reconciliation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from holdings.importers.clients import (
    DEFAULT_TIMEOUT,
    Credentials,
    JsonApi,
    PoolApiError,
    key_header,
    provider_message,
)
from holdings.importers.common import (
    Fields,
    decode_json,
    document_rows,
    finish,
    join_json_array,
    jsonable,
    load_json,
    midnight,
    object_fields,
    to_decimal,
)
from holdings.importers.records import Earning, ImportFileError, ParseContext, ParsedFile, Payout

POOL = "F2Pool"
TRANSACTIONS_PATH = "/v2/assets/transactions/list"
BALANCE_PATH = "/v2/assets/balance"

# Ledger commodity code -> F2Pool's `currency` name.
CURRENCIES = {"BTC": "bitcoin", "ETC": "ethereum-classic", "KAS": "kaspa"}


def currency_for(commodity: str) -> str:
    try:
        return CURRENCIES[commodity.upper()]
    except KeyError:
        raise ValueError(
            f"F2Pool coin for commodity {commodity!r} is not known; known: {', '.join(CURRENCIES)}"
        ) from None


def _transactions(where: str, response: Any, file_name: str) -> list[Any]:
    transactions = response.get("transactions") if isinstance(response, dict) else None
    if not isinstance(transactions, list):
        raise ImportFileError(
            f"{where} is not an F2Pool transactions response (no 'transactions' list)",
            file_name=file_name,
        )
    return transactions


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    document = load_json(content, file_name=ctx.file_name)
    earnings: list[Earning] = []
    payouts: list[Payout] = []
    rows = document_rows(document, _transactions, file_name=ctx.file_name, noun="a transaction")
    for item in rows:
        # Income comes under several types (revenue, pps...), so any type but payout that
        # carries mining_extra is an earning; everything else is refused by its type.
        kind = item.data.get("type")
        if kind == "payout" and "payout_extra" in item.data:
            payouts.append(_payout(item, ctx))
        elif kind != "payout" and "mining_extra" in item.data:
            earnings.append(_earning(item, ctx))
        else:
            raise item.error(
                f"transaction type {jsonable(kind)!r} is not one this import reads "
                "(income with mining_extra, or payout with payout_extra)",
                "type",
            )
    return finish(
        earnings,
        payouts,
        ctx,
        day_field="mining_extra.mining_date",
        day_name="mining_date",
    )


def _earning(item: Fields, ctx: ParseContext) -> Earning:
    extra = item.nested("mining_extra")
    return Earning(
        day=extra.unix_time("mining_date").date(),
        # changed_balance is what reached the pool balance, net of the pool's fee. F2Pool's
        # pps/tx_fee breakdown with fee rates does not add up to it exactly, so no gross/fee.
        net=item.amount("changed_balance", scale=ctx.scale),
        gross=None,
        fee=None,
        hashrate_hs=extra.hashrate("hash_rate"),
        external_id=item.ident("id"),
        raw=item.raw(),
        row=item.row,
        field_names={"net": "changed_balance"},
    )


def _payout(item: Fields, ctx: ParseContext) -> Payout:
    extra = item.nested("payout_extra")
    amount = extra.amount("value", scale=ctx.scale, positive=True)
    changed = item.number("changed_balance")
    if changed != -amount:
        raise item.error(
            f"is {changed}, but a payout of {amount} (payout_extra.value) must take exactly "
            f"{-amount} off the pool balance",
            "changed_balance",
        )
    return Payout(
        external_id=item.ident("id"),
        txid=extra.txid("tx_id"),
        address=extra.address("address"),
        amount=amount,
        paid_at=extra.unix_time("paid_time"),
        raw=item.raw(),
        row=item.row,
    )


def parse_balance(content: bytes, *, file_name: str, scale: int) -> Decimal:
    """`balance_info.balance` of a saved `/v2/assets/balance` answer: the exact decimal of
    the double F2Pool sent, at most `scale` places, never negative; else ImportFileError
    naming the file, the row (1) and the field."""
    document = load_json(content, file_name=file_name)
    answer = object_fields(document, file_name=file_name, row=1, noun="an F2Pool balance answer")
    return answer.nested("balance_info").amount("balance", scale=scale)


class Client:
    """F2Pool API v2, authenticated by the `F2P-API-SECRET` header."""

    def __init__(
        self, *, base_url: str, credentials: Credentials, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        headers = key_header(
            "F2P-API-SECRET",
            credentials.api_secret,
            missing="F2Pool needs credentials.api_secret (the API token)",
        )
        self._api = JsonApi(pool=POOL, base_url=base_url, timeout=timeout, headers=headers)

    def fetch_day(self, *, sub_account: str, commodity: str, day: date) -> bytes:
        """The income for mining day `day` and the payouts made on `day`, as a JSON array of
        the two responses exactly as received.

        F2Pool credits a mining day at its settlement, just after the day ends, and filters
        by that credit time: the income is asked for over the following UTC day. Another
        mining day credited in that window comes along too; imports are idempotent.
        """
        currency = currency_for(commodity)
        start = midnight(day)
        one_day = timedelta(days=1)
        return join_json_array(
            [
                self._transactions(sub_account, currency, "revenue", start + one_day, one_day),
                self._transactions(sub_account, currency, "payout", start, one_day),
            ]
        )

    def _transactions(
        self, sub_account: str, currency: str, kind: str, start: datetime, length: timedelta
    ) -> bytes:
        response = self._api.call(
            "POST",
            TRANSACTIONS_PATH,
            json_body={
                "currency": currency,
                "mining_user_name": sub_account,
                "type": kind,
                "start_time": int(start.timestamp()),
                "end_time": int((start + length).timestamp()),
            },
        )
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("transactions"), list):
            raise PoolApiError(
                POOL,
                TRANSACTIONS_PATH,
                provider_message(data) or "answer has no 'transactions' list",
            )
        return response.body

    def fetch_balance(self, *, sub_account: str, commodity: str) -> bytes:
        """The `/v2/assets/balance` answer of the sub-account, exactly as received (read it
        with `parse_balance`)."""
        response = self._api.call(
            "POST",
            BALANCE_PATH,
            json_body={"currency": currency_for(commodity), "mining_user_name": sub_account},
        )
        info = response.data.get("balance_info") if isinstance(response.data, dict) else None
        if not isinstance(info, dict):
            raise PoolApiError(
                POOL,
                BALANCE_PATH,
                provider_message(response.data) or "answer has no 'balance_info' object",
            )
        return response.body

    def balance(self, *, sub_account: str, commodity: str) -> dict[str, Decimal]:
        """`balance_info` of the sub-account (balance as of 00:00 UTC, paid, total_income,
        yesterday_income, estimated_today_income), as exact Decimals."""
        info = decode_json(self.fetch_balance(sub_account=sub_account, commodity=commodity))[
            "balance_info"
        ]
        balance: dict[str, Decimal] = {}
        for name, value in info.items():
            number = to_decimal(value)
            if number is None or not number.is_finite():
                raise PoolApiError(
                    POOL, BALANCE_PATH, f"balance_info.{name} is not a number: {jsonable(value)!r}"
                )
            balance[name] = number
        return balance
