"""Foundry USA: saved `GET /v2/earnings/{subaccount}` responses, and the client.

The response is a JSON array with one entry per UTC day; amounts and the hashrate are JSON
doubles. Foundry reports no payouts through this endpoint.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from urllib.parse import quote

from holdings.importers.clients import (
    DEFAULT_TIMEOUT,
    Credentials,
    JsonApi,
    PoolApiError,
    key_header,
    provider_message,
)
from holdings.importers.common import Fields, finish, load_json, object_fields, unix_ms
from holdings.importers.records import Earning, ImportFileError, ParseContext, ParsedFile

POOL = "Foundry"
EARNINGS_PATH = "/v2/earnings/{sub_account}"


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    document = load_json(content, file_name=ctx.file_name)
    if not isinstance(document, list):
        raise ImportFileError(
            "not a Foundry earnings response (expected a JSON array of days)",
            file_name=ctx.file_name,
        )
    earnings = [
        _earning(object_fields(item, file_name=ctx.file_name, row=row, noun="a day"), ctx)
        for row, item in enumerate(document, start=1)
    ]
    return finish(earnings, [], ctx, day_field="startTime", day_name="day")


def _earning(item: Fields, ctx: ParseContext) -> Earning:
    start = item.iso_utc("startTime")
    if start.time() != time(0):
        raise item.error(
            f"{start.isoformat()} is not 00:00 UTC; Foundry days are UTC days", "startTime"
        )
    end = item.iso_utc("endTime")
    if end - start != timedelta(days=1):
        raise item.error(
            f"{end.isoformat()} is not exactly one day after startTime {start.isoformat()}",
            "endTime",
        )
    net = item.amount("totalAmount", scale=ctx.scale)
    gross = item.amount("grossEarnings", scale=ctx.scale)
    fee = item.amount("poolFeeAmount", scale=ctx.scale)
    if gross - fee != net:
        raise item.error(
            f"is {net}, but grossEarnings {gross} - poolFeeAmount {fee} = {gross - fee}",
            "totalAmount",
        )
    return Earning(
        day=start.date(),
        net=net,
        gross=gross,
        fee=fee,
        hashrate_hs=item.hashrate("hashrate"),
        external_id=None,
        raw=item.raw(),
        row=item.row,
        field_names={"net": "totalAmount", "gross": "grossEarnings", "fee": "poolFeeAmount"},
    )


class Client:
    """Foundry USA pool API, authenticated by the `x-api-key` header."""

    def __init__(
        self, *, base_url: str, credentials: Credentials, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        headers = key_header(
            "x-api-key", credentials.api_key, missing="Foundry needs credentials.api_key"
        )
        self._api = JsonApi(pool=POOL, base_url=base_url, timeout=timeout, headers=headers)

    def fetch_day(self, *, sub_account: str, commodity: str, day: date) -> bytes:
        """The earnings from `day` on (Foundry answers every day since the start date), as
        the response body exactly as received. Foundry has no payouts in this API."""
        path = EARNINGS_PATH.format(sub_account=quote(sub_account, safe=""))
        response = self._api.call(
            "GET", path, params={"coin": commodity.upper(), "startDateUnixMs": str(unix_ms(day))}
        )
        if not isinstance(response.data, list):
            raise PoolApiError(
                POOL, path, provider_message(response.data) or "answer is not a JSON array of days"
            )
        return response.body
