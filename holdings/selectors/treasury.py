"""Reads of the treasury: wallets as the treasury's writes look them up, and the disposal
records against their sales, transfers, liquidations and entries. No side effects."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from holdings import chart
from holdings.errors import InvalidSetup
from holdings.models import Wallet


def wallet_get(ref: Wallet | str, *, field: str = "wallet") -> Wallet:
    """The wallet `ref` names (its code), with its account and commodity; an unknown code is
    refused naming `field`."""
    if isinstance(ref, Wallet):
        return ref
    wallet = Wallet.objects.select_related("account", "commodity").filter(code=ref).first()
    if wallet is None:
        raise InvalidSetup(f"unknown wallet {ref!r}", field=field)
    return wallet


@dataclass(frozen=True)
class TreasuryBreak:
    """A disposal record, sale, transfer or liquidation that is not what its entry and its
    records make it. `subject_type` is disposal, sale, transfer or loan_event."""

    subject_type: str
    subject: str
    entry_sequence: int | None
    detail: str

    @property
    def key(self) -> str:
        return self.subject

    @property
    def label(self) -> str:
        return f"{self.subject_type.replace('_', ' ')} {self.subject}"


def treasury_breaks() -> list[TreasuryBreak]:
    """The treasury's documents and the realized gains' sources against each other, as
    PostgreSQL holds them at each write since holdings migrations 0044 to 0046 and 0049: each
    disposal record dated its entry's day, held the days since its lot's acquisition, of the
    sale or transfer its entry posts, a mirror its original turned round, its proceeds within
    a cent of its units' share of its entry's; each sale its records and its entry; each
    transfer its entry and its fee's records; each liquidation its records.
    Found here: what a ledger of an earlier release holds, or what was written with the
    triggers off. In the journal's order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH records AS (
                SELECT d.sale_id, d.transfer_id, d.entry_id, sum(d.units) AS units,
                       sum(d.cost) AS cost, sum(d.carrying_value) AS carrying_value,
                       sum(d.proceeds) AS proceeds, bool_and(d.method = s.method) AS same_method
                  FROM holdings_disposal d
                  LEFT JOIN holdings_sale s ON s.id = d.sale_id
                 WHERE d.reversal_of_id IS NULL
                 GROUP BY d.sale_id, d.transfer_id, d.entry_id
            ), entry_records AS (
                SELECT entry_id, sum(units) AS units, sum(proceeds) AS proceeds
                  FROM holdings_disposal WHERE reversal_of_id IS NULL GROUP BY entry_id
            ), sale_wanted AS (
                SELECT s.id AS sale_id, s.entry_id, w.account_id, -s.units AS quantity,
                       -s.cost AS value
                  FROM holdings_sale s JOIN holdings_wallet w ON w.id = s.wallet_id
                UNION ALL
                SELECT s.id, s.entry_id, holdings_lots_adjustment_account(w.account_id),
                       s.cost - s.carrying_value, s.cost - s.carrying_value
                  FROM holdings_sale s JOIN holdings_wallet w ON w.id = s.wallet_id
                 WHERE s.carrying_value <> s.cost
                UNION ALL
                SELECT s.id, s.entry_id, s.proceeds_account_id, s.gross_proceeds - s.fee,
                       s.proceeds_value - s.fee_value
                  FROM holdings_sale s
                UNION ALL
                SELECT s.id, s.entry_id, a.id, s.fee_value, s.fee_value
                  FROM holdings_sale s JOIN ledger_account a ON a.code = %(fees)s
                 WHERE s.fee_value <> 0
                UNION ALL
                SELECT s.id, s.entry_id, a.id, -s.gain_on_carrying_value,
                       -s.gain_on_carrying_value
                  FROM holdings_sale s JOIN ledger_account a ON a.code = %(gain)s
                 WHERE s.gain_on_carrying_value <> 0
            ), sale_posted AS (
                SELECT s.id AS sale_id, s.entry_id, p.account_id, sum(p.quantity) AS quantity,
                       sum(p.value) AS value
                  FROM holdings_sale s JOIN ledger_posting p ON p.entry_id = s.entry_id
                 GROUP BY s.id, s.entry_id, p.account_id
            ), sale_wanted_by_account AS (
                SELECT sale_id, entry_id, account_id, sum(quantity) AS quantity,
                       sum(value) AS value
                  FROM sale_wanted GROUP BY sale_id, entry_id, account_id
            ), breaks AS (
                SELECT 'disposal' AS subject_type, d.id::text AS subject, d.entry_id,
                       CASE
                           WHEN NOT (d.days_held >= 0 AND CASE WHEN d.reversal_of_id IS NULL
                                     THEN d.units > 0 AND d.cost >= 0 AND d.proceeds >= 0
                                     ELSE d.units < 0 AND d.cost <= 0 AND d.proceeds <= 0 END)
                               THEN format('relieves %%s units at a cost of %%s and proceeds of '
                                           '%%s, held %%s days', d.units, d.cost, d.proceeds,
                                           d.days_held)
                           WHEN d.disposed_on <> j.effective_date
                               THEN format('is dated %%s, its entry %%s', d.disposed_on,
                                           j.effective_date)
                           WHEN d.reversal_of_id IS NULL AND d.days_held
                                <> d.disposed_on - (l.acquired_at AT TIME ZONE 'UTC')::date
                               THEN format('holds lot %%s %%s days, acquired on %%s', l.id,
                                           d.days_held,
                                           (l.acquired_at AT TIME ZONE 'UTC')::date)
                           WHEN d.reversal_of_id IS NULL
                                AND (d.sale_id IS DISTINCT FROM s.id
                                     OR d.transfer_id IS DISTINCT FROM t.id)
                               THEN format('is of %%s, its entry posts %%s',
                                           coalesce('sale ' || d.sale_id,
                                                    'transfer ' || d.transfer_id, 'neither'),
                                           coalesce('sale ' || s.id, 'transfer ' || t.id,
                                                    'neither'))
                           WHEN d.reversal_of_id IS NULL AND d.transfer_id IS NOT NULL
                                AND d.proceeds <> 0
                               THEN format('has proceeds of %%s for a network fee', d.proceeds)
                           WHEN d.reversal_of_id IS NULL
                                AND abs(d.proceeds * e.units - e.proceeds * d.units)
                                    > 0.01 * e.units
                               THEN format('relieves %%s of the %%s units from lot %%s for '
                                           'proceeds of %%s, but its share by units of the %%s '
                                           'proceeds is %%s', d.units, e.units, d.lot_id,
                                           d.proceeds, e.proceeds,
                                           round(e.proceeds * d.units / e.units, 4))
                           WHEN d.reversal_of_id IS NOT NULL
                                AND (j.reversal_of_id IS DISTINCT FROM o.entry_id
                                     OR (d.lot_id, d.sale_id, d.transfer_id, d.method,
                                         d.days_held, d.units, d.cost, d.carrying_value,
                                         d.proceeds, d.realized_gain)
                                        IS DISTINCT FROM
                                        (o.lot_id, o.sale_id, o.transfer_id, o.method,
                                         o.days_held, -o.units, -o.cost, -o.carrying_value,
                                         -o.proceeds, -o.realized_gain))
                               THEN format('does not turn round disposal %%s under the entry '
                                           'cancelling its own', d.reversal_of_id)
                       END AS detail
                  FROM holdings_disposal d
                  JOIN ledger_journalentry j ON j.id = d.entry_id
                  JOIN holdings_lot l ON l.id = d.lot_id
                  LEFT JOIN holdings_sale s ON s.entry_id = d.entry_id
                  LEFT JOIN holdings_transfer t ON t.entry_id = d.entry_id
                  LEFT JOIN holdings_disposal o ON o.id = d.reversal_of_id
                  LEFT JOIN entry_records e ON e.entry_id = d.entry_id
                UNION ALL
                SELECT 'sale', s.reference, s.entry_id,
                       format('is of %%s at a cost of %%s, a carrying value of %%s and proceeds '
                              'of %%s by %%s; its records: %%s at %%s, %%s and %%s%%s; its gains '
                              '%%s and %%s', s.units, s.cost, s.carrying_value,
                              s.proceeds_value, s.method, coalesce(r.units, 0),
                              coalesce(r.cost, 0), coalesce(r.carrying_value, 0),
                              coalesce(r.proceeds, 0),
                              CASE WHEN r.same_method THEN '' ELSE ' by another method' END,
                              s.realized_gain, s.gain_on_carrying_value)
                  FROM holdings_sale s
                  LEFT JOIN records r ON r.sale_id = s.id
                 WHERE (s.units, s.cost, s.carrying_value, s.proceeds_value)
                       IS DISTINCT FROM (r.units, r.cost, r.carrying_value, r.proceeds)
                    OR NOT r.same_method
                    OR s.realized_gain <> s.proceeds_value - s.cost
                    OR s.gain_on_carrying_value <> s.proceeds_value - s.carrying_value
                UNION ALL
                SELECT 'sale', s.reference, s.entry_id,
                       format('makes %%s at %%s of account %%s; its entry posts %%s at %%s',
                              coalesce(w.quantity, 0), coalesce(w.value, 0),
                              coalesce(a.code, 'none'), coalesce(p.quantity, 0),
                              coalesce(p.value, 0))
                  FROM sale_wanted_by_account w
                  FULL JOIN sale_posted p
                    ON p.sale_id = w.sale_id AND p.account_id = w.account_id
                  JOIN holdings_sale s ON s.id = coalesce(w.sale_id, p.sale_id)
                  LEFT JOIN ledger_account a ON a.id = coalesce(w.account_id, p.account_id)
                 WHERE (coalesce(w.quantity, 0), coalesce(w.value, 0))
                       <> (coalesce(p.quantity, 0), coalesce(p.value, 0))
                UNION ALL
                SELECT 'transfer', t.txid, t.entry_id,
                       format('pays a network fee of %%s; its records relieve %%s', t.fee_units,
                              coalesce(r.units, 0))
                  FROM holdings_transfer t
                  LEFT JOIN records r ON r.transfer_id = t.id
                 WHERE t.fee_units <> coalesce(r.units, 0)
                UNION ALL
                SELECT 'transfer', t.txid, t.entry_id,
                       format('moves %%s from %%s to %%s with a fee of %%s; its entry posts %%s '
                              'into %%s and %%s out of %%s', t.units, f.code, w.code,
                              t.fee_units, coalesce(p.received, 0), w.code,
                              -coalesce(p.sent, 0), f.code)
                  FROM holdings_transfer t
                  JOIN holdings_wallet w ON w.id = t.to_wallet_id
                  JOIN holdings_wallet f ON f.id = t.from_wallet_id
                  LEFT JOIN LATERAL (
                      SELECT sum(quantity) FILTER (WHERE account_id = w.account_id) AS received,
                             sum(quantity) FILTER (WHERE account_id = f.account_id) AS sent
                        FROM ledger_posting WHERE entry_id = t.entry_id
                  ) p ON true
                 WHERE (coalesce(p.received, 0), coalesce(p.sent, 0))
                       <> (t.units, -(t.units + t.fee_units))
                UNION ALL
                SELECT 'loan_event', e.id::text, e.entry_id,
                       format('liquidates %%s units settling %%s; its records relieve %%s for '
                              '%%s', e.units, coalesce(settled.value, 0), coalesce(r.units, 0),
                              coalesce(r.proceeds, 0))
                  FROM holdings_loanevent e
                  JOIN holdings_loan n ON n.id = e.loan_id
                  LEFT JOIN records r
                    ON r.entry_id = e.entry_id AND r.sale_id IS NULL AND r.transfer_id IS NULL
                  LEFT JOIN LATERAL (
                      SELECT sum(p.value) AS value FROM ledger_posting p
                       WHERE p.entry_id = e.entry_id
                         AND p.account_id IN (n.principal_account_id, n.interest_account_id)
                  ) settled ON true
                 WHERE e.kind = 'liquidation'
                   AND (e.units, coalesce(settled.value, 0))
                       IS DISTINCT FROM (coalesce(r.units, 0), coalesce(r.proceeds, 0))
            )
            SELECT b.subject_type, b.subject, j.sequence, b.detail
              FROM breaks b
              LEFT JOIN ledger_journalentry j ON j.id = b.entry_id
             WHERE b.detail IS NOT NULL
             ORDER BY j.sequence NULLS FIRST, b.subject_type, b.subject
            """,
            {"fees": chart.TRADING_FEES, "gain": chart.FAIR_VALUE_GAIN},
        )
        return [TreasuryBreak(*row) for row in cursor.fetchall()]
