"""Reconciliation of one day against a stub Esplora whose chain is built from the world's
own payouts, and against custodian, pool and lender statements: a clean day matches, and
each planted break is found, exactly."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from werkzeug import Request, Response

from holdings.errors import ImportFailed, InvalidSetup
from holdings.importers.esplora import EsploraClient
from holdings.importers.records import PriceQuote
from holdings.models import (
    BalanceStatementLine,
    ItemStatus,
    LoanStatementLine,
    Payout,
    ProductionMonthTotal,
    ReconciliationItem,
    ReconciliationRun,
    Statement,
)
from holdings.services import loans, prices, setup, treasury
from holdings.services.reconciliation import reconcile, statement_import
from ledger.models import JournalEntry
from ledger.sealing import journal_seal
from tests.holdings.conftest import (
    ADDRESS,
    ADDRESS_2,
    COLD_ADDRESS,
    closed_port,
    csv_file,
    f2pool_file,
    run_import,
    txid,
)
from tests.holdings.services.test_treasury import OPENING

D = Decimal
DAY = date(2026, 1, 5)
JAN = [date(2026, 1, d) for d in range(1, 7)]

POOL_HOT = "bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h"  # the pool's paying wallet
LENDER_ADDRESS = "bc1q7cyrfmck2ffu2ud3rn5l5a8yv6f0chkp0zpemf"
EXCHANGE = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
STRANGER = "bc1qc7slrfxkknqcq2jevvvkdgvrt8080852dfjewde450xdlk4ugp7szw5tk9"

PAYOUTS = [
    (1, datetime(2026, 1, 3, 2, 0, tzinfo=UTC), "0.6", ADDRESS),
    (2, datetime(2026, 1, 5, 3, 14, 7, tzinfo=UTC), "0.4", ADDRESS_2),
    (3, datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "0.05", ADDRESS),
    (4, datetime(2026, 1, 6, 2, 0, tzinfo=UTC), "0.2", ADDRESS),  # after the day
]
EARNINGS = [
    (JAN[0], "0.5"),
    (JAN[1], "0.25"),
    (JAN[2], "0.125"),
    (JAN[3], "0.2"),
    (JAN[4], "0.3"),
    (JAN[5], "0.1"),
]
TRANSFER_TXID = txid("hot to cold")
TOP_UP_TXID = txid("top-up pledge")


# --- a stub Esplora ----------------------------------------------------------------------

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EPOCH_HEIGHT = 930_000
NOW = datetime(2026, 1, 8, tzinfo=UTC)  # the stub chain's present


def height_at(when: datetime) -> int:
    """One block every ten minutes."""
    return EPOCH_HEIGHT + int((when - EPOCH).total_seconds()) // 600


TIP = height_at(NOW)


def sats(amount: Decimal) -> int:
    scaled = amount.scaleb(8)
    assert scaled == scaled.to_integral_value(), amount
    return int(scaled)


@dataclass
class StubTx:
    txid: str
    inputs: list[tuple[str, Decimal]]  # (address of the output spent, its amount)
    outputs: list[tuple[str | None, Decimal]]
    block_time: datetime | None  # None: still in the mempool
    height: int | None = None

    def __post_init__(self) -> None:
        if self.block_time is not None and self.height is None:
            self.height = height_at(self.block_time)
        assert sum(a for _, a in self.inputs) >= sum(a for _, a in self.outputs), self.txid

    @property
    def confirmed(self) -> bool:
        return self.block_time is not None

    def involves(self, address: str) -> bool:
        return any(a == address for a, _ in [*self.inputs, *self.outputs])


def _output(address: str | None, amount: Decimal) -> dict:
    key = hashlib.sha256(str(address).encode()).hexdigest()[:40]
    item: dict = {
        "scriptpubkey": "0014" + key,
        "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 " + key,
        "scriptpubkey_type": "v0_p2wpkh",
        "value": sats(amount),
    }
    if address is None:
        item.update(scriptpubkey="6a04c0ffee00", scriptpubkey_type="op_return")
        item["scriptpubkey_asm"] = "OP_RETURN OP_PUSHBYTES_4 c0ffee00"
    else:
        item["scriptpubkey_address"] = address
    return item


def tx_json(tx: StubTx) -> dict:
    """The transaction as Esplora serves it, with each input's prevout."""
    status: dict = {"confirmed": False}
    if tx.block_time is not None:
        status = {
            "confirmed": True,
            "block_height": tx.height,
            "block_hash": hashlib.sha256(f"block {tx.height}".encode()).hexdigest(),
            "block_time": int(tx.block_time.timestamp()),
        }
    fee = sum(a for _, a in tx.inputs) - sum(a for _, a in tx.outputs)
    return {
        "txid": tx.txid,
        "version": 2,
        "locktime": 0,
        "vin": [
            {
                "txid": txid(("funding", tx.txid, index)),
                "vout": 0,
                "prevout": _output(address, amount),
                "scriptsig": "",
                "scriptsig_asm": "",
                "witness": ["30440220" + "00" * 30, "02" + "11" * 32],
                "is_coinbase": False,
                "sequence": 4294967293,
            }
            for index, (address, amount) in enumerate(tx.inputs)
        ],
        "vout": [_output(address, amount) for address, amount in tx.outputs],
        "size": 222,
        "weight": 561,
        "fee": sats(fee),
        "status": status,
    }


def _json(data: object) -> Response:
    return Response(json.dumps(data), content_type="application/json")


class StubChain:
    """The chain the stub serves: `GET /tx/:txid`, `/blocks/tip/height`, `/address/:a` and
    `/address/:a/txs/chain[/:last_seen_txid]` (confirmed, newest first, 25 a page)."""

    def __init__(self, txs: list[StubTx]) -> None:
        self.txs = {tx.txid: tx for tx in txs}
        self.tip = TIP
        self.url = ""
        self.after_tip_read: Callable[[], None] | None = None
        self.failing: re.Pattern[str] | None = None  # paths answered with HTTP 500

    def add(self, tx: StubTx) -> StubTx:
        self.txs[tx.txid] = tx
        return tx

    def drop(self, txid_: str) -> None:
        del self.txs[txid_]

    def history(self, address: str) -> list[StubTx]:
        confirmed = [t for t in self.txs.values() if t.confirmed and t.involves(address)]
        return sorted(confirmed, key=lambda t: (t.height, t.block_time, t.txid), reverse=True)

    def stats(self, address: str) -> dict:
        def figures(txs: list[StubTx]) -> dict:
            funded = [a for t in txs for addr, a in t.outputs if addr == address]
            spent = [a for t in txs for addr, a in t.inputs if addr == address]
            return {
                "funded_txo_count": len(funded),
                "funded_txo_sum": sats(sum(funded, D(0))),
                "spent_txo_count": len(spent),
                "spent_txo_sum": sats(sum(spent, D(0))),
                "tx_count": len(txs),
            }

        involved = [t for t in self.txs.values() if t.involves(address)]
        return {
            "address": address,
            "chain_stats": figures([t for t in involved if t.confirmed]),
            "mempool_stats": figures([t for t in involved if not t.confirmed]),
        }

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/api")
        if self.failing is not None and self.failing.search(path):
            return Response("Internal Server Error", status=500, content_type="text/plain")
        if match := re.fullmatch(r"/tx/([0-9a-f]{64})", path):
            tx = self.txs.get(match[1])
            if tx is None:
                return Response("Transaction not found", status=404, content_type="text/plain")
            return _json(tx_json(tx))
        if path == "/blocks/tip/height":
            height, hook, self.after_tip_read = self.tip, self.after_tip_read, None
            if hook is not None:
                hook()  # a block is found just after the tip was read
            return Response(str(height), content_type="text/plain")
        if match := re.fullmatch(r"/address/([A-Za-z0-9]+)", path):
            return _json(self.stats(match[1]))
        if match := re.fullmatch(r"/address/([A-Za-z0-9]+)/txs/chain(?:/([0-9a-f]{64}))?", path):
            history = self.history(match[1])
            start = 0
            if match[2]:
                seen = [t.txid for t in history]
                if match[2] not in seen:
                    return Response("Invalid last seen txid", status=400)
                start = seen.index(match[2]) + 1
            return _json([tx_json(t) for t in history[start : start + 25]])
        return Response("Not found", status=404, content_type="text/plain")


