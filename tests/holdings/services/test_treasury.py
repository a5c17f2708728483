"""Sales and transfers against a hand-computed example, to the cent."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from holdings.errors import InsufficientLots
from holdings.models import Disposal, Lot, Sale, Transfer, Wallet
from holdings.selectors import lots, production
from holdings.services import fair_value, setup, treasury
from ledger import selectors as ledger_selectors
from ledger.models import JournalEntry

D = Decimal
SOLD_AT = datetime(2026, 1, 10, 15, 30, tzinfo=UTC)
OPENING = [
    {
        "wallet": "COLD-1",
        "acquired_at": "2025-03-01T10:00:00Z",
        "quantity": "1",
        "cost_usd": "80000.00",
    },
    {
        "wallet": "COLD-1",
        "acquired_at": "2025-06-01T10:00:00Z",
        "quantity": "2",
        "cost_usd": "210000.00",
    },
]


def holdings_at_fair_value() -> None:
    """3 BTC at cost 290,000.00, remeasured at 99,000.00 on 2025-12-31: +7,000.00, spread
    2,333.33 (lot A, 1 BTC) and 4,666.67 (lot B, 2 BTC)."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    setup.wallet_create(code="USDT-1", name="USDT wallet", commodity="USDT", parent_account="1110")
    result = fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))
    assert result.adjustment == D("7000.00")


def sell(reference: str = "T-1", **changes) -> Sale:
    arguments = {
        "reference": reference,
        "wallet": "COLD-1",
        "units": D("1.5"),
        "sold_at": SOLD_AT,
        "proceeds_commodity": "USDT",
        "gross_proceeds": D("150000"),
        "fee": D("150"),
        "proceeds_value": D("150000.00"),
        "proceeds_wallet": "USDT-1",
        **changes,
    }
    return treasury.sale_record(**arguments)


@pytest.mark.django_db
def test_a_fifo_sale_relieves_the_oldest_lots_and_books_both_gains(world):
    holdings_at_fair_value()
    preview = treasury.sale_preview(
        wallet="COLD-1",
        units=D("1.5"),
        sold_at=SOLD_AT,
        proceeds_commodity="USDT",
        gross_proceeds=D("150000"),
        fee=D("150"),
        proceeds_value=D("150000.00"),
        proceeds_wallet="USDT-1",
    )
    assert not Sale.objects.exists() and not Disposal.objects.exists()  # nothing written

    sale = sell()

    assert preview.cost == sale.cost == D("132500.00")
    assert (sale.carrying_value, sale.realized_gain, sale.gain_on_carrying_value) == (
        D("136000.00"),
        D("17500.00"),
        D("14000.00"),
    )
    assert sale.method == "fifo" and sale.fee_value == D("150.00")
    lines = [
        (d.units, d.cost, d.carrying_value, d.proceeds, d.realized_gain, d.days_held)
        for d in sale.disposals.order_by("lot__acquired_at")
    ]
    assert lines == [
        (D("1"), D("80000.00"), D("82333.33"), D("100000.00"), D("20000.00"), 315),
        (D("0.5"), D("52500.00"), D("53666.67"), D("50000.00"), D("-2500.00"), 223),
    ]
    on = SOLD_AT.date()
    balance = ledger_selectors.account_balance
    assert (
        balance(account="1210-COLD-1", as_of=on).quantity,
        balance(account="1210-COLD-1", as_of=on).value,
    ) == (D("1.5"), D("157500.00"))
    assert balance(account="1290", as_of=on).value == D("3500.00")
    assert balance(account="1110-USDT-1", as_of=on).quantity == D("149850")
    assert balance(account="5300", as_of=on).value == D("150.00")
    assert balance(account="4100", as_of=on).value == D("-21000.00")  # 7,000 + 14,000
    assert ledger_selectors.trial_balance(as_of=on).total_value == 0
    usdt = Lot.objects.get(account__code="1110-USDT-1")
    assert (usdt.quantity, usdt.cost, usdt.origin) == (D("149850"), D("149850.00"), "proceeds")
    assert lots.lot_differences(as_of=on) == []


@pytest.mark.django_db
def test_specific_identification_relieves_the_lots_named(world):
    holdings_at_fair_value()
    lot_b = Lot.objects.get(account__code="1210-COLD-1", original_quantity=2)
    sale = sell(
        units=D("0.5"),
        lots=[(lot_b.pk, D("0.5"))],
        gross_proceeds=D("50000"),
        fee=D("0"),
        proceeds_value=D("50000.00"),
    )
    assert sale.method == "specific"
    [disposal] = sale.disposals.all()
    assert (disposal.lot_id, disposal.cost, disposal.carrying_value) == (
        lot_b.pk,
        D("52500.00"),
        D("53666.67"),
    )
    assert sale.realized_gain == D("-2500.00")
    with pytest.raises(
        InsufficientLots,
        match=r"can give 1\.5 on the sale.s day and every day after; 2 cannot be taken",
    ):
        sell("T-2", units=D("2"), lots=[(lot_b.pk, D("2"))])


