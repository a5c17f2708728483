"""What every pool parser returns: typed records, exact decimals, aware UTC times.

Parsers are pure: bytes in, records out, no database. The import service decides what to
post. A parser refuses a file it cannot read exactly with an ImportFileError naming the
file, the row and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs to know that the file itself does not say."""

    file_name: str
    commodity: str  # ledger commodity code of the pool account: BTC, KAS, ETC...
    scale: int  # decimal places the commodity allows


@dataclass(frozen=True)
class Earning:
    """One pool sub-account's production for one UTC day."""

    day: date  # the UTC day the earning covers
    net: Decimal  # credited to the pool balance, after the pool's fee (> 0)
    gross: Decimal | None  # before the fee, where the pool reports it exactly
    fee: Decimal | None  # the pool's fee, where reported exactly (gross - fee == net)
    hashrate_hs: Decimal | None  # average hashrate for the day in H/s, where reported
    external_id: str | None  # the provider's id, where it has one
    raw: dict[str, Any]  # the record as received
    row: int  # 1-based position in the file, for error messages
    pool_account: str | None = None  # only the generic CSV names the pool account per row
    # The source's names for net, gross and fee where they are not those (the generic CSV's
    # columns), so that an error names the field as the file spells it.
    field_names: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Payout:
    """An on-chain payment out of the pool balance to one of the company's addresses."""

    external_id: str  # provider id, or the txid where the provider has none
    txid: str  # 64 hex characters
    address: str
    amount: Decimal  # > 0
    paid_at: datetime  # aware, UTC
    raw: dict[str, Any]
    row: int


@dataclass(frozen=True)
class ParsedFile:
    earnings: list[Earning] = field(default_factory=list)
    payouts: list[Payout] = field(default_factory=list)


@dataclass(frozen=True)
class PriceQuote:
    timestamp: datetime  # aware, UTC
    base: str
    quote: str
    price: Decimal  # > 0
    source: str
    row: int


class ImportFileError(ValueError):
    """A file that cannot be imported exactly. Names the file, the row and the field."""

    def __init__(
        self, message: str, *, file_name: str, row: int | None = None, field: str | None = None
    ):
        where = file_name
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field {field}"
        super().__init__(f"{where}: {message}")
        self.message = message
        self.file_name = file_name
        self.row = row
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }
