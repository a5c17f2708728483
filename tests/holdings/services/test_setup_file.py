"""The whole set-up from one file: a good YAML or CSV file creates everything; a bad row is
refused naming the file, the row (or path) and the field, with nothing written; a dry run
reports what it would create and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from holdings.errors import InvalidSetup
from holdings.models import Pool, PoolAccount, Site, Wallet, WalletAddress
from holdings.services.setup_file import setup_file_load
from ledger.models import Account

A1 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
A2 = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"

YAML = f"""
sites:
  - code: US-ND-01
    name: Williston, North Dakota
    region: North America
    deployed_hashrate_hs: "1200000000000000000"
pools:
  - code: antpool
    name: AntPool
    kind: antpool
    api_base_url: https://antpool.com
wallets:
  - code: COLD-9
    name: Cold nine
    parent_account: 1210
    custodian: Anchor
    addresses:
      - {A1}
      - address: {A2}
        label: old
pool_accounts:
  - code: ANT-A
    pool: antpool
    name: cango-ant
    site: US-ND-01
    fetch_daily: false
""".encode()

CSV = (
    "kind,code,name,region,deployed_hashrate_hs,pool,site,parent_account,wallet,address,label\n"
    "site,US-ND-01,Williston,North America,1200000000000000000,,,,,,\n"
    "pool_account,ANT-A,cango-ant,,,f2pool,US-ND-01,,,,\n"
    "wallet,COLD-9,Cold nine,,,,,1210,,,\n"
    f"address,,,,,,,,COLD-9,{A1},deposit\n"
).encode()


def counts() -> tuple[int, ...]:
    return (
        Site.objects.count(),
        Pool.objects.count(),
        PoolAccount.objects.count(),
        Wallet.objects.count(),
        WalletAddress.objects.count(),
        Account.objects.count(),
    )


def test_a_yaml_file_creates_everything(chart):
    report = setup_file_load(name="setup.yaml", content=YAML)
    assert report.created == {
        "sites": ["US-ND-01"],
        "pools": ["antpool"],
        "wallets": ["COLD-9"],
        "addresses": [A1, A2],
        "pool_accounts": ["ANT-A"],
    }
    account = PoolAccount.objects.get(code="ANT-A")
    assert account.site.code == "US-ND-01" and account.pool.code == "antpool"
    wallet = Wallet.objects.get(code="COLD-9")
    assert wallet.account.code == "1210-COLD-9" and wallet.custodian == "Anchor"
    assert WalletAddress.objects.get(address=A2).label == "old"


def test_loading_again_keeps_what_is_set_up(chart):
    setup_file_load(name="setup.yaml", content=YAML)
    before = counts()
    report = setup_file_load(name="setup.yaml", content=YAML)
    assert counts() == before
    assert report.existing["sites"] == ["US-ND-01"] and not any(report.created.values())


def test_a_csv_file_creates_everything(world):
    report = setup_file_load(name="setup.csv", content=CSV)
    assert report.created["pool_accounts"] == ["ANT-A"]
    assert WalletAddress.objects.get(address=A1).wallet.code == "COLD-9"
    assert Site.objects.get(code="US-ND-01").deployed_hashrate_hs == 1200000000000000000


def test_the_demo_set_up_loads(chart):
    content = (Path(__file__).resolve().parents[3] / "fixtures/demo/setup.json").read_bytes()
    report = setup_file_load(name="setup.json", content=content, dry_run=True)
    assert len(report.created["sites"]) > 10
    assert Site.objects.count() == 0


def test_a_dry_run_reports_and_writes_nothing(chart):
    before = counts()
    report = setup_file_load(name="setup.yaml", content=YAML, dry_run=True)
    assert report.dry_run and report.created["wallets"] == ["COLD-9"]
    assert "would create 1 sites" in report.summary()
    assert counts() == before


@pytest.mark.parametrize(
    ("content", "name", "message", "field"),
    [
        (YAML.replace(b"kind: antpool", b"kind: nope"), "s.yaml", "pools[0], field kind", "kind"),
        (
            YAML.replace(b"      - " + A1.encode(), b"      - bc1qbroken"),
            "s.yaml",
            "wallets[0].addresses[0], field address",
            "address",
        ),
        (YAML.replace(b"site: US-ND-01", b"site: NOPE"), "s.yaml", "pool_accounts[0]", "site"),
        (YAML.replace(b"custodian:", b"colour:"), "s.yaml", "wallets[0]", "colour"),
        (YAML.replace(b"pools:", b"poolz:"), "s.yaml", "unknown section", "poolz"),
        (
            YAML.replace(b'"1200000000000000000"', b"-5"),
            "s.yaml",
            "sites[0], field deployed_hashrate_hs",
            "deployed_hashrate_hs",
        ),
        (b"sites: [a, b", "s.yaml", "not valid YAML", "file"),
        (b"sites: &x [1]\npools: *x\n", "s.yaml", "aliases", "file"),
        (
            CSV.replace(b"pool_account,ANT-A", b"pool_acct,ANT-A"),
            "s.csv",
            "row 3, field kind",
            "kind",
        ),
        (CSV.replace(b"f2pool,US-ND-01", b"nopool,US-ND-01"), "s.csv", "row 3, field pool", "pool"),
        (CSV.replace(b"Cold nine,,,", b"Cold nine,EU,,"), "s.csv", "row 4, field region", "region"),
        (CSV.replace(b",label\n", b",colour\n"), "s.csv", "unknown column 'colour'", "colour"),
        (CSV + b"site,US-ND-01,Again,North America,1,,,,,,\n", "s.csv", "row 6", "code"),
        (b"\xff\xfe", "s.csv", "not UTF-8", "file"),
        (b"", "s.yaml", "empty", "file"),
        (b"[" * 100_000, "s.yaml", "not valid YAML", "file"),
        (b"sites: [{code: X, name: 2020-01-01}]", "s.yaml", "sites[0], field name", "name"),
        # NUL reaches no look-up: refused naming its row and field, with the character.
        (
            YAML.replace(b"site: US-ND-01", b'site: "US\\0ND"'),
            "s.yaml",
            "pool_accounts[0], field site: contains U+0000",
            "site",
        ),
        (CSV.replace(b"f2pool,US-ND-01", b"f2\x00pool,US-ND-01"), "s.csv", "U+0000", "pool"),
    ],
)
def test_a_bad_file_is_refused_naming_where_and_writes_nothing(
    world, content, name, message, field
):
    before = counts()
    with pytest.raises(InvalidSetup) as refused:
        setup_file_load(name=name, content=content)
    assert refused.value.message.startswith(name), refused.value.message
    assert message in refused.value.message, refused.value.message
    assert refused.value.field == field
    assert counts() == before


def test_the_command_loads_and_dry_runs(chart, tmp_path, capsys):
    path = tmp_path / "setup.yaml"
    path.write_bytes(YAML)
    call_command("load_setup", str(path), "--dry-run")
    assert "would create" in capsys.readouterr().out and Site.objects.count() == 0
    call_command("load_setup", str(path))
    assert "created" in capsys.readouterr().out and Site.objects.count() == 1
    path.write_bytes(b"pools:\n  - {code: viabtc, name: ViaBTC, kind: nope}\n")
    with pytest.raises(CommandError, match="pools\\[0\\], field kind"):
        call_command("load_setup", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_setup", str(tmp_path / "missing.yaml"))