@pytest.mark.django_db
def test_selling_more_than_is_held_is_refused_and_writes_nothing(world):
    holdings_at_fair_value()
    before = JournalEntry.objects.count()
    short = r"wallet COLD-1 held 3\.00000000 BTC acquired by 2026-01-10T15:30:00Z"
    with pytest.raises(InsufficientLots, match=short):
        sell(units=D("3.5"))
    with pytest.raises(Exception, match=r"more than 8 decimals"):
        sell(units=D("0.123456789"))
    assert JournalEntry.objects.count() == before and not Sale.objects.exists()
    sell()
    with pytest.raises(Exception, match="sale T-1 is already recorded"):
        sell()


@pytest.mark.django_db
def test_a_transfer_moves_lots_and_books_the_fee_at_carrying_value(world):
    holdings_at_fair_value()
    sent = datetime(2026, 1, 5, 8, tzinfo=UTC)
    transfer = treasury.transfer_record(
        txid="ab" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("0.5"),
        fee_units=D("0.0001"),
        sent_at=sent,
    )
    on = sent.date()
    balance = ledger_selectors.account_balance
    assert balance(account="1220-HOT-1", as_of=on).quantity == D("0.5")
    assert balance(account="1220-HOT-1", as_of=on).value == D("40000.00")
    assert balance(account="1210-COLD-1", as_of=on).quantity == D("2.4999")
    # The fee: 0.0001 of what is left of lot A (0.5, cost 40,000.00, adjustment 1,166.67):
    # cost 8.00 and adjustment 0.23.
    assert balance(account="5100", as_of=on).value == D("8.23")
    [fee] = transfer.fee_disposals.all()
    assert (fee.units, fee.cost, fee.carrying_value) == (D("0.0001"), D("8.00"), D("8.23"))
    moved = Lot.objects.get(account__code="1220-HOT-1")
    assert moved.acquired_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert moved.fair_value_adjustment == D("1166.66")  # half of 2,333.33, half-even
    assert lots.lot_differences(as_of=on) == []
    assert Transfer.objects.get().entry.kind == "wallet_transfer"


@pytest.mark.django_db(transaction=True)
def test_two_sales_of_the_same_lots_at_once_never_relieve_a_unit_twice(tx_world):
    holdings_at_fair_value()
    outcomes: list[object] = []

    def sale(n: int) -> None:
        try:
            outcomes.append(
                sell(
                    f"C-{n}",
                    units=D("2"),
                    gross_proceeds=D("200000"),
                    fee=D("0"),
                    proceeds_value=D("200000.00"),
                )
            )
        except InsufficientLots as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sale, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(type(o).__name__ for o in outcomes) == ["InsufficientLots", "Sale"]
    assert sum(d.units for d in Disposal.objects.all()) == D("2")
    assert ledger_selectors.account_balance(
        account="1210-COLD-1", as_of=SOLD_AT.date()
    ).quantity == D("1")
    assert lots.lot_differences(as_of=SOLD_AT.date()) == []


