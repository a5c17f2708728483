"""Values checked at the door: txids of 64 hex characters, wallet addresses by their
commodity's checksum, printable text only in memos, references, names and reasons, and
manual journals of the kinds people post (never a service's), in the API, the admin, the
importers and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.addresses import AddressError, check_address, eip55, kaspa_address, normalize_txid
from holdings.errors import InvalidSetup
from holdings.models import Transfer, WalletAddress
from holdings.services import setup as setup_services
from ledger import services as ledger_services
from ledger.errors import InvalidAccount, InvalidEntry
from ledger.models import JournalEntry, ManualJournal, ManualJournalKind
from ledger.text import text_problem
from tests.holdings.api.test_loans import loan_world, running_loan  # noqa: F401
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import

API = "/api/v1"
D = Decimal
SPOOFS = ["\u202e", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\x85", "\x1b", "\x00"]

# --- txids -------------------------------------------------------------------------------


def test_a_txid_is_64_hex_characters_stored_lower_case():
    assert normalize_txid("AB" * 32) == "ab" * 32
    assert normalize_txid("0x" + "cd" * 32) == "cd" * 32
    for bad in ["ab" * 31, "ab" * 33, "zz" * 32, " " + "ab" * 32, "ab" * 31 + "a\u0661", ""]:
        with pytest.raises(AddressError, match="64 hex characters"):
            normalize_txid(bad)


TRANSFER = {
    "from_wallet": "COLD-1",
    "to_wallet": "HOT-1",
    "units": "0.1",
    "sent_at": "2026-01-05T10:00:00Z",
}


@pytest.mark.django_db
@pytest.mark.parametrize("txid", ["ab" * 31, "g" * 64, "ab" * 32 + "\u202e", "1", ""])
def test_a_transfer_with_a_bad_txid_is_refused_naming_it(running_loan, api_client_for, txid):  # noqa: F811
    response = api_client_for("staff").post(
        f"{API}/transfers/", {**TRANSFER, "txid": txid}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "txid"
    assert Transfer.objects.count() == 0


@pytest.mark.django_db
def test_a_transfer_txid_in_upper_case_is_stored_lower_case(world, api_client_for):
    from holdings.api.serializers.treasury import TransferCreateSerializer

    body = TransferCreateSerializer(data={**TRANSFER, "txid": "AB" * 32})
    assert body.is_valid(), body.errors
    assert body.validated_data["txid"] == "ab" * 32


@pytest.mark.django_db
def test_a_pool_file_with_a_bad_txid_is_refused_naming_file_row_and_field(world):
    content = f2pool_file(
        earnings=[(date(2026, 1, 1), "0.5")],
        payouts=[(9, datetime(2026, 1, 2, 1, tzinfo=UTC), "0.5", ADDRESS)],
    )
    text = content.decode().replace('"tx_id": "', '"tx_id": "zz')
    batch = run_import("f2pool", text.encode(), file_name="bad-txid.json")
    assert batch.status == "failed"
    error = batch.errors[0]
    assert error["file"] == "bad-txid.json" and error["field"].endswith("tx_id")
    assert error["row"] is not None
    assert "64 hex characters" in error["message"]


# --- addresses ---------------------------------------------------------------------------

VALID = {
    "BTC": [
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",  # segwit v0, BIP-173
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",  # upper case, BIP-173
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",  # v1, BIP-350
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # P2PKH
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # P2SH
    ],
    "ETC": [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # EIP-55
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",  # no checksum written
        "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
    ],
    "KAS": [
        "kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73",
        "kaspa:qrhrdg74c6he64ydeevnsxp9c7eu3d0sct2g5rlt3lj7gzyapnl5zzf6spefa",
    ],
}
INVALID = {
    "BTC": [
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlj",  # checksum
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",  # v0 with a bech32m checksum
        "bc1qnewaddress0000000000000000000000000000",
        "bC1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",  # mixed case
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",  # testnet
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",  # checksum
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "bc1q xy2",
    ],
    "ETC": [
        "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # mixed case, wrong checksum
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    ],
    "KAS": [
        "kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g74",
        "kaspa:qz0c8gf8lm54u4m3dw6p0z23vhfmryj8x7qxmq9k5v",
        "kaspatest:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73",
        "KASPA:QQKQKZJVR7ZWXXMJXJKMXXDWJU9KJS6E9U82UH59Z07VGAKS6GG62V8707G73",
    ],
}


@pytest.mark.parametrize(
    ("commodity", "address"), [(c, a) for c, addresses in VALID.items() for a in addresses]
)
def test_valid_addresses_are_taken(settings, commodity, address):
    assert check_address(commodity, address) == address


@pytest.mark.parametrize(
    ("commodity", "address"), [(c, a) for c, addresses in INVALID.items() for a in addresses]
)
def test_invalid_addresses_are_refused(settings, commodity, address):
    with pytest.raises(AddressError):
        check_address(commodity, address)


def test_testnet_addresses_only_where_the_settings_say_so(settings):
    settings.BITCOIN_TESTNET_ADDRESSES = True
    assert check_address("BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")


def test_the_kaspa_and_eip55_builders_round_trip():
    built = kaspa_address(0, bytes(range(32)))
    assert check_address("KAS", built) == built
    assert eip55("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    )


@pytest.mark.django_db
def test_a_wallet_address_is_checked_by_its_commodity(world):
    with pytest.raises(InvalidSetup, match="bech32") as caught:
        setup_services.wallet_address_add(
            wallet="HOT-1", address="bc1qnewaddress0000000000000000000000000000"
        )
    assert caught.value.field == "address"
    added = setup_services.wallet_address_add(wallet="HOT-1", address=VALID["BTC"][2])
    assert added.address == VALID["BTC"][2]
    assert WalletAddress.objects.filter(wallet__code="HOT-1").count() == 3


@pytest.mark.django_db
def test_the_demonstration_addresses_are_valid():
    import json
    from pathlib import Path

    setup = json.loads((Path(__file__).parents[2] / "fixtures/demo/setup.json").read_text())
    wallets = setup["wallets"]
    assert wallets
    for wallet in wallets:
        for address in wallet.get("addresses", []):
            check_address(wallet.get("commodity", "BTC"), address)


# --- printable text ----------------------------------------------------------------------


@pytest.mark.parametrize("char", [*SPOOFS, "\u200b", "\ufeff", "\u2028", "\ue000"])
def test_control_bidi_and_format_characters_are_refused(char):
    assert text_problem(f"Fee{char}s") is not None
    assert text_problem(f"Fee{char}s", multiline=True) is not None


def test_tabs_and_line_breaks_only_in_text_that_spans_lines():
    assert text_problem("a\tb\r\nc", multiline=True) is None
    assert text_problem("a\nb") is not None
    assert text_problem("Société 東京 👨\u200d👩") is None


@pytest.mark.parametrize("multiline", [False, True])
def test_ascii_text_is_judged_as_the_whole_of_unicode_judges_it(multiline):
    # ASCII text is checked against its own short class; with one character beyond ASCII
    # the same text goes through the class of every refused code point.
    for point in range(128):
        text = f"a{chr(point)}b"
        problem = text_problem(text, multiline=multiline)
        assert problem == text_problem(text + "é", multiline=multiline), repr(chr(point))
        assert (problem is None) == (
            chr(point).isprintable() or (multiline and chr(point) in "\t\n\r")
        ), repr(chr(point))


JOURNAL = {
    "effective_date": "2026-01-05",
    "memo": "Accrued audit fee",
    "postings": [
        {"account": "5300", "quantity": "100.00", "value": "100.00"},
        {"account": "3000", "quantity": "-100.00", "value": "-100.00"},
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("char", SPOOFS)
@pytest.mark.parametrize("url", ["/manual-journals/", "/journal-entries/"])
def test_a_memo_with_control_or_bidi_characters_is_a_400(chart, api_client_for, url, char):
    response = api_client_for("staff").post(
        f"{API}{url}", {**JOURNAL, "memo": f"Fee {char}gnp.exe"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "memo"
    assert ManualJournal.objects.count() == 0


@pytest.mark.django_db
def test_a_memo_may_span_lines(chart, api_client_for):
    response = api_client_for("staff").post(
        f"{API}/manual-journals/", {**JOURNAL, "memo": "Audit fee\r\n\tQ4 2025"}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_posting_check_refuses_an_unprintable_memo(chart):
    lines = [("1000", D("1.00"), D("1.00")), ("3000", D("-1.00"), D("-1.00"))]
    with pytest.raises(InvalidEntry, match="U\\+202E") as caught:
        ledger_services.entry_post(effective_date=date(2026, 1, 5), memo="a\u202eb", postings=lines)
    assert caught.value.field == "memo"
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db
def test_a_sale_reference_and_a_rejection_reason_are_printable(running_loan, api_client_for):  # noqa: F811
    sale = {
        "reference": "OTC\u202e-1",
        "wallet": "COLD-1",
        "units": "0.5",
        "sold_at": "2026-01-05T10:00:00Z",
        "proceeds_commodity": "USD",
        "gross_proceeds": "45000.00",
    }
    response = api_client_for("staff").post(f"{API}/sales/", sale, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "reference")
    created = api_client_for("staff").post(
        f"{API}/manual-journals/", {**JOURNAL, "submit": True}, format="json"
    )
    pk = created.json()["id"]
    response = api_client_for("approver").post(
        f"{API}/manual-journals/{pk}/reject/", {"reason": "No\x85reason"}, format="json"
    )
    assert (response.status_code, response.json().get("field")) == (400, "reason"), response.json()


@pytest.mark.django_db
def test_names_typed_by_people_are_printable(chart):
    with pytest.raises(InvalidSetup) as caught:
        setup_services.site_create(
            code="US-TX-9", name="Texas\u202e9", region="North America", deployed_hashrate_hs=1
        )
    assert caught.value.field == "name"
    with pytest.raises(InvalidAccount) as refused:
        ledger_services.account_create(
            code="1299", name="Cash\x1b[2J", type="asset", commodity="USD", parent="1000"
        )
    assert refused.value.field == "name"


# --- manual journal kinds ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind", ["sale", "pool_earning", "pool_payout", "loan_interest", "opening_balance", "gift"]
)
@pytest.mark.parametrize("url", ["/manual-journals/", "/journal-entries/"])
def test_a_manual_journal_of_a_services_kind_is_a_400(chart, api_client_for, url, kind):
    response = api_client_for("staff").post(f"{API}{url}", {**JOURNAL, "kind": kind}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "kind"
    assert ManualJournal.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ManualJournalKind.values)
def test_every_kind_people_post_is_taken(chart, api_client_for, kind):
    response = api_client_for("staff").post(
        f"{API}/manual-journals/", {**JOURNAL, "kind": kind}, format="json"
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_service_refuses_a_services_kind(chart, staff_user):
    lines = [("5300", D("1.00"), D("1.00")), ("3000", D("-1.00"), D("-1.00"))]
    with pytest.raises(InvalidEntry, match="not a manual journal's kind") as caught:
        ledger_services.manual_journal_create(
            effective_date=date(2026, 1, 5), memo="x", postings=lines, by=staff_user, kind="sale"
        )
    assert caught.value.field == "kind"


@pytest.mark.django_db
def test_postgresql_refuses_a_manual_journal_of_another_kind(chart, staff_user):
    with (
        pytest.raises(IntegrityError, match="ledger_mj_kind_known"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO ledger_manualjournal (status, effective_date, memo, kind, "
            "payload_hash, rejection_reason, created_by_id, created_at, updated_at) "
            "VALUES ('draft', '2026-01-05', 'x', 'sale', '', '', %s, now(), now())",
            [staff_user.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'ledger_mj_kind_known'"
        )
        assert cursor.fetchone() == (True,)
