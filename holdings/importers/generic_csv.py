"""Generic CSV, for any other pool and for finance staff: daily earnings, or payouts.

The header decides the kind of file:
- earnings `date,pool_account,gross,fee,net,hashrate_hs,external_id`, one row per pool
  account and UTC day, amounts in the pool account's commodity (hashrate_hs and
  external_id may be blank or left out). Files written for the first version of this format,
  `gross_btc,fee_btc,net_btc`, are still read, whatever the commodity;
- payouts `paid_at,pool_account,txid,address,amount,external_id` (external_id may be blank
  or left out: the txid is then the identity), for pools whose API has no payouts.
Row numbers are line numbers of the file (the header is line 1); an error names the column
as the file spells it.
"""

from __future__ import annotations

from holdings.importers.common import CsvRow, Fields, collapse, one_day_per_id, read_csv
from holdings.importers.records import Earning, ParseContext, ParsedFile, Payout

EARNINGS_COLUMNS = ("date", "pool_account", "gross", "fee", "net")
EARNINGS_OPTIONAL = ("hashrate_hs", "external_id")
# The first version's amount columns, still read: the same figures under other names.
LEGACY_AMOUNTS = {"gross": "gross_btc", "fee": "fee_btc", "net": "net_btc"}
LEGACY_EARNINGS_COLUMNS = tuple(LEGACY_AMOUNTS.get(name, name) for name in EARNINGS_COLUMNS)
PAYOUTS_COLUMNS = ("paid_at", "pool_account", "txid", "address", "amount")
PAYOUTS_OPTIONAL = ("external_id",)

EARNINGS_HEADER = ",".join(EARNINGS_COLUMNS + EARNINGS_OPTIONAL)
PAYOUTS_HEADER = ",".join(PAYOUTS_COLUMNS + PAYOUTS_OPTIONAL)

HEADERS = {
    "earnings": (EARNINGS_COLUMNS, EARNINGS_OPTIONAL),
    "payouts": (PAYOUTS_COLUMNS, PAYOUTS_OPTIONAL),
    "earnings_btc": (LEGACY_EARNINGS_COLUMNS, EARNINGS_OPTIONAL),
}


def parse(content: bytes, ctx: ParseContext) -> ParsedFile:
    kind, rows = read_csv(content, file_name=ctx.file_name, headers=HEADERS)
    if kind in ("earnings", "earnings_btc"):
        names = LEGACY_AMOUNTS if kind == "earnings_btc" else {n: n for n in LEGACY_AMOUNTS}
        earnings = [_earning(row, ctx, names) for row in rows]
        days = collapse(
            earnings,
            key=lambda e: (e.pool_account, e.day),
            describe=lambda e: f"pool account {e.pool_account} on {e.day}",
            field="date",
            file_name=ctx.file_name,
        )
        return ParsedFile(
            earnings=one_day_per_id(days, field="external_id", file_name=ctx.file_name)
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


def _earning(row: CsvRow, ctx: ParseContext, names: dict[str, str]) -> Earning:
    """`names` gives the columns of gross, fee and net as the file spells them."""
    item = _fields(row, ctx)
    gross = item.amount(names["gross"], scale=ctx.scale)
    fee = item.amount(names["fee"], scale=ctx.scale)
    net = item.amount(names["net"], scale=ctx.scale)
    if gross - fee != net:
        raise item.error(
            f"is {net}, but {names['gross']} {gross} - {names['fee']} {fee} = {gross - fee}",
            names["net"],
        )
    return Earning(
        day=item.day("date"),
        net=net,
        gross=gross,
        fee=fee,
        hashrate_hs=item.hashrate("hashrate_hs"),
        external_id=item.ident("external_id") if item.present("external_id") else None,
        raw=dict(row.raw),
        row=row.line,
        pool_account=item.text("pool_account"),
        field_names=names,
    )


def _payout(row: CsvRow, ctx: ParseContext) -> Payout:
    item = _fields(row, ctx)
    txid = item.txid("txid")
    # Payout has no pool_account field: the import finds it in raw["pool_account"].
    raw = {**row.raw, "pool_account": item.text("pool_account")}
    return Payout(
        external_id=item.ident("external_id") if item.present("external_id") else txid,
        txid=txid,
        address=item.address("address"),
        amount=item.amount("amount", scale=ctx.scale, positive=True),
        paid_at=item.iso_utc("paid_at"),
        raw=raw,
        row=row.line,
    )
