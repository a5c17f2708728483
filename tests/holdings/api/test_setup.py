"""Setting up through the API: sites, pools, pool accounts, wallets and addresses created by
finance staff and approvers, refused to auditors and strangers; bad values, unknown fields
and codes already set up refused naming the field, with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from holdings.models import Pool, PoolAccount, Site, Wallet, WalletAddress
from ledger.models import Account
from tests.ledger.api.test_entries import assert_error

API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
NEW_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"

SITE = {
    "code": "US-ND-01",
    "name": "Williston, North Dakota",
    "region": "North America",
    "deployed_hashrate_hs": "1200000000000000000",
}
POOL = {"code": "antpool", "name": "AntPool", "kind": "other"}
POOL_ACCOUNT = {"code": "F2P-Z", "pool": "f2pool", "name": "cango-z", "site": "US-TX-01"}
WALLET = {"code": "COLD-9", "name": "Cold nine", "parent_account": "1210", "custodian": "Anchor"}
ADDRESS_BODY = {"address": NEW_ADDRESS, "label": "deposit"}

CREATES = [
    ("/sites/", SITE),
    ("/pools/", POOL),
    ("/pool-accounts/", POOL_ACCOUNT),
    ("/wallets/", WALLET),
    ("/wallets/COLD-1/addresses/", ADDRESS_BODY),
]


def written() -> tuple[int, ...]:
    return (
        Site.objects.count(),
        Pool.objects.count(),
        PoolAccount.objects.count(),
        Wallet.objects.count(),
        WalletAddress.objects.count(),
        Account.objects.count(),
    )


def post(client: Any, url: str, body: Any, **headers: str) -> Any:
    return client.post(f"{API}{url}", body, format="json", headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "body"), CREATES)
def test_every_create_for_every_role(world, api_client_for, role, url, body):
    before = written()
    response = post(api_client_for(role), url, body)
    assert response.status_code == WRITE_STATUS[role], response.content
    if WRITE_STATUS[role] != 201:
        assert written() == before


def test_created_objects_are_what_was_sent(world, api_client_for):
    client = api_client_for("staff")
    site = post(client, "/sites/", SITE).json()
    assert site["code"] == "US-ND-01" and site["deployed_hashrate_ehs"] == "1.20"
    pool = post(client, "/pools/", POOL).json()
    assert pool == {**POOL, "api_base_url": ""}
    account = post(client, "/pool-accounts/", {**POOL_ACCOUNT, "pool": "antpool"}).json()
    assert account["pool"] == "antpool" and account["site"] == "US-TX-01"
    assert account["source"] == "csv"
    assert Account.objects.filter(code=account["receivable_account"]).exists()
    wallet = post(client, "/wallets/", {**WALLET, "addresses": [NEW_ADDRESS]}).json()
    assert wallet["account"] == "1210-COLD-9"
    assert [a["address"] for a in wallet["addresses"]] == [NEW_ADDRESS]
    listed = client.get(f"{API}/pools/").json()
    assert "antpool" in [p["code"] for p in listed["results"]]


def test_an_address_is_added_to_the_wallet(world, api_client_for):
    response = post(api_client_for("approver"), "/wallets/COLD-1/addresses/", ADDRESS_BODY)
    assert response.status_code == 201, response.content
    assert NEW_ADDRESS in [a["address"] for a in response.json()["addresses"]]
    assert WalletAddress.objects.get(address=NEW_ADDRESS).wallet.code == "COLD-1"


def test_an_unknown_wallet_is_404(world, api_client_for):
    response = post(api_client_for("staff"), "/wallets/NOPE/addresses/", ADDRESS_BODY)
    assert_error(response, 404, None)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/sites/", {**SITE, "deployed_hashrate_hs": "-5"}, "deployed_hashrate_hs"),
        ("/sites/", {**SITE, "deployed_hashrate_hs": 5}, "deployed_hashrate_hs"),
        ("/sites/", {**SITE, "code": "bad code"}, "code"),
        ("/sites/", {**SITE, "name": ""}, "name"),
        ("/sites/", {k: v for k, v in SITE.items() if k != "region"}, "region"),
        ("/pools/", {**POOL, "kind": "nonsense"}, "kind"),
        ("/pools/", {**POOL, "api_base_url": "not a url"}, "api_base_url"),
        ("/pool-accounts/", {**POOL_ACCOUNT, "pool": "nope"}, "pool"),
        ("/pool-accounts/", {**POOL_ACCOUNT, "site": "nope"}, "site"),
        ("/pool-accounts/", {**POOL_ACCOUNT, "commodity": "USD"}, "commodity"),
        ("/pool-accounts/", {**POOL_ACCOUNT, "source": "ftp"}, "source"),
        ("/wallets/", {**WALLET, "parent_account": "1000"}, "parent_account"),
        ("/wallets/", {**WALLET, "commodity": "XYZ"}, "commodity"),
        ("/wallets/", {**WALLET, "addresses": ["not-an-address"]}, "address"),
        ("/wallets/COLD-1/addresses/", {"address": "bc1qnotvalid"}, "address"),
        ("/wallets/COLD-1/addresses/", {"label": "x"}, "address"),
    ],
)
def test_bad_values_are_refused_naming_the_field(world, api_client_for, url, body, field):
    before = written()
    assert_error(post(api_client_for("staff"), url, body), 400, field)
    assert written() == before


@pytest.mark.parametrize(("url", "body"), CREATES)
def test_unknown_fields_are_refused(world, api_client_for, url, body):
    before = written()
    response = post(api_client_for("staff"), url, {**body, "colour": "blue"})
    assert_error(response, 400, "colour", "unknown_field")
    assert written() == before


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/sites/", {**SITE, "code": "US-TX-01"}, "code"),
        ("/pools/", {**POOL, "code": "f2pool"}, "code"),
        ("/pool-accounts/", {**POOL_ACCOUNT, "code": "F2P-A"}, "code"),
        ("/wallets/", {**WALLET, "code": "HOT-1"}, "code"),
        (
            "/wallets/HOT-1/addresses/",
            {"address": "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"},
            "address",
        ),
    ],
)
def test_a_code_already_set_up_is_a_conflict(world, api_client_for, url, body, field):
    before = written()
    assert_error(post(api_client_for("staff"), url, body), 409, field, "already_exists")
    assert written() == before


def test_the_same_idempotency_key_replays_and_other_content_conflicts(world, api_client_for):
    client = api_client_for("staff")
    first = post(client, "/sites/", SITE, **{"Idempotency-Key": "site-nd-1"})
    assert first.status_code == 201, first.content
    again = post(client, "/sites/", SITE, **{"Idempotency-Key": "site-nd-1"})
    assert again.status_code == 200 and again.json() == first.json()
    other = post(client, "/sites/", {**SITE, "name": "Other"}, **{"Idempotency-Key": "site-nd-1"})
    assert_error(other, 409, None)
    assert Site.objects.filter(code="US-ND-01").count() == 1


def test_a_body_that_is_not_json_is_415(world, api_client_for):
    response = api_client_for("staff").post(f"{API}/sites/", SITE)
    assert_error(response, 415, None)


# --- the set-up from a file --------------------------------------------------------------

SETUP_YAML = f"""
sites:
  - {{code: US-ND-01, name: Williston, region: North America, deployed_hashrate_hs: "5"}}