def payout_transactions() -> list[StubTx]:
    """The pool's transactions that paid the world's payouts: one per txid, paying each
    payout's address its amount, with the pool's change; confirmed ten minutes after the
    pool says it paid."""
    grouped: dict[str, list[Payout]] = defaultdict(list)
    for payout in Payout.objects.order_by("paid_at", "id"):
        grouped[payout.txid].append(payout)
    txs = []
    for txid_, group in grouped.items():
        paid = sum((p.amount for p in group), D(0))
        change = D("3.5")
        txs.append(
            StubTx(
                txid=txid_,
                inputs=[(POOL_HOT, paid + change + D("0.00001410"))],
                outputs=[*((p.address, p.amount) for p in group), (POOL_HOT, change)],
                block_time=group[0].paid_at + timedelta(minutes=10),
            )
        )
    return txs


# --- the world ---------------------------------------------------------------------------


def usdt_prices() -> None:
    quotes = []
    day = date(2025, 12, 1)
    while day <= date(2026, 2, 28):
        at = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        quotes.append(PriceQuote(at, "USDT", "USD", D("1.0000"), "test-close", 1))
        day += timedelta(days=1)
    prices.prices_import(quotes=quotes, file_name="usdt prices")


@pytest.fixture
def recon_world(world) -> dict:
    """Two pool accounts with six days of earnings (one of them paying out to the hot
    wallet's two addresses), the cold wallet's opening BTC, a USDT custody account, a USDT
    loan against BTC pledged from the cold wallet (topped up on the day, its change coming
    back) with interest accrued, and a transfer from hot to cold the day after. Each
    on-chain movement other than a payout is kept as the stub transaction it was."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    chain = [
        StubTx(
            txid("opening 1"),
            [(EXCHANGE, D("1.0002"))],
            [(COLD_ADDRESS, D("1")), (EXCHANGE, D("0.0001"))],
            datetime(2025, 3, 1, 10, tzinfo=UTC),
        ),
        StubTx(
            txid("opening 2"),
            [(EXCHANGE, D("2.0001"))],
            [(COLD_ADDRESS, D("2"))],
            datetime(2025, 6, 1, 10, tzinfo=UTC),
        ),
    ]
    usdt_prices()
    setup.wallet_create(
        code="USDT-1",
        name="USDT custody",
        commodity="USDT",
        parent_account="1110",
        custodian="Custodian Inc",
    )
    assert run_import("f2pool", f2pool_file(EARNINGS, PAYOUTS)).status == "succeeded"
    other = csv_file([(d, "OTH-B", "0.1025", "0.0025", "0.1") for d in JAN[:5]])
    assert run_import("csv", other, pool_account=None, file_name="other.csv").status == (
        "succeeded"
    )

    loan = loans.loan_create(
        code="L-1",
        lender="Lender Ltd",
        principal_commodity="USDT",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=JAN[1],
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=JAN[1])
    chain.append(
        StubTx(
            txid("pledge"),
            [(COLD_ADDRESS, D("1"))],
            [(LENDER_ADDRESS, D("1"))],
            datetime(2026, 1, 2, 12, tzinfo=UTC),
        )
    )
    loans.loan_draw(
        loan=loan, amount=D("50000"), on=JAN[1], to_wallet="USDT-1", value=D("50000.00")
    )
    loans.loan_pledge(loan=loan, units=D("0.5"), from_wallet="COLD-1", on=DAY)
    chain.append(  # spends the 2 BTC coin: 0.5 to the lender, 1.5 back as change
        StubTx(
            TOP_UP_TXID,
            [(COLD_ADDRESS, D("2"))],
            [(LENDER_ADDRESS, D("0.5")), (COLD_ADDRESS, D("1.5"))],
            datetime(2026, 1, 5, 14, tzinfo=UTC),
        )
    )
    loans.loan_accrue_through(loan=loan, through=DAY)

    sent_at = datetime(2026, 1, 6, 12, tzinfo=UTC)
    treasury.transfer_record(
        txid=TRANSFER_TXID,
        from_wallet="HOT-1",
        to_wallet="COLD-1",
        units=D("0.3"),
        fee_units=D("0.0001"),
        sent_at=sent_at,
    )
    chain.append(  # spends payout 1's coin
        StubTx(
            TRANSFER_TXID,
            [(ADDRESS, D("0.6"))],
            [(COLD_ADDRESS, D("0.3")), (ADDRESS, D("0.2999"))],
            sent_at + timedelta(minutes=10),
        )
    )
    return {**world, "loan": loan, "chain": chain}


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def chain(httpserver, recon_world) -> StubChain:
    stub = StubChain([*recon_world["chain"], *payout_transactions()])
    httpserver.expect_request(re.compile(r"^/api/")).respond_with_handler(stub.handle)
    stub.url = httpserver.url_for("/api")
    return stub


def esplora(chain: StubChain) -> EsploraClient:
    return EsploraClient(chain.url, retries=0, backoff=0, timeout=5)


def balance_csv(*rows: str) -> bytes:
    return ("date,account,commodity,balance\n" + "".join(r + "\n" for r in rows)).encode()


def lender_csv(*rows: str) -> bytes:
    header = "date,loan,commodity,principal_outstanding,accrued_interest,collateral_units\n"
    return (header + "".join(r + "\n" for r in rows)).encode()


def clean_statements() -> None:
    statement_import(
        kind="custodian",
        file_name="custodian-2026-01-05.csv",
        content=balance_csv("2026-01-05,USDT-1,USDT,50000.000000"),
    )
    statement_import(
        kind="lender",
        file_name="lender-2026-01-05.csv",
        content=lender_csv("2026-01-05,L-1,USDT,50000.00,54.794520,1.5"),
    )


def by_kind(runs: list[ReconciliationRun]) -> dict[str, ReconciliationRun]:
    return {run.kind: run for run in runs}


def items_of(run: ReconciliationRun) -> list[ReconciliationItem]:
    return list(run.items.order_by("id"))


def breaks_of(run: ReconciliationRun) -> list[ReconciliationItem]:
    return list(run.items.exclude(status=ItemStatus.MATCHED).order_by("id"))


def counts(run: ReconciliationRun) -> tuple[str, int, int, int]:
    return run.status, run.matched, run.breaks, run.unchecked


SCALES = {"BTC": 8, "USDT": 6, "USD": 2}


def shown(amount: Decimal, commodity: str) -> str:
    """An amount as messages show it: at its commodity's scale."""
    return f"{amount.quantize(D(1).scaleb(-SCALES[commodity])):f}"


