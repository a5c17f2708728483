"""Generic CSV, for any other pool and for finance staff: daily earnings, or payouts.

The header decides the kind of file:
- earnings `date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id`, one row
  per pool account and UTC day (hashrate_hs and external_id may be blank or left out);
- payouts `paid_at,pool_account,txid,address,amount,external_id` (external_id may be blank
  or left out: the txid is then the identity), for pools whose API has no payouts.
Despite the `_btc` in the names, amounts are in the pool account's commodity. Row numbers
are line numbers of the file (the header is line 1).
"""

from __future__ import annotations

from holdings.importers.common import CsvRow, Fields, collapse, read_csv
from holdings.importers.records import Earning, ParseContext, ParsedFile, Payout

EARNINGS_COLUMNS = ("date", "pool_account", "gross_btc", "fee_btc", "net_btc")
EARNINGS_OPTIONAL = ("hashrate_hs", "external_id")
PAYOUTS_COLUMNS = ("paid_at", "pool_account", "txid", "address", "amount")
PAYOUTS_OPTIONAL = ("external_id",)

EARNINGS_HEADER = ",".join(EARNINGS_COLUMNS + EARNINGS_OPTIONAL)
PAYOUTS_HEADER = ",".join(PAYOUTS_COLUMNS + PAYOUTS_OPTIONAL)

HEADERS = {
    "earnings": (EARNINGS_COLUMNS, EARNINGS_OPTIONAL),
    "payouts": (PAYOUTS_COLUMNS, PAYOUTS_OPTIONAL),
}


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    kind, rows = read_csv(content, file_name=ctx.file_name, headers=HEADERS)
    if kind == "earnings":
        earnings = [_earning(row, ctx) for row in rows]
        return ParsedFile(
            earnings=collapse(
                earnings,
                key=lambda e: (e.pool_account, e.day),
                describe=lambda e: f"pool account {e.pool_account} on {e.day}",
                field="date",
                file_name=ctx.file_name,
            )
        )
    payouts = [_payout(row, ctx) for row in rows]
    return ParsedFile(
        payouts=collapse(
            payouts,
            # A pool pays many accounts in one transaction: the identity is per pool account.
            key=lambda p: (p.raw["pool_account"], p.external_id),
            describe=lambda p: f"payout {p.external_id} of pool account {p.raw['pool_account']}",
            field="external_id",
            file_name=ctx.file_name,
        )
    )


def _fields(row: CsvRow, ctx: ParseContext) -> Fields:
    return Fields(row.values, file_name=ctx.file_name, row=row.line)


def _earning(row: CsvRow, ctx: ParseContext) -> Earning:
    item = _fields(row, ctx)
    gross = item.amount("gross_btc", scale=ctx.scale)
    fee = item.amount("fee_btc", scale=ctx.scale)
    net = item.amount("net_btc", scale=ctx.scale)
    if gross - fee != net:
        raise item.error(
            f"is {net}, but gross_btc {gross} - fee_btc {fee} = {gross - fee}", "net_btc"
        )
    return Earning(
        day=item.day("date"),
        net=net,
        gross=gross,
        fee=fee,
        hashrate_hs=item.hashrate("hashrate_hs"),
        external_id=item.text("external_id") if item.present("external_id") else None,
        raw=dict(row.raw),
        row=row.line,
        pool_account=item.text("pool_account"),
    )


def _payout(row: CsvRow, ctx: ParseContext) -> Payout:
    item = _fields(row, ctx)
    txid = item.txid("txid")
    # Payout has no pool_account field: the import finds it in raw["pool_account"].
    raw = {**row.raw, "pool_account": item.text("pool_account")}
    return Payout(
        external_id=item.text("external_id") if item.present("external_id") else txid,
        txid=txid,
        address=item.address("address"),
        amount=item.amount("amount", scale=ctx.scale, positive=True),
        paid_at=item.iso_utc("paid_at"),
        raw=raw,
        row=row.line,
    )