wallets:
  - code: COLD-9
    name: Cold nine
    parent_account: "1210"
    addresses: [{NEW_ADDRESS}]
pool_accounts:
  - {{code: F2P-Z, pool: f2pool, name: cango-z, site: US-ND-01}}
""".encode()
LOAD_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}


def upload(client: Any, content: bytes, name: str = "setup.yaml", **fields: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content), **fields}
    return client.post(f"{API}/setup/", data, format="multipart")


@pytest.mark.parametrize("role", ROLES)
def test_the_set_up_file_for_every_role(world, api_client_for, role):
    before = written()
    response = upload(api_client_for(role), SETUP_YAML)
    assert response.status_code == LOAD_STATUS[role], response.content
    if LOAD_STATUS[role] == 201:
        assert response.json()["created"] == {
            "sites": ["US-ND-01"],
            "pools": [],
            "wallets": ["COLD-9"],
            "addresses": [NEW_ADDRESS],
            "pool_accounts": ["F2P-Z"],
        }
        assert PoolAccount.objects.get(code="F2P-Z").site.code == "US-ND-01"
    else:
        assert written() == before


def test_the_set_up_file_dry_run_writes_nothing(world, api_client_for):
    before = written()
    response = upload(api_client_for("staff"), SETUP_YAML, dry_run="true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["created"]["wallets"] == ["COLD-9"]
    assert written() == before


def test_a_bad_set_up_file_is_refused_naming_where(world, api_client_for):
    before = written()
    bad = SETUP_YAML.replace(b"pool: f2pool", b"pool: nopool")
    body = assert_error(upload(api_client_for("staff"), bad), 400, "pool")
    assert "setup.yaml, pool_accounts[0], field pool" in body["detail"]
    assert written() == before
    assert_error(upload(api_client_for("staff"), SETUP_YAML, colour="x"), 400, "colour")
    response = api_client_for("staff").post(f"{API}/setup/", {"dry_run": True}, format="json")
    assert_error(response, 415, None)
    assert written() == before