def compared(
    what: str,
    ledger: Decimal,
    source_name: str,
    source: Decimal,
    commodity: str,
    *,
    tolerance: Decimal | None = None,
) -> str:
    """A comparison's message: both figures, and the difference if any."""
    message = (
        f"{what}: ledger {shown(ledger, commodity)} {commodity}, "
        f"{source_name} {shown(source, commodity)} {commodity}"
    )
    if source != ledger:
        message += f", difference {shown(source - ledger, commodity)} {commodity}"
    if tolerance is not None:
        message += f" (tolerance {tolerance})"
    return message


def confirmations_at(block_time: datetime) -> int:
    return TIP - height_at(block_time) + 1


PAYOUT_2 = txid(2)  # 0.4 BTC to ADDRESS_2 at 03:14:07 on the day
PAYOUT_3 = txid(3)  # 0.05 BTC to ADDRESS at 09:00 on the day
CONFIRMED_2 = PAYOUTS[1][1] + timedelta(minutes=10)
CONFIRMED_3 = PAYOUTS[2][1] + timedelta(minutes=10)


def payout_what(number: int) -> str:
    _, _, amount, address = PAYOUTS[number - 1]
    return f"payout F2P-A #{number} of {amount} BTC to {address} in transaction {txid(number)}"


def payout_pk(number: int) -> int:
    return Payout.objects.get(external_id=str(number)).pk


def wallet_item(run: ReconciliationRun, code: str) -> ReconciliationItem:
    return run.items.get(subject_type="wallet", subject=code)


# --- a clean day -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_clean_day_matches_every_kind_with_a_message_for_each_item(chain, settings):
    clean_statements()
    settings.ESPLORA_URL = chain.url  # the configured server, no client handed in

    runs = by_kind(reconcile(as_of=DAY))

    assert list(runs) == ["pool", "payouts", "wallets", "loans", "internal"]
    assert {kind: counts(run) for kind, run in runs.items()} == {
        "pool": ("matched", 2, 0, 0),
        "payouts": ("matched", 2, 0, 0),
        "wallets": ("matched", 3, 0, 0),
        "loans": ("matched", 3, 0, 0),
        "internal": ("matched", 12, 0, 0),
    }
    assert all(run.as_of == DAY and run.finished_at >= run.started_at for run in runs.values())
    assert runs["payouts"].sources == ["esplora"]
    assert runs["wallets"].sources == ["esplora", "statement custodian-2026-01-05.csv"]
    assert runs["loans"].sources == ["lender statement lender-2026-01-05.csv"]
    for run in runs.values():
        for item in items_of(run):
            assert item.status == ItemStatus.MATCHED, item.message
            if item.difference is not None:
                assert item.difference == 0 and item.tolerance == 0

    pool = items_of(runs["pool"])
    assert [(i.subject, i.ledger_amount, i.source_amount) for i in pool] == [
        ("F2P-A", D("0.325"), D("0.325")),  # earned 1.375 through the day, paid 1.05
        ("OTH-B", D("0.5"), D("0.5")),
    ]
    assert pool[0].message == (
        compared(
            "pool account F2P-A receivable at the end of 2026-01-05",
            D("0.325"),
            "F2Pool's reports (earned 1.375, paid 1.05)",
            D("0.325"),
            "BTC",
        )
    )
    assert pool[1].details == {"earned": "0.5", "paid": "0"}

    payouts = items_of(runs["payouts"])
    assert [(i.subject_type, i.subject, i.checked) for i in payouts] == [
        ("payout", PAYOUT_2, "on_chain"),
        ("payout", PAYOUT_3, "on_chain"),
    ]
    for item, number, confirmed in ((payouts[0], 2, CONFIRMED_2), (payouts[1], 3, CONFIRMED_3)):
        amount = D(PAYOUTS[number - 1][2])
        count = confirmations_at(confirmed)
        assert (item.ledger_amount, item.source_amount, item.commodity) == (amount, amount, "BTC")
        assert item.message == (
            compared(payout_what(number), amount, "the chain", amount, "BTC")
            + f", {count} confirmations"
        )
        assert item.details == {
            "address": PAYOUTS[number - 1][3],
            "payouts": [payout_pk(number)],
            "confirmations": count,
            "block_height": height_at(confirmed),
            "block_time": confirmed.isoformat(),
        }
    # The top-up's change came back to the cold address on the day: not an inflow to explain.
    assert not ReconciliationItem.objects.filter(subject_type="address").exists()

    wallets = {i.subject: i for i in items_of(runs["wallets"])}
    assert {code: (i.ledger_amount, i.source_amount, i.source) for code, i in wallets.items()} == {
        "COLD-1": (D("1.5"), D("1.5"), "esplora"),
        "HOT-1": (D("1.05"), D("1.05"), "esplora"),
        "USDT-1": (D("50000"), D("50000"), "statement custodian-2026-01-05.csv"),
    }
    # Today's chain holds the day after's payout and transfer; wound back to the day's end.
    assert wallets["HOT-1"].message == (
        compared(
            "wallet HOT-1 at the end of 2026-01-05",
            D("1.05"),
            "the chain (2 addresses)",
            D("1.05"),
            "BTC",
        )
    )
    assert "the chain (1 address) " in wallets["COLD-1"].message
    assert wallets["HOT-1"].details == {"addresses": [ADDRESS_2, ADDRESS]}

    loan_items = {i.checked: i for i in items_of(runs["loans"])}
    assert {check: (i.ledger_amount, i.commodity) for check, i in loan_items.items()} == {
        "principal": (D("50000"), "USDT"),
        "interest": (D("54.794520"), "USDT"),  # 4 days of 13.698630
        "collateral": (D("1.5"), "BTC"),
    }
    assert loan_items["interest"].message == (
        compared(
            "loan L-1 (Lender Ltd) at the end of 2026-01-05, accrued interest",
            D("54.794520"),
            "lender statement lender-2026-01-05.csv",
            D("54.794520"),
            "USDT",
        )
    )

    assert [(i.checked, i.message) for i in items_of(runs["internal"])] == [
        (
            "lots",
            (
                "every lot-tracked account equals its open lots, every fair value adjustment "
                "account the lots' adjustments"
            ),
        ),
        ("lot_rows", "every lot equals the sum of its movements and what opened it"),
        (
            "treasury",
            "every disposal record is dated by its entry and held from its lot's acquisition, "
            "every sale and transfer equals its entry, and every sale, transfer fee and "
            "liquidation its records",
        ),
        (
            "production_posted",
            "every production record's entry posts its net at its value, and every payout's "
            "moves its amount from the pool account's receivable into its wallet",
        ),
        (
            "remeasurements",
            "every remeasurement adjusts its lots by its fair value less its carrying value, "
            "and its entry takes that to the fair value gain and posts nowhere else but the "
            "adjustment accounts",
        ),
        ("entry_documents", "every entry of a document's kind is named by its document"),
        (
            "trial_balance",
            "trial balance total value at the end of 2026-01-05: ledger 0.00 USD, zero 0.00 USD",
        ),
        ("rollup", "the roll-ups equal the postings they summarise"),
        ("below_zero", "no guarded account goes below zero on any day"),
        ("production_months", "every pool account's monthly totals equal its standing records"),
        (
            "seals",
            "the journal matches its seals through sequence - (0 entries; head "
            f"{'0' * 64}; {JournalEntry.objects.count()} newer entries wait for the next "
            "sealing)",
        ),
        (
            "subledger_seals",
            "the subledgers match their seals through sequence - (0 entries; head "
            f"{'0' * 64}; {JournalEntry.objects.count()} newer entries wait for the next "
            "sealing)",
        ),
    ]