@pytest.mark.django_db
def test_the_production_report_shows_what_was_sold(world):
    holdings_at_fair_value()
    sell()
    sell(
        "T-2",
        units=D("0.5"),
        sold_at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC),
        gross_proceeds=D("60000"),
        fee=D("0"),
        proceeds_value=D("60000.00"),
    )
    [january] = production.production_report(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert (january.sold, january.net_proceeds_usd, january.average_price_usd) == (
        D("2"),
        D("209850.00"),
        D("105000.00"),
    )
    assert january.held_at_month_end == D("1")


@pytest.mark.django_db
def test_usdt_spent_is_relieved_at_cost(world):
    """USDT carried at cost through the lots: sold for dollars, each lot leaves at its cost and
    the desk's fee is the only charge."""
    holdings_at_fair_value()
    sell("T-1")  # 149,850 USDT into USDT-1 at a cost of 149,850.00
    sale = treasury.sale_record(
        reference="T-USD",
        wallet="USDT-1",
        units=D("100000"),
        sold_at=SOLD_AT + timedelta(hours=1),
        proceeds_commodity="USD",
        gross_proceeds=D("100000.00"),
        fee=D("10.00"),
    )
    assert (sale.cost, sale.carrying_value, sale.realized_gain) == (
        D("100000.00"),
        D("100000.00"),
        D("0.00"),
    )
    balance = ledger_selectors.account_balance
    on = SOLD_AT.date()
    assert balance(account="1110-USDT-1", as_of=on).quantity == D("49850")
    assert balance(account="1000", as_of=on).value == D("99990.00")
    assert balance(account="5300", as_of=on).value == D("150.00") + D("10.00")
    assert lots.lot_differences(as_of=on) == []


# A network fee worth less than half a cent, for each commodity a wallet can hold: the lot
# it comes from (units, cost) and the fee.
DUST_FEES = {
    "BTC": ("1", "80000.00", "0.00000005"),
    "KAS": ("250000.5", "24950.05", "0.0001"),
    "ETC": ("12.5", "212.50", "0.000021"),
    "USDT": ("1000", "1000.00", "0.000001"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("commodity", sorted(DUST_FEES))
def test_a_transfer_with_a_fee_worth_less_than_a_cent_still_spends_the_fee(world, commodity):
    from holdings import chart

    units, cost, fee_units = (D(figure) for figure in DUST_FEES[commodity])
    for code in ("SRC", "DST"):
        setup.wallet_create(code=f"{code}-{commodity}", name=code, commodity=commodity)
    setup.opening_lots_load(
        as_of=date(2025, 12, 30),
        rows=[
            {
                "wallet": f"SRC-{commodity}",
                "acquired_at": "2025-06-01T10:00:00Z",
                "quantity": str(units),
                "cost_usd": str(cost),
            }
        ],
    )
    sent = datetime(2026, 1, 5, 8, tzinfo=UTC)
    transfer = treasury.transfer_record(
        txid="cd" * 32,
        from_wallet=f"SRC-{commodity}",
        to_wallet=f"DST-{commodity}",
        units=D("0.5"),
        fee_units=fee_units,
        sent_at=sent,
    )
    on = sent.date()
    source = Wallet.objects.get(code=f"SRC-{commodity}").account
    target = Wallet.objects.get(code=f"DST-{commodity}").account
    balance = ledger_selectors.account_balance
    # The fee left the wallet with its units, at no value: 5100 took nothing.
    assert balance(account=source, as_of=on).quantity == units - D("0.5") - fee_units
    assert balance(account=target, as_of=on).quantity == D("0.5")
    assert balance(account=chart.NETWORK_FEE_UNITS[commodity], as_of=on).quantity == fee_units
    assert balance(account=chart.NETWORK_FEE_UNITS[commodity], as_of=on).value == 0
    assert balance(account="5100", as_of=on).value == 0
    # Its lot was relieved, and the relief recorded as a disposal worth nothing.
    [fee] = transfer.fee_disposals.all()
    assert (fee.units, fee.cost, fee.carrying_value) == (fee_units, 0, 0)
    left = Lot.objects.get(account=source)
    assert left.quantity == units - D("0.5") - fee_units
    assert lots.lot_differences(as_of=on) == []


@pytest.mark.django_db
def test_the_production_report_of_kas_and_etc_in_their_own_units(world):
    """Hashrates in the coin's unit, deployed hashrate of the sites mining the coin only, and
    the average price at the precision the price has."""
    from holdings.selectors.production import deployed_hashrate_hs

    kas_site = setup.site_create(
        code="US-TX-09",
        name="Kaspa site",
        region="North America",
        deployed_hashrate_hs="3000000000000000",
        commodity="KAS",
    )
    etc_site = setup.site_create(
        code="US-TX-10",
        name="ETC site",
        region="North America",
        deployed_hashrate_hs="4500000000000",
        commodity="ETC",
    )
    setup.pool_account_create(
        code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS", site=kas_site
    )
    setup.pool_account_create(
        code="F2P-ETC", pool="f2pool", name="cango-etc", commodity="ETC", site=etc_site
    )
    assert deployed_hashrate_hs("BTC") == D("1500000000000000000")  # the world's BTC site only
    assert deployed_hashrate_hs("KAS") == D("3000000000000000")
    setup.wallet_create(code="KAS-1", name="KAS", commodity="KAS")
    setup.wallet_create(code="USDT-1", name="USDT", commodity="USDT", parent_account="1110")
    setup.opening_lots_load(
        as_of=date(2025, 12, 30),
        rows=[
            {
                "wallet": "KAS-1",
                "acquired_at": "2025-06-01T10:00:00Z",
                "quantity": "10000",
                "cost_usd": "900.00",
            }
        ],
    )
    treasury.sale_record(
        reference="KAS-1",
        wallet="KAS-1",
        units=D("1000"),
        sold_at=SOLD_AT,
        proceeds_commodity="USDT",
        gross_proceeds=D("99.78"),
        proceeds_value=D("99.78"),
        proceeds_wallet="USDT-1",
    )
    [kas] = production.production_report(
        start=date(2026, 1, 1), end=date(2026, 1, 31), commodity="KAS"
    )
    assert kas.average_price_usd == D("0.09978")  # not 0.10
    assert (kas.hashrate_unit, kas.deployed_hashrate) == ("TH/s", D("3000.00"))
    assert kas.deployed_hashrate_ehs == D("0.00")
    [etc] = production.production_report(
        start=date(2026, 1, 1), end=date(2026, 1, 31), commodity="ETC"
    )
    assert (etc.hashrate_unit, etc.deployed_hashrate) == ("GH/s", D("4500.00"))
    [btc] = production.production_report(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert (btc.hashrate_unit, btc.deployed_hashrate) == ("EH/s", D("1.50"))  # not 1.503...
