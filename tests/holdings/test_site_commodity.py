"""A site mines one coin: set up with it through the service, the API, a set-up file and
the admin (BTC when none is said), shown with its hashrate in that coin's unit, and counted
in that coin's deployed hashrate alone. A pool account at a site mines the site's coin; the
demonstration's Kaspa site mines KAS; a site set up before sites had a coin takes the coin
its pool accounts all mine."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from holdings.errors import InvalidSetup
from holdings.models import PoolAccount, Site
from holdings.selectors.production import deployed_hashrate_hs
from holdings.services import setup
from holdings.services.setup_file import setup_file_load
from tests.holdings.admin.test_reports import as_role, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]
KAS_SITE = {
    "code": "US-TX-06",
    "name": "Pecos, Texas (Kaspa)",
    "region": "North America",
    "deployed_hashrate_hs": "120000000000000000",
    "commodity": "KAS",
}


def test_a_kas_site_through_the_api_shows_its_hashrate_in_th_per_second(world, api_client_for):
    client = api_client_for("staff")
    response = client.post(f"{API}/sites/", KAS_SITE, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["commodity"], created["hashrate_unit"], created["deployed_hashrate"]) == (
        "KAS",
        "TH/s",
        "120000.00",
    )
    assert Site.objects.get(code="US-TX-06").commodity_id == "KAS"
    listed = client.get(f"{API}/sites/", {"commodity": "KAS"}).json()["results"]
    assert [site["code"] for site in listed] == ["US-TX-06"]
    btc = client.get(f"{API}/sites/", {"commodity": "BTC"}).json()["results"]
    assert [(s["code"], s["hashrate_unit"], s["deployed_hashrate"]) for s in btc] == [
        ("US-TX-01", "EH/s", "1.50")
    ]


@pytest.mark.parametrize(
    ("commodity", "message"),
    [
        ("USD", "a site mines one of BTC, KAS, ETC, not 'USD'"),
        ("USDT", "a site mines one of BTC, KAS, ETC, not 'USDT'"),
        ("NOPE", "a site mines one of BTC, KAS, ETC, not 'NOPE'"),
    ],
)
def test_a_site_of_a_coin_that_is_not_mined_is_refused(world, api_client_for, commodity, message):
    response = api_client_for("staff").post(
        f"{API}/sites/", {**KAS_SITE, "commodity": commodity}, format="json"
    )
    assert response.status_code == 400
    assert (response.json()["field"], response.json()["detail"]) == ("commodity", message)
    assert not Site.objects.filter(code="US-TX-06").exists()


def test_a_pool_account_at_a_site_mines_the_sites_coin(world, api_client_for):
    setup.site_create(**KAS_SITE)
    body = {"code": "F2P-K", "pool": "f2pool", "name": "k", "site": "US-TX-06"}
    response = api_client_for("staff").post(f"{API}/pool-accounts/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "site"
    assert response.json()["detail"] == (
        "site US-TX-06 mines KAS, not BTC: a pool account at it mines the site's coin"
    )
    assert not PoolAccount.objects.filter(code="F2P-K").exists()
    kas = setup.pool_account_create(
        code="F2P-K", pool="f2pool", name="k", commodity="KAS", site="US-TX-06"
    )
    assert kas.site.code == "US-TX-06"


def test_deployed_hashrate_counts_the_sites_of_the_coin_by_their_own_coin(world):
    """A Kaspa site with no pool account yet is Kaspa's hashrate, not Bitcoin's."""
    setup.site_create(**KAS_SITE)
    assert deployed_hashrate_hs("KAS") == Decimal("120000000000000000")
    assert deployed_hashrate_hs("BTC") == Decimal("1500000000000000000")  # the world's site
    assert deployed_hashrate_hs("ETC") == 0


def test_a_set_up_file_names_the_sites_coin_in_yaml_and_csv(chart):
    yaml_file = (
        b"sites:\n"
        b"  - {code: US-TX-06, name: Pecos, region: North America,"
        b" deployed_hashrate_hs: '120000000000000000', commodity: KAS}\n"
        b"  - {code: US-GA-01, name: Dalton, region: North America,"
        b" deployed_hashrate_hs: '3040000000000000000'}\n"
    )
    setup_file_load(name="setup.yaml", content=yaml_file)
    csv_file = (
        b"kind,code,name,region,deployed_hashrate_hs,commodity\n"
        b"site,US-WA-01,Moses Lake,North America,4500000000000,ETC\n"
    )
    setup_file_load(name="setup.csv", content=csv_file)
    assert dict(Site.objects.values_list("code", "commodity_id")) == {
        "US-TX-06": "KAS",
        "US-GA-01": "BTC",
        "US-WA-01": "ETC",
    }
    with pytest.raises(InvalidSetup, match="a site mines one of BTC, KAS, ETC, not 'USD'"):
        setup_file_load(
            name="bad.csv",
            content=b"kind,code,name,region,deployed_hashrate_hs,commodity\n"
            b"site,US-XX-01,X,North America,1,USD\n",
        )
    assert not Site.objects.filter(code="US-XX-01").exists()


def test_the_demo_kaspa_site_mines_kas(chart):
    setup.pool_create(code="f2pool", name="F2Pool", kind="f2pool")
    content = (ROOT / "fixtures/demo/kas/setup.json").read_text()
    setup.setup_load(data=json.loads(content))
    site = Site.objects.get(code="US-TX-06")
    assert site.commodity_id == "KAS"
    assert deployed_hashrate_hs("KAS") == site.deployed_hashrate_hs


def test_the_admin_adds_a_kas_site_and_lists_each_site_in_its_coins_unit(world, as_role):  # noqa: F811
    client = as_role("staff")
    form = client.get(reverse("admin:holdings_site_add")).content.decode()
    offered = form[form.index('name="commodity"') :]
    offered = offered[: offered.index("</select>")]
    assert [c for c in ("BTC", "ETC", "KAS", "USD", "USDT") if f'value="{c}"' in offered] == [
        "BTC",
        "ETC",
        "KAS",
    ]
    response = client.post(
        reverse("admin:holdings_site_add"),
        {**KAS_SITE, "commodity": "KAS"},
    )
    assert response.status_code == 302, response.content[:2000]
    site = Site.objects.get(code="US-TX-06")
    assert site.commodity_id == "KAS"
    page = client.get(reverse("admin:holdings_site_changelist")).content.decode()
    assert "120,000.00 TH/s" in page and "1.50 EH/s" in page
    # The coin is set with the site: its pool accounts mine it.
    change = client.get(reverse("admin:holdings_site_change", args=[site.pk])).content.decode()
    assert 'name="commodity"' not in change


def test_a_site_set_up_before_sites_had_a_coin_takes_its_pool_accounts_coin(world):
    """The migration's rule, run again on sites said to mine BTC: a site whose pool
    accounts all mine KAS mines KAS; one with pool accounts of BTC, or none, stays BTC."""
    kas = setup.site_create(**KAS_SITE)
    setup.pool_account_create(code="F2P-K", pool="f2pool", name="k", commodity="KAS", site=kas)
    setup.site_create(code="US-GA-01", name="Dalton", region="NA", deployed_hashrate_hs="1")
    Site.objects.update(commodity_id="BTC")
    sql = (ROOT / "holdings/migrations/0019_site_commodity.sql").read_text()
    with connection.cursor() as cursor:
        cursor.execute(sql)
    assert dict(Site.objects.values_list("code", "commodity_id")) == {
        "US-TX-01": "BTC",
        "US-TX-06": "KAS",
        "US-GA-01": "BTC",
    }