# --- payouts on-chain --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_payout_the_chain_does_not_know_is_unmatched_by_its_whole_amount(chain):
    chain.drop(PAYOUT_2)  # the stub answers 404 for it

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    payouts = runs["payouts"]
    assert counts(payouts) == ("breaks", 1, 1, 0)
    [item] = breaks_of(payouts)
    assert (item.subject_type, item.subject, item.checked, item.status) == (
        "payout",
        PAYOUT_2,
        "on_chain",
        ItemStatus.UNMATCHED,
    )
    assert item.message == f"{payout_what(2)}: the transaction is not on the chain"
    assert "F2P-A #2" in item.message and "0.4 BTC" in item.message
    assert (item.ledger_amount, item.source_amount, item.difference) == (D("0.4"), 0, D("-0.4"))
    assert (item.commodity, item.source) == ("BTC", "esplora")
    assert item.details == {"address": ADDRESS_2, "payouts": [payout_pk(2)]}
    # And the hot wallet holds on chain 0.4 less than the ledger says.
    assert wallet_item(runs["wallets"], "HOT-1").difference == D("-0.4")
    assert wallet_item(runs["wallets"], "COLD-1").status == ItemStatus.MATCHED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("paid_to", "on_chain", "difference"),
    [
        (ADDRESS_2, D("0.3999"), D("-0.0001")),
        (ADDRESS_2, D("0.41"), D("0.01")),
        (ADDRESS_2, D("0.39999999"), D("-0.00000001")),
        (STRANGER, D("0.4"), D("-0.4")),  # paid, but not to the payout's address
    ],
)
def test_a_payout_of_another_amount_on_chain_differs_by_exactly_that(
    chain, paid_to, on_chain, difference
):
    tx = chain.txs[PAYOUT_2]
    tx.inputs = [(POOL_HOT, on_chain + D("3.5") + D("0.00001410"))]
    tx.outputs = [(paid_to, on_chain), (POOL_HOT, D("3.5"))]

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    payouts = runs["payouts"]
    assert counts(payouts) == ("breaks", 1, 1, 0)
    [item] = breaks_of(payouts)
    received = on_chain if paid_to == ADDRESS_2 else D(0)
    assert (item.subject, item.status) == (PAYOUT_2, ItemStatus.UNMATCHED)
    assert (item.ledger_amount, item.source_amount) == (D("0.4"), received)
    assert item.difference == difference == received - D("0.4")
    assert item.message == compared(payout_what(2), D("0.4"), "the chain", received, "BTC")
    assert item.details["confirmations"] == confirmations_at(CONFIRMED_2)
    assert payouts.items.get(subject=PAYOUT_3).status == ItemStatus.MATCHED
    assert wallet_item(runs["wallets"], "HOT-1").difference == difference


@pytest.mark.django_db
def test_an_unconfirmed_payout_is_unmatched_until_it_is_mined(chain, settings):
    settings.PAYOUT_CONFIRMATIONS = 6
    chain.txs[PAYOUT_2].block_time = chain.txs[PAYOUT_2].height = None  # in the mempool

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    [item] = breaks_of(runs["payouts"])
    assert (item.subject, item.status) == (PAYOUT_2, ItemStatus.UNMATCHED)
    assert item.message == (
        f"{payout_what(2)}: 0 confirmations of the 6 required (still in the mempool)"
    )
    assert (item.ledger_amount, item.source_amount, item.difference) == (D("0.4"), D("0.4"), 0)
    assert (item.details["confirmations"], item.details["block_height"]) == (0, None)
    # The confirmed balance of its address does not hold it yet.
    assert wallet_item(runs["wallets"], "HOT-1").difference == D("-0.4")


@pytest.mark.django_db
def test_a_payout_with_too_few_confirmations_is_unmatched_naming_the_count(chain, settings):
    count = confirmations_at(CONFIRMED_3)  # payout 3 confirmed later than payout 2
    settings.PAYOUT_CONFIRMATIONS = count + 1

    run = reconcile(as_of=DAY, kinds=["payouts"], chain=esplora(chain))[0]

    assert counts(run) == ("breaks", 1, 1, 0)
    [item] = breaks_of(run)
    assert (item.subject, item.status) == (PAYOUT_3, ItemStatus.UNMATCHED)
    assert item.message == f"{payout_what(3)}: {count} confirmations of the {count + 1} required"
    assert (item.difference, item.details["confirmations"]) == (0, count)
    assert run.items.get(subject=PAYOUT_2).details["confirmations"] == confirmations_at(CONFIRMED_2)

    settings.PAYOUT_CONFIRMATIONS = count
    assert reconcile(as_of=DAY, kinds=["payouts"], chain=esplora(chain))[0].status == "matched"


@pytest.mark.django_db
def test_a_block_found_during_the_run_counts_the_payouts_it_confirms(chain, settings, httpserver):
    """The tip is read after the first transaction; a payout mined just after that is in a
    block above it, and is counted against the tip read again."""
    settings.PAYOUT_CONFIRMATIONS = 1
    late = chain.txs[PAYOUT_3]
    late.block_time = late.height = None

    def mine() -> None:
        chain.tip = TIP + 1
        late.block_time, late.height = NOW + timedelta(minutes=3), TIP + 1

    chain.after_tip_read = mine

    run = reconcile(as_of=DAY, kinds=["payouts"], chain=esplora(chain))[0]

    assert counts(run) == ("matched", 2, 0, 0)
    item = run.items.get(subject=PAYOUT_3)
    assert item.message.endswith(", 1 confirmation")
    assert (item.details["confirmations"], item.details["block_height"]) == (1, TIP + 1)
    # Payout 2 was counted against the tip as it was read then.
    assert run.items.get(subject=PAYOUT_2).details["confirmations"] == confirmations_at(CONFIRMED_2)
    tips = [r for r, _ in httpserver.log if r.path == "/api/blocks/tip/height"]
    assert len(tips) == 2


# --- inflows nobody explained --------------------------------------------------------------


