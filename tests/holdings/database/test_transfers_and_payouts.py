"""What PostgreSQL refuses at commit of a transfer or a payout that is not what its entry
posts. A writer gone wrong is played by the services with the document altered on its way to
the database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError

from holdings.models import Payout, Transfer
from holdings.selectors import production as production_selectors
from holdings.selectors import treasury as treasury_selectors
from holdings.selectors.production import ProductionBreak
from holdings.selectors.treasury import TreasuryBreak
from holdings.services import setup
from holdings.services.reconciliation import reconcile
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import
from tests.holdings.database.test_disposal_records import (
    at_commit,
    behind_the_triggers,
    transfer_fee,
)
from tests.holdings.services.test_treasury import holdings_at_fair_value

D = Decimal


def transfers_written_as(monkeypatch, **changes) -> None:
    create = Transfer.objects.create
    monkeypatch.setattr(
        Transfer.objects, "create", lambda **fields: create(**{**fields, **changes})
    )


@pytest.mark.django_db
def test_a_transfer_moves_the_units_its_entry_posts(world, monkeypatch):
    holdings_at_fair_value()
    transfers_written_as(monkeypatch, units=D("0.6"))
    transfer_fee(commodity="BTC")
    with pytest.raises(
        IntegrityError,
        match=r"holdings_transfer_matches_its_entry: transfer (ef)+ \(entry #\d+ of 2026-01-05\) "
        r"moves 0\.6 BTC from wallet COLD-1 to wallet HOT-1 with a fee of 0\.0001, but its entry "
        r"posts 0\.5 into HOT-1 and 0\.5001 out of COLD-1",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_transfer_names_the_wallet_its_entry_moved_the_units_to(world, monkeypatch):
    holdings_at_fair_value()
    elsewhere = setup.wallet_create(code="COLD-2", name="Second vault", parent_account="1210")
    transfers_written_as(monkeypatch, to_wallet=elsewhere)
    transfer_fee(commodity="BTC")
    with pytest.raises(
        IntegrityError,
        match=r"holdings_transfer_matches_its_entry: .* from wallet COLD-1 to wallet COLD-2 with "
        r"a fee of 0\.0001, but its entry posts 0 into COLD-2 and 0\.5001 out of COLD-1",
    ):
        at_commit()


def pay(monkeypatch=None, more: str = "0") -> None:
    if monkeypatch is not None:
        write = Payout.objects.bulk_create

        def altered(payouts, *args, **kwargs):
            for payout in payouts:
                payout.amount += D(more)
            return write(payouts, *args, **kwargs)

        monkeypatch.setattr(Payout.objects, "bulk_create", altered)
    content = f2pool_file(
        earnings=[(date(2026, 1, 1), "0.5")],
        payouts=[(1, datetime(2026, 1, 3, 8, tzinfo=UTC), "0.4", ADDRESS)],
    )
    batch = run_import("f2pool", content)
    assert batch.status == "succeeded", batch.errors


@pytest.mark.django_db
def test_a_payout_pays_what_its_entry_posts(world, monkeypatch):
    pay(monkeypatch, more="0.1")
    with pytest.raises(
        IntegrityError,
        match=r"holdings_payout_matches_its_entry: payout 1 of pool account F2P-A \(entry #\d+ "
        r"of 2026-01-03\) pays 0\.5 BTC to wallet HOT-1, but its entry posts 0\.4 into the "
        r"wallet and 0\.4 out of the pool account's receivable",
    ):
        at_commit()


@pytest.mark.django_db
def test_transfers_and_payouts_as_the_services_write_them_pass(world):
    holdings_at_fair_value()
    transfer_fee(commodity="BTC")
    pay()
    at_commit()
    assert Transfer.objects.count() == Payout.objects.count() == 1


@pytest.mark.django_db
def test_the_nightly_check_names_a_transfer_and_a_payout_off_their_entries(world):
    holdings_at_fair_value()
    transfer = transfer_fee(commodity="BTC")
    pay()
    payout = Payout.objects.get()
    assert treasury_selectors.treasury_breaks() == production_selectors.production_breaks() == []
    behind_the_triggers(f"UPDATE holdings_transfer SET units = 0.6 WHERE id = {transfer.pk}")
    behind_the_triggers(f"UPDATE holdings_payout SET amount = 0.5 WHERE id = {payout.pk}")

    assert treasury_selectors.treasury_breaks() == [
        TreasuryBreak(
            "transfer",
            transfer.txid,
            transfer.entry.sequence,
            "moves 0.6 from COLD-1 to HOT-1 with a fee of 0.0001; its entry posts 0.5 into HOT-1 "
            "and 0.5001 out of COLD-1",
        )
    ]
    assert production_selectors.production_breaks() == [
        ProductionBreak(
            "payout",
            "1",
            "F2P-A",
            payout.entry.sequence,
            "pays 0.5 to wallet HOT-1; its entry posts 0.4 into the wallet and 0.4 out of the "
            "receivable",
        )
    ]
    [run] = reconcile(as_of=date(2026, 1, 10), kinds=["internal"])
    assert sorted(run.items.exclude(status="matched").values_list("checked", "subject")) == [
        ("production_posted", "F2P-A 1"),
        ("treasury", transfer.txid),
    ]
