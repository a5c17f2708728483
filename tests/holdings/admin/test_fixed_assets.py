"""Fixed assets in the admin: a deposit, machines received, then placed in service, impaired
by an approver with its evidence and disposed of, each through its service; auditors read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from holdings.models import AssetEvent, FixedAsset, VendorDeposit
from holdings.services import fixed_assets, setup
from ledger import services as ledger_services
from tests.holdings.admin.test_costs import as_user, users  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


def test_machines_are_received_put_to_work_impaired_and_disposed_of(
    chart,
    users,  # noqa: F811
    client,
):
    setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")
    ledger_services.entry_post(
        effective_date=date(2024, 12, 1),
        memo="Capital",
        postings=[("1000", D("1000.00"), D("1000.00")), ("3000", D("-1000.00"), D("-1000.00"))],
    )
    as_user(client, users["auditor"])
    assert client.get(reverse("admin:holdings_fixedasset_changelist")).status_code == 200
    assert client.get(reverse("admin:holdings_fixedasset_add")).status_code == 403
    as_user(client, users["staff"])
    deposit = {"vendor": "Bitmain", "reference": "DEP-1", "amount": "1000.00"}
    response = client.post(
        reverse("admin:holdings_vendordeposit_add"), {**deposit, "paid_on": "2024-12-15"}
    )
    assert response.status_code == 302 and VendorDeposit.objects.get().amount == D("1000.00")
    receipt = {
        "code": "M-1",
        "asset_class": "ASIC",
        "units": "10",
        "cost": "36000.00",
        "received_on": "2025-01-01",
        "deposit": "DEP-1",
        "deposit_applied": "2000.00",
        "power_kw": "35",
    }
    response = client.post(reverse("admin:holdings_fixedasset_add"), receipt)
    assert response.status_code == 200 and "1000.00 left" in response.content.decode()
    response = client.post(
        reverse("admin:holdings_fixedasset_add"), {**receipt, "deposit_applied": "1000.00"}
    )
    assert response.status_code == 302
    asset = FixedAsset.objects.get()
    page = client.get(reverse("admin:holdings_fixedasset_change", args=[asset.pk]))
    event_url = reverse("admin:holdings_fixedasset_event", args=[asset.pk])
    assert event_url in page.content.decode()
    response = client.post(event_url, {"kind": "in_service", "on": "2025-01-01"})
    assert response.status_code == 200 and "required for this event" in response.content.decode()
    response = client.post(event_url, {"kind": "in_service", "on": "2025-01-01", "site": "SITE-A"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.site.code == "SITE-A" and asset.useful_life_months == 36
    fixed_assets.depreciation_run(through=date(2025, 6, 30))
    impairment = {
        "kind": "impairment",
        "on": "2025-06-30",
        "fair_value": "15000.00",
        "evidence": "broker quotes",
    }
    response = client.post(event_url, impairment)
    assert response.status_code == 200 and "finance approver" in response.content.decode()
    as_user(client, users["approver"])
    assert client.post(event_url, impairment).status_code == 302
    as_user(client, users["auditor"])
    assert client.get(event_url).status_code == 403
    as_user(client, users["staff"])
    response = client.post(event_url, {"kind": "disposal", "on": "2025-07-01", "proceeds": "1.00"})
    assert response.status_code == 302
    kinds = list(AssetEvent.objects.filter(asset=asset).values_list("kind", flat=True))
    assert kinds[0] == "in_service" and kinds[-2:] == ["impairment", "disposal"]