@pytest.mark.django_db
def test_an_inflow_no_payout_or_transfer_explains_is_unexplained_but_change_is_not(chain):
    gift = chain.add(
        StubTx(
            txid("gift"),
            [(STRANGER, D("0.25001"))],
            [(COLD_ADDRESS, D("0.25"))],
            datetime(2026, 1, 5, 16, 30, tzinfo=UTC),
        )
    )
    # The day after: not the day's, and wound back out of the day's balance.
    chain.add(
        StubTx(
            txid("next day"),
            [(STRANGER, D("0.70001"))],
            [(ADDRESS_2, D("0.7"))],
            datetime(2026, 1, 6, 0, 0, 1, tzinfo=UTC),
        )
    )

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    payouts = runs["payouts"]
    assert counts(payouts) == ("breaks", 2, 1, 0)
    [item] = breaks_of(payouts)
    assert (item.subject_type, item.subject, item.checked, item.status) == (
        "address",
        COLD_ADDRESS,
        "inflow",
        ItemStatus.UNEXPLAINED,
    )
    assert item.message == (
        f"0.25000000 BTC received by {COLD_ADDRESS} (wallet COLD-1) in transaction "
        f"{gift.txid} at 2026-01-05 16:30:00 UTC matches no payout or transfer"
    )
    assert (item.ledger_amount, item.source_amount, item.difference) == (0, D("0.25"), D("0.25"))
    assert item.details == {"txid": gift.txid, "wallet": "COLD-1"}
    # The top-up pledge spent the cold wallet's own coin; its 1.5 BTC change came back that
    # day, and is nobody's inflow to explain.
    assert chain.txs[TOP_UP_TXID].block_time.date() == DAY
    assert not ReconciliationItem.objects.filter(message__contains=TOP_UP_TXID).exists()
    wallets = runs["wallets"]
    assert wallet_item(wallets, "COLD-1").difference == D("0.25")
    assert wallet_item(wallets, "HOT-1").status == ItemStatus.MATCHED


@pytest.mark.django_db
def test_inflows_are_read_across_pages_of_an_address(chain, httpserver):
    start = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    dust = [
        chain.add(
            StubTx(
                txid(("dust", n)),
                [(STRANGER, D("0.00002"))],
                [(ADDRESS_2, D("0.00001"))],
                start + timedelta(minutes=n),
            )
        )
        for n in range(30)
    ]

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    found = breaks_of(runs["payouts"])
    assert {i.details["txid"] for i in found} == {tx.txid for tx in dust}
    assert {(i.subject, i.status, i.source_amount) for i in found} == {
        (ADDRESS_2, ItemStatus.UNEXPLAINED, D("0.00001"))
    }
    assert wallet_item(runs["wallets"], "HOT-1").difference == D("0.0003")
    history = chain.history(ADDRESS_2)
    second_page = f"/api/address/{ADDRESS_2}/txs/chain/{history[24].txid}"
    assert second_page in [request.path for request, _ in httpserver.log]


# --- no chain to ask -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["handed in", "ESPLORA_URL", "CHAIN_EXPLORERS"])
def test_with_a_chain_configured_that_does_not_answer_the_on_chain_items_are_unreachable(
    recon_world, settings, how
):
    clean_statements()
    port = closed_port()
    url = f"http://127.0.0.1:{port}/api"
    settings.ESPLORA_URL = url if how == "ESPLORA_URL" else ""
    settings.CHAIN_EXPLORERS = {"BTC": url} if how == "CHAIN_EXPLORERS" else {}
    client = EsploraClient(url, retries=0, backoff=0) if how == "handed in" else None
    reason = f"Esplora API {url}/tx/{PAYOUT_2}: could not be reached (ConnectionError)"
    if client is None:
        reason += " after 3 attempts"  # the configured client asks again before giving up

    runs = by_kind(reconcile(as_of=DAY, chain=client))

    assert {kind: counts(run) for kind, run in runs.items()} == {
        "pool": ("matched", 2, 0, 0),
        "payouts": ("incomplete", 0, 0, 3),
        "wallets": ("incomplete", 1, 0, 2),
        "loans": ("matched", 3, 0, 0),
        "internal": ("matched", 12, 0, 0),
    }
    assert [(i.subject, i.checked, i.status, i.message) for i in items_of(runs["payouts"])] == [
        (PAYOUT_2, "on_chain", "unreachable", f"payout {PAYOUT_2} not checked: {reason}"),
        (PAYOUT_3, "on_chain", "unreachable", f"payout {PAYOUT_3} not checked: {reason}"),
        (
            "all company addresses",
            "inflows",
            "unreachable",
            f"inflows to all company addresses not checked: {reason}",
        ),
    ]
    assert runs["payouts"].sources == ["esplora"]
    assert [(i.subject, i.status, i.message) for i in breaks_of(runs["wallets"])] == [
        ("COLD-1", "unreachable", f"wallet COLD-1 not checked: {reason}"),
        ("HOT-1", "unreachable", f"wallet HOT-1 not checked: {reason}"),
    ]
    assert all(i.ledger_amount is None and i.difference is None for i in breaks_of(runs["wallets"]))
    assert wallet_item(runs["wallets"], "USDT-1").status == ItemStatus.MATCHED


@pytest.mark.django_db
def test_with_no_bitcoin_explorer_configured_btc_is_not_checked_on_chain_never_a_gap(
    recon_world, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """No ESPLORA_URL and no BTC in CHAIN_EXPLORERS: BTC is a coin with no explorer like
    any other, said so plainly; neither a break nor an incomplete run, and nothing mailed."""
    clean_statements()
    settings.ESPLORA_URL = ""
    settings.CHAIN_EXPLORERS = {}
    reason = "no explorer is configured for BTC (ESPLORA_URL)"

    with django_capture_on_commit_callbacks(execute=True):
        runs = by_kind(reconcile(as_of=DAY))

    assert {kind: counts(run) for kind, run in runs.items()} == {
        "pool": ("matched", 2, 0, 0),
        "payouts": ("matched", 0, 0, 0),
        "wallets": ("matched", 1, 0, 0),
        "loans": ("matched", 3, 0, 0),
        "internal": ("matched", 12, 0, 0),
    }
    assert [(i.subject, i.checked, i.status, i.message) for i in items_of(runs["payouts"])] == [
        (PAYOUT_2, "on_chain", "not_on_chain", f"{payout_what(2)}: not checked on chain, {reason}"),
        (PAYOUT_3, "on_chain", "not_on_chain", f"{payout_what(3)}: not checked on chain, {reason}"),
        (
            "all company BTC addresses",
            "inflows",
            "not_on_chain",
            f"inflows to the 3 company BTC addresses not checked on chain: {reason}",
        ),
    ]
    assert runs["payouts"].sources == []
    assert [(i.subject, i.status, i.message) for i in breaks_of(runs["wallets"])] == [
        (
            code,
            "not_on_chain",
            f"wallet {code} at the end of {DAY} not checked on chain: no custodian statement "
            f"for the day and {reason}",
        )
        for code in ("COLD-1", "HOT-1")
    ]
    assert wallet_item(runs["wallets"], "USDT-1").status == ItemStatus.MATCHED
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_server_failing_part_way_leaves_the_rest_unreachable(chain):
    chain.failing = re.compile(r"/address/")

    runs = by_kind(reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=esplora(chain)))

    payouts = runs["payouts"]
    assert counts(payouts) == ("incomplete", 2, 0, 1)
    [item] = breaks_of(payouts)
    url = f"{chain.url}/address/{COLD_ADDRESS}/txs/chain"  # the first address, in order
    reason = f"Esplora API {url} (HTTP 500): Internal Server Error"
    assert (item.subject_type, item.subject, item.status) == (
        "address",
        COLD_ADDRESS,
        ItemStatus.UNREACHABLE,
    )
    assert item.message == f"address {COLD_ADDRESS} not checked: {reason}"
    assert [(i.subject, i.status, i.message) for i in breaks_of(runs["wallets"])] == [
        ("COLD-1", "unreachable", f"wallet COLD-1 not checked: {reason}"),
        ("HOT-1", "unreachable", f"wallet HOT-1 not checked: {reason}"),
        (
            "USDT-1",
            "no_source",
            "wallet USDT-1 at the end of 2026-01-05 not checked: no custodian statement "
            "for the day and no address to ask the chain about",
        ),
    ]
    assert runs["wallets"].status == "incomplete"


