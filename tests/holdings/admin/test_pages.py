"""The holdings admin: pages per role, set-up through the services, evidence read-only,
pool files and prices uploaded, failed batches imported again."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from holdings import tasks
from holdings.importers.prices import parse_prices
from holdings.models import (
    BatchStatus,
    ImportBatch,
    Lot,
    Payout,
    Pool,
    PoolAccount,
    Price,
    ProductionRecord,
    Remeasurement,
    Site,
    Wallet,
    WalletAddress,
)
from holdings.services import prices, setup
from ledger import services as ledger_services
from ledger.models import Account
from tests.conftest import UserFactory
from tests.holdings.api.test_endpoints import (
    BAD_POOL_FILE,
    HOT_ADDRESS,
    POOL_FILE,
    UNKNOWN_ADDRESS,
    build_setup,
    build_world,
)

pytestmark = pytest.mark.django_db

ROLES_THAT_READ = ("superuser", "staff", "approver", "auditor")
EVIDENCE = ("price", "importbatch", "productionrecord", "payout", "lot", "remeasurement")
SETUP = ("site", "pool", "poolaccount", "wallet")


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    """Every role, each with admin access (is_staff)."""
    people = {
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return people


@pytest.fixture
def as_role(client, users):
    def login(role: str):
        client.force_login(users[role])
        return client

    return login


@pytest.fixture
def world(chart):
    return build_world()


@pytest.fixture
def setup_only(chart):
    return build_setup()


@pytest.fixture
def queued(monkeypatch):
    """Batch ids the import task was queued for; the task runs at once, as a worker would."""
    ids: list[int] = []

    def delay(batch_id: int) -> Any:
        ids.append(batch_id)
        return tasks.import_batch.apply(args=[batch_id])

    monkeypatch.setattr(tasks.import_batch, "delay", delay)
    return ids


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:holdings_{name}", args=args)


def messages_of(response: Any) -> list[str]:
    assert response.redirect_chain, "follow the redirect to see its messages"
    return [str(message) for message in response.context["messages"]]


def upload_pool_file(
    client: Any,
    content: bytes,
    *,
    name: str = "f2p.json",
    source: str = "f2pool",
    pool_account: str | None = "F2P-A",
) -> Any:
    account = PoolAccount.objects.get(code=pool_account).pk if pool_account else ""
    return client.post(
        url("importbatch_upload"),
        {"source": source, "pool_account": account, "file": SimpleUploadedFile(name, content)},
    )


# --- every role reads; nobody without a role does -----------------------------------------


@pytest.mark.parametrize("role", ROLES_THAT_READ)
def test_changelists_and_detail_pages_render_for_every_role(as_role, role, world):
    client = as_role(role)
    batch = world["batch"]
    record = ProductionRecord.objects.order_by("day").first()
    transferred = Lot.objects.filter(parent__isnull=False).first()
    pages = [
        reverse("admin:index"),
        reverse("admin:app_list", args=["holdings"]),
        *(url(f"{model}_changelist") for model in (*SETUP, *EVIDENCE)),
        url("site_change", world["site"].pk),
        url("pool_change", Pool.objects.get(code="f2pool").pk),
        url("poolaccount_change", world["account"].pk),
        url("wallet_change", Wallet.objects.get(code="HOT-1").pk),
        url("price_change", Price.objects.first().pk),
        url("importbatch_change", batch.pk),
        url("productionrecord_change", record.pk),
        url("payout_change", Payout.objects.get().pk),
        url("lot_change", transferred.pk),
        url("lot_change", transferred.parent_id),
        url("remeasurement_change", Remeasurement.objects.get().pk),
        url("price_changelist") + "?base__code__exact=BTC&source=test-close",
        url("importbatch_changelist") + "?status__exact=succeeded&q=F2P",
        url("productionrecord_changelist") + f"?pool_account__id__exact={world['account'].pk}",
        url("productionrecord_changelist") + "?day__year=2025&day__month=12&q=F2P-A",
        url("payout_changelist") + "?q=" + HOT_ADDRESS[:10],
        url("lot_changelist") + "?state=open&commodity__code__exact=BTC",
        url("lot_changelist") + f"?account__id__exact={transferred.account_id}",
        url("lot_changelist") + "?q=F2P-A&origin__exact=mined",
        url("remeasurement_changelist") + "?commodity__code__exact=BTC",
        url("poolaccount_changelist") + "?q=cango",
        url("wallet_changelist") + "?q=" + HOT_ADDRESS,
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
    index = client.get(reverse("admin:index")).content.decode()
    for model in (
        "Sites",
        "Pools",
        "Pool accounts",
        "Wallets",
        "Prices",
        "Import batches",
        "Production records",
        "Payouts",
        "Lots",
        "Remeasurements",
    ):
        assert model in index


def test_a_staff_user_without_a_role_sees_nothing(as_role, world):
    client = as_role("no_role")
    assert "Holdings" not in client.get(reverse("admin:index")).content.decode()
    for model in (*SETUP, *EVIDENCE):
        assert client.get(url(f"{model}_changelist")).status_code == 403
    assert client.get(url("importbatch_upload")).status_code == 403
    assert client.get(url("price_import")).status_code == 403


def test_pages_show_the_evidence(as_role, world):
    client = as_role("auditor")
    record = ProductionRecord.objects.get(day="2025-12-01")
    page = client.get(url("productionrecord_change", record.pk)).content.decode()
    for text in (
        "0.60000000 BTC",
        "55,200.00",
        "92000.00 USD",
        "test-close",
        "2025-12-02 00:00 UTC",  # the price's timestamp
        f"#{world['batch'].pk}",
        "&quot;type&quot;: &quot;revenue",
    ):
        assert text in page, text
    transferred = Lot.objects.filter(account__code="1230-PLEDGED-1").order_by("pk").last()
    page = client.get(url("lot_change", transferred.pk)).content.decode()
    for text in (
        "0.25000000",
        "Transferred in",
        "Fair value remeasurement",
        "92000.00 USD",
        f"lot #{transferred.parent_id}",
    ):
        assert text in page, text
    page = client.get(url("lot_change", transferred.parent_id)).content.decode()
    for text in ("0.35000000", "0.60000000", "Opened", "Transferred out", "F2P-A 2025-12-01"):
        assert text in page, text
    batch_page = client.get(url("importbatch_change", world["batch"].pk)).content.decode()
    assert "Succeeded" in batch_page
    assert 'http-equiv="refresh"' not in batch_page
    assert f"{len(POOL_FILE):,} bytes" in batch_page


# --- evidence: read-only for everyone -----------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "staff", "approver", "auditor"])
def test_evidence_is_never_added_changed_or_deleted(as_role, role, world):
    client = as_role(role)
    objects = {
        "price": Price.objects.first(),
        "importbatch": world["batch"],
        "productionrecord": ProductionRecord.objects.first(),
        "payout": Payout.objects.get(),
        "lot": Lot.objects.first(),
        "remeasurement": Remeasurement.objects.get(),
    }
    for model, obj in objects.items():
        assert client.get(url(f"{model}_add")).status_code == 403, model
        assert client.post(url(f"{model}_change", obj.pk), {}).status_code == 403, model
        assert client.post(url(f"{model}_delete", obj.pk), {"post": "yes"}).status_code == 403
        page = client.get(url(f"{model}_change", obj.pk)).content.decode()
        assert 'name="_save"' not in page, model
    assert Price.objects.count() == 6 and ImportBatch.objects.count() == 1


# --- set-up through the services ----------------------------------------------------------


def test_adding_a_pool_account_opens_its_receivable_account(as_role, setup_only):
    client = as_role("staff")
    assert client.get(url("poolaccount_add")).status_code == 200
    data = {
        "code": "F2P-NEW",
        "pool": Pool.objects.get(code="f2pool").pk,
        "name": "cango-new",
        "site": setup_only["site"].pk,
        "commodity": "BTC",
        "source": "",
        "api_user": "",
        "api_key_env": "F2P_KEY",
        "api_secret_env": "",
        "fetch_daily": "on",
    }
    response = client.post(url("poolaccount_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    account = PoolAccount.objects.get(code="F2P-NEW")
    assert account.source == "f2pool"  # the pool's own format
    assert account.fetch_daily and account.api_key_env == "F2P_KEY"
    assert account.receivable_account.code == "1300-F2P-NEW"
    assert account.receivable_account.parent.code == "1300"
    page = client.get(url("poolaccount_change", account.pk)).content.decode()
    assert "1300-F2P-NEW" in page

    # The same code again, or a commodity with no receivables in the chart: refused.
    before = Account.objects.count()
    again = client.post(url("poolaccount_add"), data)
    assert again.status_code == 200
    assert "already exists" in again.content.decode()
    other = client.post(url("poolaccount_add"), {**data, "code": "F2P-USDT", "commodity": "USDT"})
    assert other.status_code == 200
    assert "commodity" in other.context["adminform"].form.errors
    assert Account.objects.count() == before
    assert not PoolAccount.objects.filter(code="F2P-USDT").exists()


def test_a_pool_account_changes_only_in_its_editable_fields(as_role, setup_only):
    account = setup_only["account"]
    client = as_role("staff")
    page = client.get(url("poolaccount_change", account.pk)).content.decode()
    assert 'name="name"' in page and 'name="code"' not in page and 'name="pool"' not in page
    response = client.post(
        url("poolaccount_change", account.pk),
        {
            "name": "renamed",
            "site": "",
            "api_user": "u",
            "api_key_env": "",
            "api_secret_env": "",
            "is_active": "",
            "code": "HIJACK",
            "source": "csv",
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.code, account.name, account.site, account.is_active) == (
        "F2P-A",
        "renamed",
        None,
        False,
    )
    assert account.source == "f2pool" and account.api_user == "u"


def test_adding_a_wallet_with_addresses_goes_through_the_services(as_role, setup_only):
    client = as_role("staff")
    assert client.get(url("wallet_add")).status_code == 200
    management = {
        "addresses-TOTAL_FORMS": "2",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    data = {
        "code": "HOT-NEW",
        "name": "New hot wallet",
        "custodian": "Fireblocks",
        "commodity": "BTC",
        "parent_account": "1220",
        **management,
        "addresses-0-address": UNKNOWN_ADDRESS,
        "addresses-0-label": "main",
        "addresses-1-address": "",
        "addresses-1-label": "",
    }
    response = client.post(url("wallet_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    wallet = Wallet.objects.get(code="HOT-NEW")
    assert wallet.account.code == "1220-HOT-NEW"
    assert [(a.address, a.label) for a in wallet.addresses.all()] == [(UNKNOWN_ADDRESS, "main")]

    # An address another wallet owns is refused; nothing is written.
    taken = {
        **management,
        "addresses-TOTAL_FORMS": "1",
        "addresses-INITIAL_FORMS": "1",
        "addresses-0-id": wallet.addresses.get().pk,
        "addresses-0-wallet": wallet.pk,
        "addresses-1-address": HOT_ADDRESS,
        "name": "New hot wallet",
        "custodian": "",
        "is_active": "on",
    }
    taken["addresses-TOTAL_FORMS"] = "2"
    response = client.post(url("wallet_change", wallet.pk), taken)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert WalletAddress.objects.get(address=HOT_ADDRESS).wallet.code == "HOT-1"

    # A second address is added by the change page.
    added = {
        **taken,
        "addresses-1-address": "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    }
    assert client.post(url("wallet_change", wallet.pk), added).status_code == 302
    assert wallet.addresses.count() == 2


def test_a_wallet_under_a_parent_the_chart_does_not_allow_is_refused(as_role, setup_only):
    data = {
        "code": "BAD",
        "name": "Bad",
        "custodian": "",
        "commodity": "BTC",
        "parent_account": "1250",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    response = as_role("staff").post(url("wallet_add"), data)
    assert response.status_code == 200
    assert "parent_account" in response.context["adminform"].form.errors
    assert not Wallet.objects.filter(code="BAD").exists()


def test_a_wallet_takes_its_coin_from_its_parent_account_and_a_pool_account_has_no_default(
    as_role, setup_only
):
    client = as_role("staff")
    data = {
        "code": "KAS-NEW",
        "name": "Kaspa hot wallet",
        "custodian": "",
        "commodity": "",  # left as offered: the parent's
        "parent_account": "1250",
        "addresses-TOTAL_FORMS": "0",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }
    page = client.get(url("wallet_add")).content.decode()
    assert '<option value="" selected>The parent account&#x27;s</option>' in page
    response = client.post(url("wallet_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    wallet = Wallet.objects.get(code="KAS-NEW")
    assert (wallet.commodity_id, wallet.account.code) == ("KAS", "1250-KAS-NEW")
    form = client.get(url("poolaccount_add")).context["adminform"].form
    assert form.fields["commodity"].initial is None  # a KAS sub-account never BTC by default


def test_sites_and_pools_are_added_and_edited(as_role, chart):
    client = as_role("approver")
    response = client.post(
        url("site_add"),
        {
            "code": "US-GA-01",
            "name": "Dalton",
            "region": "North America",
            "commodity": "BTC",
            "deployed_hashrate_hs": "3040000000000000000",
        },
    )
    assert response.status_code == 302
    site = Site.objects.get(code="US-GA-01")
    assert site.commodity_id == "BTC"
    response = client.post(
        url("site_change", site.pk),
        {
            "name": "Dalton, Georgia",
            "region": "North America",
            "deployed_hashrate_hs": "1",
            "is_active": "",
        },
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert (site.name, site.deployed_hashrate_hs, site.is_active) == ("Dalton, Georgia", 1, False)
    response = client.post(
        url("pool_add"), {"code": "luxor", "name": "Luxor", "kind": "other", "api_base_url": ""}
    )
    assert response.status_code == 302
    assert Pool.objects.get(code="luxor").kind == "other"


@pytest.mark.parametrize("model", SETUP)
def test_auditors_cannot_add_or_change_the_setup(as_role, setup_only, model):
    client = as_role("auditor")
    assert client.get(url(f"{model}_add")).status_code == 403
    obj = {"site": Site, "pool": Pool, "poolaccount": PoolAccount, "wallet": Wallet}[model]
    first = obj.objects.first()
    assert client.post(url(f"{model}_change", first.pk), {"name": "x"}).status_code == 403
    assert client.post(url(f"{model}_delete", first.pk), {"post": "yes"}).status_code == 403


# --- pool files ----------------------------------------------------------------------------


def test_uploading_a_pool_file_queues_a_batch_whose_page_shows_its_status(
    as_role, setup_only, queued, django_capture_on_commit_callbacks
):
    client = as_role("staff")
    changelist = client.get(url("importbatch_changelist")).content.decode()
    assert "Upload a pool file" in changelist
    form = client.get(url("importbatch_upload"))
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload_pool_file(client, POOL_FILE)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("importbatch_change", batch.pk)
    assert batch.created_by.username == "staff"
    assert len(callbacks) == 1 and queued == []
    pending = client.get(response["Location"]).content.decode()
    assert "Pending" in pending and 'http-equiv="refresh"' in pending

    callbacks[0]()
    assert queued == [batch.pk]
    done = client.get(response["Location"]).content.decode()
    assert "Succeeded" in done and 'http-equiv="refresh"' not in done
    batch.refresh_from_db()
    assert (batch.status, batch.records_created) == (BatchStatus.SUCCEEDED, 4)


def test_a_bad_pool_file_shows_its_errors_and_is_imported_again_once_fixed(
    as_role, world, queued, django_capture_on_commit_callbacks, staff_user, approver_user
):
    client = as_role("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_pool_file(client, BAD_POOL_FILE, name="bad.json")
    batch = ImportBatch.objects.get(file_name="bad.json")
    assert batch.status == BatchStatus.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "Failed" in page
    assert '<table class="import-errors">' in page
    assert "<td>bad.json</td><td>2</td><td>address</td>" in page
    assert f"{UNKNOWN_ADDRESS} is not an address of any of the company" in page
    assert "Import again" in page

    # The address is added to a wallet; the action imports the batch again.
    setup.wallet_address_add(wallet="HOT-1", address=UNKNOWN_ADDRESS)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("importbatch_changelist"),
            {"action": "import_again", "_selected_action": [batch.pk, world["batch"].pk]},
            follow=True,
        )
    shown = messages_of(response)
    assert any("only failed batches" in m and f"#{world['batch'].pk}" in m for m in shown)
    assert any(f"Queued for import again: #{batch.pk}." in m for m in shown)
    batch.refresh_from_db()
    assert queued[-1] == batch.pk
    # Its days were remeasured at 2025-12-31 meanwhile: the file waits for that
    # remeasurement to be cancelled, and is imported once it is.
    assert batch.status == BatchStatus.FAILED and batch.attempts == 2
    assert "BTC was remeasured at 2025-12-31" in batch.errors[0]["message"]
    requested, _ = ledger_services.cancellation_request(
        entry=world["remeasurement"].entry, reason="a late pool file", by=staff_user
    )
    ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("importbatch_retry", batch.pk), follow=True)
    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.errors) == (BatchStatus.SUCCEEDED, 3, [])


def test_the_batch_page_imports_a_failed_batch_again(
    as_role, world, queued, django_capture_on_commit_callbacks
):
    client = as_role("approver")
    with django_capture_on_commit_callbacks(execute=True):
        upload_pool_file(client, BAD_POOL_FILE, name="bad.json")
    batch = ImportBatch.objects.get(file_name="bad.json")
    confirm = client.get(url("importbatch_retry", batch.pk))
    assert confirm.status_code == 200 and "Import batch" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("importbatch_retry", batch.pk), follow=True)
    assert any("queued for import again" in m for m in messages_of(response))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and batch.attempts == 2  # still no such address


@pytest.mark.parametrize(
    ("fields", "content", "field", "message"),
    [
        ({}, b"", "file", "empty"),
        ({"pool_account": None}, POOL_FILE, "pool_account", "choose one"),
        ({"source": "bitmain"}, POOL_FILE, "source", "Select a valid choice"),
    ],
)
def test_a_bad_upload_form_names_the_field_and_writes_nothing(
    as_role,
    setup_only,
    queued,
    django_capture_on_commit_callbacks,
    fields,
    content,
    field,
    message,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_pool_file(as_role("staff"), content, **fields)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not ImportBatch.objects.exists()
    assert queued == []


def test_auditors_cannot_upload_or_import_again(
    as_role, world, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload_pool_file(as_role("staff"), BAD_POOL_FILE, name="bad.json")
    failed = ImportBatch.objects.get(file_name="bad.json")
    client = as_role("auditor")
    assert "Upload a pool file" not in client.get(url("importbatch_changelist")).content.decode()
    assert client.get(url("importbatch_upload")).status_code == 403
    assert upload_pool_file(client, POOL_FILE, name="again.json").status_code == 403
    assert client.get(url("importbatch_retry", failed.pk)).status_code == 403
    assert client.post(url("importbatch_retry", failed.pk)).status_code == 403
    page = client.get(url("importbatch_change", failed.pk)).content.decode()
    assert "Import again" not in page
    response = client.post(
        url("importbatch_changelist"),
        {"action": "import_again", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.attempts == 1
    assert not ImportBatch.objects.filter(file_name="again.json").exists()
    assert client.get(url("price_import")).status_code == 403


# --- prices --------------------------------------------------------------------------------


def test_a_prices_file_is_imported_with_a_clear_message(as_role, chart):
    client = as_role("staff")
    assert "Import prices (CSV)" in client.get(url("price_changelist")).content.decode()
    content = (
        b"timestamp,base,quote,price,source\n"
        b"2026-01-01T00:00:00Z,BTC,USD,88130.07,coinmetrics-close\n"
        b"2026-01-02T00:00:00Z,BTC,USD,89021.55,coinmetrics-close\n"
    )
    response = client.post(
        url("price_import"), {"file": SimpleUploadedFile("prices.csv", content)}, follow=True
    )
    assert response.redirect_chain[-1][0] == url("price_changelist")
    assert messages_of(response) == ["prices.csv: 2 price(s) imported, 0 already recorded."]
    assert Price.objects.get(timestamp=datetime(2026, 1, 2, tzinfo=UTC)).price == Decimal(
        "89021.55"
    )

    refused = client.post(
        url("price_import"), {"file": SimpleUploadedFile("prices.csv", content)}, follow=True
    )
    assert "prices.csv, row 2: BTC/USD at 2026-01-01T00:00:00Z is already recorded" in (
        refused.content.decode()
    )
    again = client.post(
        url("price_import"),
        {"file": SimpleUploadedFile("prices.csv", content), "skip_identical": "on"},
        follow=True,
    )
    assert messages_of(again) == ["prices.csv: 0 price(s) imported, 2 already recorded."]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"timestamp,base,quote,price,source\n2026-01-01T00:00:00Z,BTC,USD,-5,x\n",
            "bad.csv, row 2, field price",
        ),
        (b"when,what\n1,2\n", "bad.csv"),
        (
            b"timestamp,base,quote,price,source\n2026-01-01T00:00:00Z,ZZZ,USD,5,x\n",
            "unknown commodity ZZZ",
        ),
        (
            b"timestamp,base,quote,price,source\n2026-01-01T00:00:00Z,BTC,USD,1.5,x\n",
            "is already 88130.07",
        ),
        (b"", "empty"),
    ],
)
def test_a_bad_prices_file_shows_a_clear_message_and_writes_nothing(
    as_role, chart, content, expected
):
    prices.prices_import(
        quotes=parse_prices(
            b"timestamp,base,quote,price,source\n2026-01-01T00:00:00Z,BTC,USD,88130.07,cm\n",
            file_name="seed.csv",
        )
    )
    response = as_role("staff").post(
        url("price_import"), {"file": SimpleUploadedFile("bad.csv", content)}
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["file"])
    assert expected in errors, errors
    assert Price.objects.count() == 1


def test_a_production_records_hashrate_is_in_its_coins_unit(as_role, world):
    from datetime import date

    from tests.holdings.conftest import f2pool_file, load_prices, run_import

    setup.pool_account_create(code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS")
    load_prices(date(2026, 1, 1), date(2026, 1, 3), base="KAS")
    content = f2pool_file([(date(2026, 1, 1), "1000")], id_base=7_000_000)  # 1.2e18 H/s
    assert run_import("f2pool", content, pool_account="F2P-KAS").status == "succeeded"
    page = as_role("auditor").get(url("productionrecord_changelist")).content.decode()
    assert "1,200,000.00 TH/s" in page  # KAS, not 1.20 EH/s


def test_a_cancelled_remeasurement_and_its_next_attempt_show_which_stands(
    as_role, world, staff_user, approver_user
):
    from holdings.services import fair_value

    first = world["remeasurement"]
    requested, _ = ledger_services.cancellation_request(
        entry=first.entry, reason="wrong price", by=staff_user
    )
    ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    again = fair_value.remeasure(commodity="BTC", as_of=first.as_of)
    client = as_role("auditor")
    page = client.get(url("remeasurement_changelist")).content.decode()
    assert "cancelled on 2025-12-31" in page and ">stands<" in page
    assert page.index(">stands<") < page.index("cancelled on 2025-12-31")  # newest attempt first
    shown = client.get(url("remeasurement_change", again.pk)).content.decode()
    assert ">stands<" in shown and ">2<" in shown
    shown = client.get(url("remeasurement_change", first.pk)).content.decode()
    assert "cancelled on 2025-12-31" in shown
