"""Antpool: saved `POST /api/paymentHistoryV2.htm` responses, and the signed client.

A saved file is one response `{"code":0,"message":"ok","data":{"page","totalPage",
"pageSize","totalRecord","rows":[...]}}` or a JSON array of them. `type=recv` rows (with
`fppsBlockAmount`) are daily earnings, `type=payout` rows (with `txId`) are payouts.
Timestamps carry no zone and are read as UTC; amounts are decimal strings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from decimal import Decimal
from typing import Any

from holdings.importers.clients import (
    DEFAULT_TIMEOUT,
    MAX_PAGES,
    Credentials,
    JsonApi,
    NonceClock,
    PoolApiError,
    coded_data,
)
from holdings.importers.common import (
    Fields,
    document_rows,
    finish,
    is_earning_row,
    join_json_array,
    load_json,
    plain,
    saved_coded_data,
    to_decimal,
)
from holdings.importers.records import Earning, ImportFileError, ParseContext, ParsedFile, Payout
from ledger.money import exact_sum

POOL = "Antpool"
PATH = "/api/paymentHistoryV2.htm"
PAGE_SIZE = 50

# Every earning scheme Antpool reports a day's income under; their sum is the day's net.
EARNING_FIELDS = (
    "ppsAmount",
    "pplnsAmount",
    "soloAmount",
    "ppappsAmount",
    "ppapplnsAmount",
    "fppsBlockAmount",
    "fppsFeeAmount",
)

# Hashrate units Antpool writes, as powers of ten of H/s.
HASHRATE_UNITS = {"H": 0, "KH": 3, "MH": 6, "GH": 9, "TH": 12, "PH": 15, "EH": 18}
_HASHRATE_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]+)/s")


def _page_rows(where: str, page: Any, file_name: str) -> list[Any]:
    data = saved_coded_data(
        where, page, file_name=file_name, a_pool="an Antpool", answer="API response"
    )
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ImportFileError(f"{where} has no data.rows list", file_name=file_name)
    return rows


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    document = load_json(content, file_name=ctx.file_name)
    earnings: list[Earning] = []
    payouts: list[Payout] = []
    for item in document_rows(document, _page_rows, file_name=ctx.file_name):
        if is_earning_row(
            item,
            earning_key="fppsBlockAmount",
            payout_key="txId",
            neither="is neither an earning row (fppsBlockAmount) nor a payout (txId)",
        ):
            earnings.append(_earning(item, ctx))
        else:
            payouts.append(_payout(item, ctx))
    return finish(earnings, payouts, ctx, day_field="timestamp", day_name="earning day")


def _earning(item: Fields, ctx: ParseContext) -> Earning:
    parts = [
        item.amount(name, scale=ctx.scale) if item.present(name) else Decimal(0)
        for name in EARNING_FIELDS
    ]
    return Earning(
        day=item.zoneless_utc("timestamp").date(),
        net=exact_sum(parts),
        gross=None,
        fee=None,
        hashrate_hs=hashrate_hs(item, "hashrate"),
        external_id=None,
        raw=item.raw(),
        row=item.row,
        # The day's net is the sum of these, the ones the row reports.
        field_names={"net": " + ".join(EARNING_FIELDS)},
    )


def hashrate_hs(item: Fields, name: str) -> Decimal | None:
    """Antpool's "1200.00 PH/s" in H/s, exactly; an unknown unit is refused, not guessed."""
    if not item.present(name):
        return None
    text = item.text(name)
    match = _HASHRATE_TEXT.fullmatch(text)
    if not match:
        raise item.error(f"{text!r} is not a hashrate like '1200.00 PH/s'", name)
    number, unit = match.groups()
    if unit not in HASHRATE_UNITS:
        raise item.error(
            f"unit {unit}/s is not one of {', '.join(u + '/s' for u in HASHRATE_UNITS)}", name
        )
    value = to_decimal(number)
    assert value is not None  # the pattern only lets decimal text through
    return plain(value.scaleb(HASHRATE_UNITS[unit]))


def _payout(item: Fields, ctx: ParseContext) -> Payout:
    return Payout(
        external_id=item.ident("id"),
        txid=item.txid("txId"),
        address=item.address("walletAddress"),
        amount=item.amount("amount", scale=ctx.scale, positive=True),
        paid_at=item.zoneless_utc("timestamp"),
        raw=item.raw(),
        row=item.row,
    )


def signature(*, api_user: str, api_key: str, api_secret: str, nonce: str) -> str:
    """Antpool's request signature: upper-case hex HMAC-SHA256 of user id + key + nonce."""
    message = (api_user + api_key + nonce).encode()
    return hmac.new(api_secret.encode(), message, hashlib.sha256).hexdigest().upper()


class Client:
    """Antpool API: signed form POSTs.

    Antpool's user id is the (sub-)account the key was made for; `credentials.api_user`
    names it, and where it is blank the `sub_account` of the request is used.
    """

    def __init__(
        self, *, base_url: str, credentials: Credentials, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if not (credentials.api_key and credentials.api_secret):
            raise ValueError("Antpool needs credentials.api_key and credentials.api_secret")
        self._credentials = credentials
        self._api = JsonApi(pool=POOL, base_url=base_url, timeout=timeout)
        self._nonces = NonceClock()

    def fetch_day(self, *, sub_account: str, commodity: str, day: date) -> bytes:
        """Every page of the earning (recv) and payout history, as a JSON array of the
        responses exactly as received.

        Antpool's payment history has no date filter, so this holds other days too; the
        import's identities (pool account + day, payout id) make them harmless.
        """
        api_user = self._credentials.api_user or sub_account
        pages: list[bytes] = []
        for kind in ("recv", "payout"):
            pages += self._pages(api_user, commodity.upper(), kind)
        return join_json_array(pages)

    def _pages(self, api_user: str, coin: str, kind: str) -> list[bytes]:
        bodies: list[bytes] = []
        for page in range(1, MAX_PAGES + 1):
            nonce = self._nonces.next()
            form = {
                "key": self._credentials.api_key,
                "nonce": nonce,
                "signature": signature(
                    api_user=api_user,
                    api_key=self._credentials.api_key,
                    api_secret=self._credentials.api_secret,
                    nonce=nonce,
                ),
                "coin": coin,
                "type": kind,
                "pageEnable": "1",
                "page": str(page),
                "pageSize": str(PAGE_SIZE),
            }
            response = self._api.call("POST", PATH, form=form)
            listing = coded_data(response.data, pool=POOL, path=PATH)
            rows = listing.get("rows") if isinstance(listing, dict) else None
            total = to_decimal(listing.get("totalPage")) if isinstance(listing, dict) else None
            if not isinstance(rows, list) or total is None or not total.is_finite():
                raise PoolApiError(POOL, PATH, "answer has no data.rows list and data.totalPage")
            bodies.append(response.body)
            if page >= total:
                return bodies
        raise PoolApiError(POOL, PATH, f"more than {MAX_PAGES} pages of {kind} history")