# --- custodian statements ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_custodian_statement_that_disagrees_is_a_break_of_exactly_the_difference(chain):
    clean_statements()
    # A later statement for the day is the one compared; it also takes the hot wallet's
    # balance from the custodian instead of from the chain.
    statement_import(
        kind="custodian",
        file_name="custodian-2026-01-05-corrected.csv",
        content=balance_csv("2026-01-05,USDT-1,USDT,49999.5", "2026-01-05,HOT-1,BTC,1.05"),
    )

    run = reconcile(as_of=DAY, kinds=["wallets"], chain=esplora(chain))[0]

    assert counts(run) == ("breaks", 2, 1, 0)
    [item] = breaks_of(run)
    name = "statement custodian-2026-01-05-corrected.csv"
    assert (item.subject, item.status, item.source) == ("USDT-1", ItemStatus.UNMATCHED, name)
    assert (item.ledger_amount, item.source_amount, item.difference) == (
        D("50000"),
        D("49999.5"),
        D("-0.5"),
    )
    assert item.message == (
        compared("wallet USDT-1 at the end of 2026-01-05", D("50000"), name, D("49999.5"), "USDT")
    )
    hot = wallet_item(run, "HOT-1")
    assert (hot.status, hot.source, hot.difference) == (ItemStatus.MATCHED, name, 0)
    statement = Statement.objects.get(file_name="custodian-2026-01-05-corrected.csv")
    assert item.details == {"statement": statement.pk}


@pytest.mark.django_db
def test_a_wallet_with_no_statement_for_the_day_and_no_address_has_no_source(chain):
    statement_import(  # the day before: not the day's
        kind="custodian",
        file_name="custodian-2026-01-04.csv",
        content=balance_csv("2026-01-04,USDT-1,USDT,50000"),
    )

    run = reconcile(as_of=DAY, kinds=["wallets"], chain=esplora(chain))[0]

    assert counts(run) == ("incomplete", 2, 0, 1)
    [item] = breaks_of(run)
    assert (item.subject, item.status, item.commodity) == ("USDT-1", "no_source", "USDT")
    assert item.message == (
        "wallet USDT-1 at the end of 2026-01-05 not checked: no custodian statement for the "
        "day and no address to ask the chain about"
    )
    assert (item.ledger_amount, item.source_amount, item.difference) == (D("50000"), None, None)


# --- lender statements ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "check", "label", "ledger", "stated", "commodity"),
    [
        (
            "50000.01,54.794520,1.5",
            "principal",
            "principal outstanding",
            D("50000"),
            D("50000.01"),
            "USDT",
        ),
        (
            "50000,54.794519,1.5",
            "interest",
            "accrued interest",
            D("54.794520"),
            D("54.794519"),
            "USDT",
        ),
        ("50000,54.794520,1.49", "collateral", "collateral", D("1.5"), D("1.49"), "BTC"),
    ],
)
def test_a_lender_statement_that_disagrees_is_found_figure_by_figure(
    recon_world, row, check, label, ledger, stated, commodity
):
    statement_import(
        kind="lender", file_name="lender.csv", content=lender_csv(f"2026-01-05,L-1,USDT,{row}")
    )

    run = reconcile(as_of=DAY, kinds=["loans"])[0]

    assert counts(run) == ("breaks", 2, 1, 0)
    [item] = breaks_of(run)
    assert (item.subject_type, item.subject, item.checked, item.status) == (
        "loan",
        "L-1",
        check,
        ItemStatus.UNMATCHED,
    )
    assert (item.ledger_amount, item.source_amount, item.commodity) == (ledger, stated, commodity)
    assert item.difference == stated - ledger
    assert item.message == (
        compared(
            f"loan L-1 (Lender Ltd) at the end of 2026-01-05, {label}",
            ledger,
            "lender statement lender.csv",
            stated,
            commodity,
        )
    )


@pytest.mark.django_db
def test_a_tolerance_matches_up_to_its_amount_in_its_own_commodity_only(recon_world, settings):
    settings.RECONCILIATION_TOLERANCES = {"USDT": D("0.01")}
    statement_import(
        kind="lender",
        file_name="lender-a.csv",
        content=lender_csv("2026-01-05,L-1,USDT,49999.99,54.804520,1.5"),
    )
    run = reconcile(as_of=DAY, kinds=["loans"])[0]
    assert counts(run) == ("matched", 3, 0, 0)
    figures = {i.checked: (i.difference, i.tolerance) for i in items_of(run)}
    assert figures == {
        "principal": (D("-0.01"), D("0.01")),
        "interest": (D("0.01"), D("0.01")),
        "collateral": (0, 0),
    }

    statement_import(
        kind="lender",
        file_name="lender-b.csv",
        content=lender_csv("2026-01-05,L-1,USDT,50000.02,54.794520,1.49999999"),
    )
    run = reconcile(as_of=DAY, kinds=["loans"])[0]
    assert counts(run) == ("breaks", 1, 2, 0)
    principal, collateral = breaks_of(run)
    assert (principal.checked, principal.difference, principal.tolerance) == (
        "principal",
        D("0.02"),
        D("0.01"),
    )
    assert principal.message == (
        compared(
            "loan L-1 (Lender Ltd) at the end of 2026-01-05, principal outstanding",
            D("50000"),
            "lender statement lender-b.csv",
            D("50000.02"),
            "USDT",
            tolerance=D("0.01"),
        )
    )
    assert (collateral.checked, collateral.difference, collateral.tolerance) == (
        "collateral",
        D("-0.00000001"),
        0,
    )


@pytest.mark.django_db
def test_a_loan_with_no_lender_statement_for_the_day_has_no_source(recon_world):
    run = reconcile(as_of=DAY, kinds=["loans"])[0]
    assert counts(run) == ("incomplete", 0, 0, 1)
    [item] = items_of(run)
    assert (item.subject, item.status, item.message) == (
        "L-1",
        "no_source",
        "loan L-1 (Lender Ltd) at the end of 2026-01-05 not checked: no lender statement for "
        "the day",
    )
    # Before the loan started there is nothing to check.
    assert counts(reconcile(as_of=JAN[0], kinds=["loans"])[0]) == ("matched", 0, 0, 0)


