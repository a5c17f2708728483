"""Errors a caller can cause in the miner's world. Each names what is wrong; nothing is
written when one is raised."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ledger.errors import Conflict, LedgerError


class HoldingsError(LedgerError):
    code = "holdings_error"


class AlreadyRecorded(HoldingsError, Conflict):
    code = "already_recorded"


class InvalidSetup(HoldingsError):
    code = "invalid_setup"


class SetupExists(InvalidSetup, Conflict):
    """A site, pool, pool account, wallet or address that is already set up (same code)."""

    code = "already_exists"


class MissingPrice(HoldingsError):
    code = "missing_price"


class PriceConflict(HoldingsError):
    code = "price_conflict"


class InsufficientLots(HoldingsError):
    code = "insufficient_lots"


class RemeasurementError(HoldingsError):
    code = "remeasurement_error"


class RemeasuredDay(HoldingsError, Conflict):
    """A lot movement dated on or before a standing remeasurement of its commodity."""

    code = "remeasured_day"


class PaymentOutOfOrder(HoldingsError, Conflict):
    """A loan's repayment or liquidation dated before a later standing one."""

    code = "payment_out_of_order"


class AccruedDay(HoldingsError, Conflict):
    """A change of a loan's principal dated under its standing interest accruals."""

    code = "accrued_day"


class ImportFailed(HoldingsError):
    """A batch that cannot be imported; `errors` lists every problem found (file, row,
    field, message)."""

    code = "import_failed"

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        first = errors[0]
        where = first.get("file") or ""
        if first.get("row") is not None:
            where += f", row {first['row']}"
        if first.get("field"):
            where += f", field {first['field']}"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['message']}{more}" if where else first["message"] + more)


@contextmanager
def named_date(field: str) -> Iterator[None]:
    """The ledger's refusal of an entry's date (a closed period, a day outside the books'
    horizon) names the caller's own date field (`sold_at`, `on`...), not the entry's."""
    try:
        yield
    except LedgerError as refused:
        if refused.field == "effective_date":
            refused.field = field
        raise
