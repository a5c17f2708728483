"""Errors a caller can cause. Each names what is wrong; nothing is written when raised."""

from __future__ import annotations


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        data = {"code": self.code, "detail": self.message}
        if self.field:
            data["field"] = self.field
        return data


class InvalidEntry(LedgerError):
    code = "invalid_entry"


class UnknownAccount(InvalidEntry):
    code = "unknown_account"


class ClosedPeriod(LedgerError):
    code = "closed_period"


class Conflict(LedgerError):
    """The request clashes with what is already recorded (answered 409 by the API)."""

    code = "conflict"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class InsufficientBalance(LedgerError):
    code = "insufficient_balance"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class PeriodError(LedgerError):
    code = "period_error"


class InvalidAccount(LedgerError):
    code = "invalid_account"


class InvalidCommodity(LedgerError):
    code = "invalid_commodity"


class Forbidden(LedgerError):
    """The user may not do this (answered 403 by the API): the wrong role, or their own
    journal to approve."""

    code = "forbidden"


class InvalidState(Conflict):
    """The record is not in a state that allows this (a journal already decided, say)."""

    code = "invalid_state"
