"""What the ledger checks about itself: guarded accounts below zero, roll-ups that disagree
with their postings, and the books' balance, together in ledger_integrity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from ledger.models import Account
from ledger.selectors.balances import trial_balance


def account_first_day_below_zero(*, account: Account) -> tuple[date, Decimal] | None:
    """The first day the account's own quantity is below zero, with that quantity."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT day, running FROM (
                SELECT day, sum(quantity) OVER (ORDER BY day) AS running
                  FROM ledger_dailybalance WHERE account_id = %s
            ) d
             WHERE running < 0 ORDER BY day LIMIT 1
            """,
            [account.pk],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def accounts_below_zero() -> list[tuple[str, date, Decimal]]:
    """Accounts flagged must-not-go-negative whose balance dips below zero on some day."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.code, d.day, d.running
              FROM ledger_account a
              CROSS JOIN LATERAL (
                  SELECT day, sum(quantity) OVER (ORDER BY day) AS running
                    FROM ledger_dailybalance WHERE account_id = a.id
              ) d
             WHERE a.must_not_go_negative AND d.running < 0
             ORDER BY a.code, d.day
            """
        )
        return list(cursor.fetchall())


def rollup_differences() -> list[tuple[str, str, date, Decimal, Decimal]]:
    """Days or months where a roll-up disagrees with the postings it summarises."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH p AS (
                SELECT account_id, effective_date AS day, sum(quantity) q, sum(value) v
                  FROM ledger_posting GROUP BY 1, 2
            ), daily AS (
                SELECT coalesce(p.account_id, r.account_id) account_id,
                       coalesce(p.day, r.day) AS day,
                       coalesce(p.q, 0) - coalesce(r.quantity, 0) dq,
                       coalesce(p.v, 0) - coalesce(r.value, 0) dv
                  FROM p FULL JOIN ledger_dailybalance r
                    ON r.account_id = p.account_id AND r.day = p.day
            ), pm AS (
                SELECT account_id, date_trunc('month', day)::date AS month, sum(q) q, sum(v) v
                  FROM p GROUP BY 1, 2
            ), monthly AS (
                SELECT coalesce(pm.account_id, r.account_id) account_id,
                       coalesce(pm.month, r.month) AS day,
                       coalesce(pm.q, 0) - coalesce(r.quantity, 0) dq,
                       coalesce(pm.v, 0) - coalesce(r.value, 0) dv
                  FROM pm FULL JOIN ledger_monthlybalance r
                    ON r.account_id = pm.account_id AND r.month = pm.month
            )
            SELECT 'daily', a.code, x.day, x.dq, x.dv FROM daily x
              JOIN ledger_account a ON a.id = x.account_id WHERE x.dq <> 0 OR x.dv <> 0
            UNION ALL
            SELECT 'monthly', a.code, x.day, x.dq, x.dv FROM monthly x
              JOIN ledger_account a ON a.id = x.account_id WHERE x.dq <> 0 OR x.dv <> 0
            ORDER BY 2, 3
            """
        )
        return list(cursor.fetchall())


@dataclass(frozen=True)
class IntegrityReport:
    """What the ledger checks about itself: every finding is a break to look into."""

    as_of: date
    trial_balance_total: Decimal
    accounts_below_zero: list[tuple[str, date, Decimal]]
    rollup_differences: list[tuple[str, str, date, Decimal, Decimal]]

    @property
    def ok(self) -> bool:
        return (
            self.trial_balance_total == 0
            and not self.accounts_below_zero
            and not self.rollup_differences
        )


def ledger_integrity(*, as_of: date) -> IntegrityReport:
    """Re-verify what the database enforces on write: the books balance, guarded accounts
    never went below zero, and the balance roll-ups equal the postings they summarise."""
    return IntegrityReport(
        as_of=as_of,
        trial_balance_total=trial_balance(as_of=as_of).total_value,
        accounts_below_zero=accounts_below_zero(),
        rollup_differences=rollup_differences(),
    )