# --- pool statements -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("stated", "status"), [("0.3", "unmatched"), ("0.325", "matched")])
def test_a_pool_statement_is_compared_with_the_receivable(recon_world, stated, status):
    statement = statement_import(
        kind="custodian",
        file_name="f2pool-balance-2026-01-05.csv",
        content=balance_csv(f"2026-01-05,F2P-A,BTC,{stated}"),
    )

    run = reconcile(as_of=DAY, kinds=["pool"])[0]

    f2pool = run.items.get(subject="F2P-A")
    name = "pool statement f2pool-balance-2026-01-05.csv"
    assert (f2pool.status, f2pool.source, f2pool.details) == (
        status,
        name,
        {"statement": statement.pk},
    )
    assert (f2pool.ledger_amount, f2pool.source_amount) == (D("0.325"), D(stated))
    assert f2pool.difference == D(stated) - D("0.325")
    assert f2pool.message == (
        compared(
            "pool account F2P-A receivable at the end of 2026-01-05",
            D("0.325"),
            name,
            D(stated),
            "BTC",
        )
    )
    # The other pool account, with no statement, is held to the pool's own reports.
    other = run.items.get(subject="OTH-B")
    assert (other.status, other.source_amount) == ("matched", D("0.5"))
    assert run.status == ("breaks" if status == "unmatched" else "matched")


# --- the ledger against itself -------------------------------------------------------------


