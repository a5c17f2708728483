"""Posting one pool file, inside its batch's transaction: production records with the price
that valued them, receivable lots and their entries, and payouts moving lots to wallets.
A record already known is skipped when identical and refused when it differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from holdings import chart
from holdings.errors import ImportFailed
from holdings.importers import registry
from holdings.importers.records import (
    Earning,
    ParseContext,
    ParsedFile,
)
from holdings.importers.records import (
    Payout as ParsedPayout,
)
from holdings.models import (
    ImportBatch,
    Lot,
    LotOrigin,
    Payout,
    PoolAccount,
    Price,
    ProductionRecord,
    WalletAddress,
)
from holdings.selectors.fair_value import measured_its_lots, measured_through
from holdings.selectors.prices import earned_at, earning_day_for, price_timestamp
from holdings.services import bulk
from holdings.services.lots import AnyLot, LotPlan, NewLot, share_lots, take_fifo
from holdings.valuation import cents
from ledger import services as ledger_services
from ledger.errors import LedgerError
from ledger.models import JournalEntry
from ledger.models.accounts import VALUE_WHOLE_DIGITS
from ledger.money import fits_scale
from ledger.services import EntryInput, PostingInput

# Parsers for a file whose rows name their pool accounts read it at the widest scale; each
# row is then held to its own pool account's commodity.
WIDEST_SCALE = 18


@dataclass
class ImportOutcome:
    earnings_created: int = 0
    earnings_skipped: int = 0
    payouts_created: int = 0
    payouts_skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def created(self) -> int:
        return self.earnings_created + self.payouts_created

    @property
    def skipped(self) -> int:
        return self.earnings_skipped + self.payouts_skipped


def batch_post(batch: ImportBatch) -> tuple[ImportOutcome, int]:
    content = bytes(batch.content)
    account = batch.pool_account
    if account is not None:
        scale = account.commodity.decimal_places
        ctx = ParseContext(file_name=batch.file_name, commodity=account.commodity_id, scale=scale)
    else:
        ctx = ParseContext(file_name=batch.file_name, commodity="", scale=WIDEST_SCALE)
    parsed = registry.parse(batch.source, content, ctx)
    importer = _Importer(batch, parsed)
    outcome = importer.run()
    return outcome, len(parsed.earnings) + len(parsed.payouts)


class _PriceUsed(NamedTuple):
    id: int
    price: Decimal
    source: str


@dataclass
class _NewRecord:
    """A production record to write, with the entry (by index) and lot that go with it."""

    account: PoolAccount
    earning: Earning
    price: _PriceUsed | None
    value: Decimal
    entry_index: int | None
    lot: NewLot | None


class _Importer:
    """One batch's import, inside the caller's transaction."""

    def __init__(self, batch: ImportBatch, parsed: ParsedFile):
        self.batch = batch
        self.parsed = parsed
        self.file = batch.file_name
        self.errors: list[dict[str, Any]] = []
        self.outcome = ImportOutcome()

    def error(self, row: int | None, field_name: str | None, message: str) -> None:
        self.errors.append({"file": self.file, "row": row, "field": field_name, "message": message})

    def check(self) -> None:
        if self.errors:
            raise ImportFailed(self.errors)

    # The steps ----------------------------------------------------------------------------

    def run(self) -> ImportOutcome:
        # Before the pool accounts and lots are locked, and the records' dates are checked
        # against the remeasurements (one in progress is waited for).
        share_lots()
        accounts = self._lock_pool_accounts()
        self.check()
        earnings = self._new_earnings(accounts)
        payouts = self._new_payouts(accounts)
        self.check()
        self._refuse_remeasured_days(
            [(account, earning.day, earning.row, "day") for account, earning in earnings]
            + [
                (account, payout.paid_at.date(), payout.row, "paid_at")
                for account, payout, _address in payouts
            ]
        )
        self.check()
        prices = self._prices(earnings)
        self.check()

        entries: list[EntryInput] = []
        plan = LotPlan()
        records = self._plan_earnings(earnings, prices, entries, plan)
        payout_rows = self._plan_payouts(payouts, entries, plan)
        self.check()
        # Records of a zero net post nothing but are kept all the same: a file of only those
        # writes its records and no entry.
        posted: list[JournalEntry] = []
        if entries:
            try:
                posted = ledger_services.entries_post(
                    entries=entries, created_by=self.batch.created_by
                )
            except LedgerError as error:
                self.error(None, error.field, f"the ledger refused the batch: {error.message}")
                self.check()
        if records:
            self._write_records(records, posted)
        for payout, index in payout_rows:
            payout.entry = posted[index]
        Payout.objects.bulk_create([payout for payout, _ in payout_rows])
        if entries:
            plan.write(posted)
        return self.outcome

    def _write_records(self, records: list[_NewRecord], posted: list[JournalEntry]) -> None:
        now = timezone.now()
        ids = bulk.next_ids("holdings_productionrecord", len(records))
        rows = []
        for record, record_id in zip(records, ids, strict=True):
            earning = record.earning
            if record.lot is not None:
                record.lot.production_record_id = record_id
            rows.append(
                (
                    record_id,
                    record.account.pk,
                    earning.day,
                    earning.external_id,
                    earning.gross,
                    earning.fee,
                    earning.net,
                    earning.hashrate_hs,
                    record.price.id if record.price else None,
                    record.value,
                    Jsonb(earning.raw),
                    posted[record.entry_index].pk if record.entry_index is not None else None,
                    self.batch.pk,
                    now,
                )
            )
        bulk.insert("holdings_productionrecord", RECORD_COLUMNS, rows)

    def _lock_pool_accounts(self) -> dict[str, PoolAccount]:
        """The pool accounts this file touches, locked in id order: imports of one pool
        account run one after another, so each record is created exactly once."""
        # Each pool account a row names, with the first row naming it (for its errors).
        named = [(e.pool_account, e.row) for e in self.parsed.earnings if e.pool_account]
        named += [
            (str(p.raw["pool_account"]), p.row)
            for p in self.parsed.payouts
            if p.raw.get("pool_account")
        ]
        first_row: dict[str, int] = {}
        for code, row in named:
            first_row[code] = min(row, first_row.get(code, row))
        codes = set(first_row)
        if self.batch.pool_account is not None:
            stray = sorted(codes - {self.batch.pool_account.code})
            for code in stray:
                self.error(
                    first_row[code],
                    "pool_account",
                    f"the file names pool account {code}, but the batch is for "
                    f"{self.batch.pool_account.code}",
                )
            codes = {self.batch.pool_account.code}
        found = {
            account.code: account
            for account in PoolAccount.objects.select_for_update(of=("self",))
            .select_related("commodity", "receivable_account")
            .filter(code__in=codes)
            .order_by("pk")
        }
        for code in sorted(codes - set(found)):
            self.error(first_row.get(code), "pool_account", f"unknown pool account {code}")
        for account in found.values():
            if not account.is_active:
                self.error(
                    first_row.get(account.code),
                    "pool_account",
                    f"pool account {account.code} is inactive",
                )
        return found

    def _account_of(self, accounts: dict[str, PoolAccount], code: str | None) -> PoolAccount:
        if self.batch.pool_account is not None:
            return accounts[self.batch.pool_account.code]
        return accounts[str(code)]

    def _refuse_remeasured_days(self, dated: list[tuple[PoolAccount, date, int, str]]) -> None:
        """A record dated on or before a standing remeasurement of its commodity would change
        the lots it measured: each is named by its row (the lots' plan and PostgreSQL keep
        the same rule)."""
        if not dated:
            return
        found = measured_through(
            {account.commodity_id for account, *_ in dated}, min(on for _a, on, *_ in dated)
        )
        for account, on, row, field_name in dated:
            remeasurement = found.get(account.commodity_id)
            if remeasurement is not None and on <= remeasurement.as_of:
                self.error(
                    row,
                    field_name,
                    f"{measured_its_lots(remeasurement)}: a record of {on} would change them; "
                    "cancel that remeasurement first, import this file, and remeasure the day "
                    "again",
                )

    def _new_earnings(self, accounts: dict[str, PoolAccount]) -> list[tuple[PoolAccount, Earning]]:
        by_account: dict[int, list[Earning]] = {}
        for earning in self.parsed.earnings:
            account = self._account_of(accounts, earning.pool_account)
            amounts = {"net": earning.net, "gross": earning.gross, "fee": earning.fee}
            unfit = [n for n, v in amounts.items() if v is not None and not _fits(v, account)]
            if unfit:
                self.error(
                    earning.row,
                    earning.field_names.get(unfit[0], unfit[0]),
                    f"{amounts[unfit[0]]} has more decimals than {account.commodity_id} "
                    f"allows ({account.commodity.decimal_places})",
                )
                continue
            by_account.setdefault(account.pk, []).append(earning)
        fresh: list[tuple[PoolAccount, Earning]] = []
        accounts_by_pk = {a.pk: a for a in accounts.values()}
        for account_pk, items in by_account.items():
            account = accounts_by_pk[account_pk]
            days = [e.day for e in items]
            ids = [e.external_id for e in items if e.external_id]
            # A range, not a list of days: one index scan, whatever the file's length.
            seen = Q(day__range=(min(days), max(days)))
            if ids:
                seen |= Q(external_id__in=ids)
            existing = ProductionRecord.objects.filter(seen, pool_account=account).only(
                "day", "external_id", "net", "gross", "fee", "hashrate_hs", "batch_id"
            )
            known_by_day = {r.day: r for r in existing}
            known_by_id = {r.external_id: r for r in known_by_day.values() if r.external_id}
            for earning in items:
                known = known_by_day.get(earning.day) or (
                    known_by_id.get(earning.external_id) if earning.external_id else None
                )
                if known is None:
                    fresh.append((account, earning))
                elif _same_earning(known, earning):
                    self.outcome.earnings_skipped += 1
                else:
                    self.error(
                        earning.row,
                        "day",
                        f"{account.code} {earning.day} was already imported (batch "
                        f"{known.batch_id}: net {known.net}, id {known.external_id}) "
                        f"and this file differs (net {earning.net}, id "
                        f"{earning.external_id}); correct it with a reversal, not a "
                        f"second import",
                    )
        return fresh

    def _new_payouts(
        self, accounts: dict[str, PoolAccount]
    ) -> list[tuple[PoolAccount, ParsedPayout, WalletAddress]]:
        if not self.parsed.payouts:
            return []
        addresses = {
            a.address: a
            for a in WalletAddress.objects.select_related("wallet", "wallet__account").filter(
                address__in={p.address for p in self.parsed.payouts}
            )
        }
        fresh = []
        by_account: dict[int, list[ParsedPayout]] = {}
        accounts_by_pk = {a.pk: a for a in accounts.values()}
        for payout in self.parsed.payouts:
            account = self._account_of(accounts, payout.raw.get("pool_account"))
            if not _fits(payout.amount, account):
                self.error(
                    payout.row,
                    "amount",
                    f"more decimals than {account.commodity_id} "
                    f"allows ({account.commodity.decimal_places})",
                )
                continue
            by_account.setdefault(account.pk, []).append(payout)
        for account_pk, items in by_account.items():
            account = accounts_by_pk[account_pk]
            known = {
                p.external_id: p
                for p in Payout.objects.filter(
                    pool_account=account, external_id__in=[p.external_id for p in items]
                )
            }
            for payout in items:
                previous = known.get(payout.external_id)
                if previous is not None:
                    if _same_payout(previous, payout):
                        self.outcome.payouts_skipped += 1
                    else:
                        self.error(
                            payout.row,
                            "external_id",
                            f"payout {payout.external_id} of {account.code} was already "
                            f"imported (batch {previous.batch_id}: {previous.amount} to "
                            f"{previous.address}, tx {previous.txid}) and this file "
                            f"differs",
                        )
                    continue
                address = addresses.get(payout.address)
                if address is None:
                    self.error(
                        payout.row,
                        "address",
                        f"{payout.address} is not an address of any of the company's "
                        f"wallets: add it to a wallet first",
                    )
                    continue
                if not address.wallet.is_active:
                    self.error(
                        payout.row,
                        "address",
                        f"{payout.address} belongs to inactive wallet {address.wallet.code}",
                    )
                    continue
                if address.wallet.commodity_id != account.commodity_id:
                    self.error(
                        payout.row,
                        "address",
                        f"{payout.address} is a {address.wallet.commodity_id} wallet "
                        f"but {account.code} pays {account.commodity_id}",
                    )
                    continue
                fresh.append((account, payout, address))
        fresh.sort(key=lambda item: (item[1].paid_at, item[1].row))
        return fresh

    def _prices(
        self, earnings: list[tuple[PoolAccount, Earning]]
    ) -> dict[tuple[str, datetime], _PriceUsed]:
        wanted = {
            (account.commodity_id, price_timestamp(e.day)) for account, e in earnings if e.net > 0
        }
        if not wanted:
            return {}
        quote = settings.PRICE_QUOTE
        found = {
            (base, at): _PriceUsed(price_id, price, source)
            for base, at, price_id, price, source in Price.objects.filter(
                quote_id=quote,
                base_id__in={base for base, _ in wanted},
                timestamp__range=(min(at for _, at in wanted), max(at for _, at in wanted)),
            ).values_list("base_id", "timestamp", "id", "price", "source")
            if (base, at) in wanted
        }
        missing = sorted(wanted - set(found), key=lambda k: (k[1], k[0]))
        for base, at in missing:
            day = earning_day_for(at)
            self.error(
                None,
                "price",
                f"no {base}/{quote} price at {at:%Y-%m-%dT%H:%M:%SZ}, which the "
                f"{settings.PRICE_POLICY} price policy uses for earnings of {day}: "
                f"import prices for {day} first",
            )
        return found

    def _plan_earnings(
        self,
        earnings: list[tuple[PoolAccount, Earning]],
        prices: dict[tuple[str, datetime], _PriceUsed],
        entries: list[EntryInput],
        plan: LotPlan,
    ) -> list[_NewRecord]:
        records: list[_NewRecord] = []
        for account, earning in earnings:
            self.outcome.earnings_created += 1
            if earning.net == 0:
                # A day that earned nothing: kept, with nothing to post.
                records.append(_NewRecord(account, earning, None, Decimal("0.00"), None, None))
                continue
            price = prices[(account.commodity_id, price_timestamp(earning.day))]
            value = cents(earning.net * price.price)
            if value == 0:
                # Revenue is recognised in cents: an earning worth less than one has no
                # revenue to post and no cost for its lot. Named, so the pool's figure is seen.
                self.error(
                    earning.row,
                    earning.field_names.get("net", "net"),
                    f"{earning.net:f} {account.commodity_id} of {earning.day} is worth less than "
                    f"a cent at {price.price} {settings.PRICE_QUOTE}: no revenue to recognise",
                )
                continue
            if value.adjusted() >= VALUE_WHOLE_DIGITS:
                self.error(
                    earning.row,
                    earning.field_names.get("net", "net"),
                    f"{earning.net:f} {account.commodity_id} of {earning.day} is worth {value} "
                    f"{settings.PRICE_QUOTE} at {price.price}: more than the ledger's values "
                    f"hold ({VALUE_WHOLE_DIGITS} digits before the point)",
                )
                continue
            entry_index = len(entries)
            record = _NewRecord(account, earning, price, value, entry_index, None)
            records.append(record)
            entries.append(
                EntryInput(
                    effective_date=earning.day,
                    memo=f"{account.code} earned {earning.net} {account.commodity_id} on "
                    f"{earning.day} at {price.price} ({price.source})",
                    postings=[
                        PostingInput(account.receivable_account, earning.net, value),
                        PostingInput(chart.MINING_REVENUE, -value, -value),
                    ],
                    idempotency_key=f"pool-earning:{account.code}:{earning.day.isoformat()}",
                    kind="pool_earning",
                )
            )
            lot = plan.open(
                entry_index=entry_index,
                account=account.receivable_account,
                acquired_at=earned_at(earning.day),
                effective_date=earning.day,
                quantity=earning.net,
                cost=value,
                origin=LotOrigin.MINED,
                price_id=price.id,
            )
            record.lot = lot
        return records

    def _plan_payouts(
        self,
        payouts: list[tuple[PoolAccount, ParsedPayout, WalletAddress]],
        entries: list[EntryInput],
        plan: LotPlan,
    ) -> list[tuple[Payout, int]]:
        """Each new payout with the index of its entry."""
        if not payouts:
            return []
        receivables = {account.receivable_account_id for account, _, _ in payouts}
        open_lots: dict[int, list[AnyLot]] = {account_id: [] for account_id in receivables}
        # Locked in id order; lots opened by this batch join them in acquisition order.
        for lot in (
            Lot.objects.select_for_update()
            .filter(account_id__in=receivables, quantity__gt=0)
            .order_by("pk")
        ):
            open_lots[lot.account_id].append(lot)
        for new in plan.new_lots:
            if new.account_id in open_lots:
                open_lots[new.account_id].append(new)
        for lots in open_lots.values():
            lots.sort(key=lambda lot: (lot.acquired_at, lot.pk or 0))

        rows: list[tuple[Payout, int]] = []
        for account, payout, address in payouts:
            takes, short = take_fifo(
                open_lots[account.receivable_account_id], payout.amount, acquired_by=payout.paid_at
            )
            if short:
                available = payout.amount - short
                self.error(
                    payout.row,
                    "amount",
                    f"payout {payout.external_id} of {payout.amount} "
                    f"{account.commodity_id} at {payout.paid_at:%Y-%m-%dT%H:%M:%SZ} "
                    f"exceeds the {available} {account.commodity_id} that "
                    f"{account.code} had earned and not yet been paid by then",
                )
                continue
            cost = sum((take.cost for take in takes), Decimal("0.00"))
            wallet_account = address.wallet.account
            entry_index = len(entries)
            entries.append(
                EntryInput(
                    effective_date=payout.paid_at.date(),
                    memo=f"{account.code} paid {payout.amount} {account.commodity_id} to "
                    f"{address.wallet.code} in tx {payout.txid}",
                    postings=[
                        PostingInput(wallet_account, payout.amount, cost),
                        PostingInput(account.receivable_account, -payout.amount, -cost),
                    ],
                    idempotency_key=f"pool-payout:{account.code}:{payout.external_id}",
                    kind="pool_payout",
                )
            )
            plan.transfer(
                takes,
                to=wallet_account,
                entry_index=entry_index,
                effective_date=payout.paid_at.date(),
            )
            row = Payout(
                pool_account=account,
                external_id=payout.external_id,
                txid=payout.txid,
                address=payout.address,
                wallet=address.wallet,
                amount=payout.amount,
                paid_at=payout.paid_at,
                raw=payout.raw,
                batch=self.batch,
            )
            rows.append((row, entry_index))
            self.outcome.payouts_created += 1
        return rows


RECORD_COLUMNS = (
    "id",
    "pool_account_id",
    "day",
    "external_id",
    "gross",
    "fee",
    "net",
    "hashrate_hs",
    "price_id",
    "value",
    "raw",
    "entry_id",
    "batch_id",
    "created_at",
)


def _fits(amount: Decimal, account: PoolAccount) -> bool:
    return fits_scale(amount, account.commodity.decimal_places)


def _same_earning(known: ProductionRecord, earning: Earning) -> bool:
    return (
        known.day == earning.day
        and known.net == earning.net
        and known.gross == earning.gross
        and known.fee == earning.fee
        and known.hashrate_hs == earning.hashrate_hs
        and (earning.external_id is None or known.external_id == earning.external_id)
    )


def _same_payout(known: Payout, payout: ParsedPayout) -> bool:
    return (
        known.txid == payout.txid
        and known.address == payout.address
        and known.amount == payout.amount
        and known.paid_at == payout.paid_at
    )