def tamper(sql: str, params: list) -> None:
    """Change a row the database guards, as a superuser with its triggers off, after the
    checks the books' own writes left for the commit (which would find the change)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
            assert cursor.rowcount == 1
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_a_tampered_roll_up_is_found_with_its_account_and_difference(recon_world):
    assert counts(reconcile(as_of=DAY, kinds=["internal"])[0]) == ("matched", 12, 0, 0)
    hot = recon_world["hot"].account
    tamper(
        "UPDATE ledger_dailybalance SET quantity = quantity + 0.001 "
        "WHERE account_id = %s AND day = %s",
        [hot.pk, DAY],
    )

    run = reconcile(as_of=DAY, kinds=["internal"])[0]

    assert counts(run) == ("breaks", 10, 2, 0)
    lots, rollup = breaks_of(run)
    assert (lots.subject, lots.checked, lots.commodity) == (hot.code, "lots", "BTC")
    assert (lots.ledger_amount, lots.source_amount, lots.difference) == (
        D("1.051"),
        D("1.05"),
        D("-0.001"),
    )
    assert (rollup.subject, rollup.checked, rollup.ledger_amount) == (
        hot.code,
        "rollup",
        D("-0.001"),
    )
    assert rollup.details == {"roll_up": "daily", "day": "2026-01-05", "value": "0.00"}
    assert rollup.message == (
        f"account {hot.code}: the daily roll-up for 2026-01-05 differs from its postings by "
        f"{rollup.ledger_amount} in quantity and 0.00 USD"
    )


@pytest.mark.django_db
def test_a_tampered_lot_is_found_with_its_account_and_difference(recon_world):
    cold = recon_world["cold"].account
    # The opening movement of the 2 BTC lot, and the lot with it (so the lot still equals
    # its movements): the cold wallet's lots now hold 0.01 less than its ledger account.
    tamper(
        "WITH moved AS ("
        " UPDATE holdings_lotmovement SET quantity = quantity - 0.01 WHERE id = ("
        "  SELECT m.id FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id"
        "  WHERE l.account_id = %s AND m.quantity = 2)"
        " RETURNING lot_id)"
        " UPDATE holdings_lot SET quantity = quantity - 0.01"
        " WHERE id IN (SELECT lot_id FROM moved)",
        [cold.pk],
    )

    run = reconcile(as_of=DAY, kinds=["internal"])[0]

    assert counts(run) == ("breaks", 10, 2, 0)
    item, lot = breaks_of(run)
    # The lot no longer opened with what its opening movement says.
    assert (lot.subject_type, lot.checked, lot.details["field"]) == (
        "lot",
        "lot_rows",
        "original_quantity",
    )
    assert (item.subject_type, item.subject, item.checked) == ("account", cold.code, "lots")
    assert (item.ledger_amount, item.source_amount, item.difference) == (
        D("1.5"),
        D("1.49"),
        D("-0.01"),
    )
    assert item.message.startswith(f"account {cold.code} at the end of 2026-01-05: ledger 1.5")
    assert "open lots 1.49" in item.message


@pytest.mark.django_db
def test_a_sealed_entry_altered_behind_the_triggers_breaks_the_journal(recon_world):
    journal_seal()
    clean = reconcile(as_of=DAY, kinds=["internal"])[0]
    [seals] = [item for item in items_of(clean) if item.checked == "seals"]
    assert seals.status == ItemStatus.MATCHED
    assert f"({JournalEntry.objects.count()} entries; head " in seals.message
    entry = JournalEntry.objects.order_by("sequence")[1]
    # Only the seals can tell: the memo is in no balance or roll-up.
    tamper("UPDATE ledger_journalentry SET memo = 'changed' WHERE id = %s", [entry.pk])

    run = reconcile(as_of=DAY, kinds=["internal"])[0]

    assert counts(run) == ("breaks", 11, 1, 0)
    [item] = breaks_of(run)
    assert (item.subject_type, item.subject, item.checked) == (
        "journal_entry",
        str(entry.pk),
        "seals",
    )
    assert item.details["sequence"] == entry.sequence
    assert item.message.startswith(f"the journal breaks at sequence {entry.sequence}: ")


@pytest.mark.django_db
def test_a_production_month_changed_behind_the_triggers_is_found(recon_world):
    """The production report reads the monthly totals: a total that is not its records
    added up is named with its pool account and month."""
    month = ProductionMonthTotal.objects.order_by("month").first()
    tamper("UPDATE holdings_productionmonthtotal SET net = net + 0.001 WHERE id = %s", [month.pk])

    run = reconcile(as_of=DAY, kinds=["internal"])[0]

    assert counts(run) == ("breaks", 11, 1, 0)
    [item] = breaks_of(run)
    code = month.pool_account.code
    assert (item.subject_type, item.subject, item.checked) == (
        "pool_account",
        code,
        "production_months",
    )
    assert (item.source_amount, item.ledger_amount) == (month.net, month.net + D("0.001"))
    assert item.details["month"] == str(month.month)
    assert item.message.startswith(f"pool account {code}, {month.month:%Y-%m}: its records add up")


# --- statements ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_statement_file_twice_is_the_same_statement(recon_world, approver_user):
    content = balance_csv("2026-01-05,USDT-1,USDT,50000", "2026-01-05,F2P-A,BTC,0.325")
    first = statement_import(
        kind="custodian", file_name="a.csv", content=content, created_by=approver_user
    )
    again = statement_import(kind="custodian", file_name="renamed.csv", content=content)

    assert again.pk == first.pk
    assert (Statement.objects.count(), BalanceStatementLine.objects.count()) == (1, 2)
    assert (first.lines_count, first.file_name, first.created_by) == (2, "a.csv", approver_user)
    assert bytes(Statement.objects.get().content) == content
    assert first.file_sha256 == hashlib.sha256(content).hexdigest()
    lines = {
        (line.account, line.on, line.commodity_id, line.balance) for line in first.balances.all()
    }
    assert lines == {("USDT-1", DAY, "USDT", D("50000")), ("F2P-A", DAY, "BTC", D("0.325"))}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "content", "errors"),
    [
        (
            "custodian",
            balance_csv("2026-01-05,HOT-1,BTC,1.05", "2026-01-05,NOPE,BTC,1"),
            [{"row": 3, "field": "account", "message": "no wallet or pool account 'NOPE'"}],
        ),
        (
            "custodian",
            balance_csv("2026-01-05,HOT-1,USDT,1.05", "2026-01-05,F2P-A,USDT,1"),
            [
                {"row": 2, "field": "commodity", "message": "HOT-1 holds BTC, not USDT"},
                {"row": 3, "field": "commodity", "message": "F2P-A holds BTC, not USDT"},
            ],
        ),
        (
            "lender",
            lender_csv("2026-01-05,L-9,USDT,1,0,0"),
            [{"row": 2, "field": "loan", "message": "no loan 'L-9'"}],
        ),
        (
            "lender",
            lender_csv("2026-01-05,L-1,USD,50000,0,1.5"),
            [{"row": 2, "field": "commodity", "message": "loan L-1 is in USDT, not USD"}],
        ),
    ],
)
def test_a_statement_naming_what_the_books_do_not_hold_is_refused_whole(
    recon_world, kind, content, errors
):
    with pytest.raises(ImportFailed) as caught:
        statement_import(kind=kind, file_name="bad.csv", content=content)

    assert caught.value.errors == [{"file": "bad.csv", **error} for error in errors]
    first = errors[0]
    assert str(caught.value).startswith(
        f"bad.csv, row {first['row']}, field {first['field']}: {first['message']}"
    )
    assert Statement.objects.count() == 0
    assert BalanceStatementLine.objects.count() == LoanStatementLine.objects.count() == 0


@pytest.mark.django_db
def test_a_statement_the_parser_refuses_fails_with_its_errors(recon_world):
    content = balance_csv("2026-01-05,HOT-1,BTC,1.000000001", "2026-02-30,HOT-1,BTC,1")
    with pytest.raises(ImportFailed) as caught:
        statement_import(kind="custodian", file_name="bad.csv", content=content)
    assert caught.value.errors == [
        {
            "file": "bad.csv",
            "row": 2,
            "field": "balance",
            "message": "1.000000001 has more decimal places than the commodity allows (8)",
        },
        {
            "file": "bad.csv",
            "row": 3,
            "field": "date",
            "message": "'2026-02-30' is not a real date",
        },
    ]
    assert str(caught.value) == (
        "bad.csv, row 2, field balance: 1.000000001 has more decimal places than the "
        "commodity allows (8) (and 1 more)"
    )

    with pytest.raises(ImportFailed) as caught:
        statement_import(
            kind="custodian",
            file_name="lender.csv",
            content=lender_csv("2026-01-05,L-1,USDT,1,0,0"),
        )
    missing = "the column is missing; expected the header date,account,commodity,balance"
    assert caught.value.errors[:3] == [
        {"file": "lender.csv", "row": 1, "field": "account", "message": missing},
        {"file": "lender.csv", "row": 1, "field": "balance", "message": missing},
        {
            "file": "lender.csv",
            "row": 1,
            "field": "loan",
            "message": "is not a column of this statement; expected the header "
            "date,account,commodity,balance",
        },
    ]
    assert Statement.objects.count() == 0

    with pytest.raises(InvalidSetup, match="unknown statement kind 'bank'"):
        statement_import(kind="bank", file_name="x.csv", content=content)


def logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "holdings.services.reconciliation"]


# --- alerts --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_breaks_are_mailed_to_the_approvers_and_logged_as_errors(
    chain, approver_user, staff_user, mailoutbox, caplog, django_capture_on_commit_callbacks
):
    chain.drop(PAYOUT_2)
    caplog.set_level(logging.INFO, logger="holdings.services.reconciliation")

    with django_capture_on_commit_callbacks(execute=True):
        [run] = reconcile(as_of=DAY, kinds=["payouts"], chain=esplora(chain))

    [item] = breaks_of(run)
    [mail] = mailoutbox
    assert mail.to == ["approver@example.com"]  # not the staff user
    assert mail.subject == "Reconciliation 2026-01-05: 1 break"
    assert mail.body == (
        f"Reconciliation of 2026-01-05\nPayouts on-chain: Breaks found\n  - {item.message}"
    )
    [record] = logged(caplog)
    assert (record.levelno, record.getMessage()) == (logging.ERROR, mail.body)


@pytest.mark.django_db
def test_an_incomplete_run_is_mailed_as_a_warning_and_a_clean_run_mails_nothing(
    chain, approver_user, mailoutbox, caplog, django_capture_on_commit_callbacks, settings
):
    caplog.set_level(logging.INFO, logger="holdings.services.reconciliation")
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(as_of=DAY, kinds=["payouts", "internal"], chain=esplora(chain))
    assert mailoutbox == []
    assert [(r.levelno, r.getMessage()) for r in logged(caplog)] == [
        (logging.INFO, "reconciliation of 2026-01-05: all matched")
    ]

    caplog.clear()
    url = f"http://127.0.0.1:{closed_port()}/api"  # configured, and not answering
    with django_capture_on_commit_callbacks(execute=True):
        reconcile(as_of=DAY, kinds=["payouts"], chain=EsploraClient(url, retries=0, backoff=0))
    [mail] = mailoutbox
    assert mail.subject == "Reconciliation 2026-01-05: incomplete"
    assert mail.body.startswith(
        "Reconciliation of 2026-01-05\nPayouts on-chain: Incomplete: a source could not be "
        f"checked\n  - payout {PAYOUT_2} not checked: Esplora API {url}/tx/{PAYOUT_2}: could "
        "not be reached"
    )
    assert [r.levelno for r in logged(caplog)] == [logging.WARNING]


# --- kept as found -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "sql"),
    [
        ("holdings_reconciliationrun", "UPDATE holdings_reconciliationrun SET matched = 9"),
        ("holdings_reconciliationrun", "DELETE FROM holdings_reconciliationrun"),
        (
            "holdings_reconciliationitem",
            "UPDATE holdings_reconciliationitem SET status = 'matched'",
        ),
        ("holdings_reconciliationitem", "DELETE FROM holdings_reconciliationitem"),
        ("holdings_statement", "UPDATE holdings_statement SET file_name = 'other.csv'"),
        ("holdings_balancestatementline", "DELETE FROM holdings_balancestatementline"),
        ("holdings_loanstatementline", "UPDATE holdings_loanstatementline SET principal = 0"),
    ],
)
def test_runs_items_and_statements_cannot_be_changed_or_removed(recon_world, table, sql):
    clean_statements()
    [run] = reconcile(as_of=DAY, kinds=["loans"])

    with (
        pytest.raises(IntegrityError, match=f"{table}_immutable") as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert caught.value.__cause__.sqlstate == "23514"
    run.refresh_from_db()
    assert (run.matched, run.items.count()) == (3, 3)
    assert Statement.objects.filter(file_name="other.csv").count() == 0


@pytest.mark.django_db
def test_a_run_whose_status_contradicts_its_counts_is_refused(recon_world):
    at = datetime(2026, 1, 6, tzinfo=UTC)
    with pytest.raises(IntegrityError, match="holdings_recon_status"), transaction.atomic():
        ReconciliationRun.objects.create(
            kind="pool", as_of=DAY, status="matched", breaks=1, started_at=at, finished_at=at
        )
    with pytest.raises(IntegrityError, match="holdings_recon_status"), transaction.atomic():
        ReconciliationRun.objects.create(
            kind="pool", as_of=DAY, status="matched", unchecked=1, started_at=at, finished_at=at
        )
