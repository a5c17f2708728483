"""The whole set-up from one file, YAML (or JSON) or CSV: sites, pools, wallets with their
addresses, and pool accounts. All or nothing: the first problem is refused naming the file,
the row (CSV) or the path (YAML) and the field, and nothing is written. A dry run does
everything, reports what it would create, and rolls it back.

YAML: top-level lists `sites`, `pools`, `pool_accounts` and `wallets`; a wallet lists its
`addresses` (each a string, or a mapping with `address` and `label`).

CSV: one row per object, its `kind` (site, pool, pool_account, wallet or address) in a
`kind` column, then the object's fields by name; a column a kind does not use stays empty.
An address row names its `wallet` (set up earlier in the file or already).

A code already set up is left as it is and reported as existing; a code listed twice in the
file is refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import transaction

from holdings.errors import InvalidSetup
from holdings.models import Pool, PoolAccount, Site, Wallet, WalletAddress
from holdings.services import setup
from ledger.errors import LedgerError
from ledger.text import text_problem

MAX_FILE_BYTES = 2 * 1024 * 1024
KINDS = ("site", "pool", "wallet", "address", "pool_account")
SECTIONS = {"sites": "site", "pools": "pool", "wallets": "wallet", "pool_accounts": "pool_account"}
# Every field of a kind, and the ones it cannot do without.
FIELDS: dict[str, tuple[str, ...]] = {
    "site": ("code", "name", "region", "deployed_hashrate_hs", "commodity"),
    "pool": ("code", "name", "kind", "api_base_url"),
    "wallet": ("code", "name", "commodity", "parent_account", "custodian"),
    "address": ("wallet", "address", "label"),
    "pool_account": (
        "code",
        "pool",
        "name",
        "commodity",
        "source",
        "site",
        "api_user",
        "api_key_env",
        "api_secret_env",
        "fetch_daily",
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "site": ("code", "name", "region", "deployed_hashrate_hs"),
    "pool": ("code", "name", "kind"),
    "wallet": ("code", "name"),
    "address": ("wallet", "address"),
    "pool_account": ("code", "pool", "name"),
}
PLURAL = {"site": "sites", "pool": "pools", "wallet": "wallets", "address": "addresses"}
PLURAL["pool_account"] = "pool_accounts"
MODELS: dict[str, Any] = {"site": Site, "pool": Pool, "wallet": Wallet, "pool_account": PoolAccount}


@dataclass
class Item:
    kind: str
    where: str  # "row 4" or "wallets[1].addresses[0]"
    values: dict[str, Any]


@dataclass
class SetupReport:
    file_name: str
    dry_run: bool
    created: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PLURAL.values()})
    existing: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PLURAL.values()})

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file_name,
            "dry_run": self.dry_run,
            "created": self.created,
            "existing": self.existing,
        }

    def summary(self) -> str:
        made = ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in self.created.items() if v)
        kept = sum(len(v) for v in self.existing.values())
        verb = "would create" if self.dry_run else "created"
        return f"{self.file_name}: {verb} {made or 'nothing'}; {kept} already set up"


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases (a small file cannot expand into a huge one)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def setup_file_parse(*, name: str, content: bytes) -> list[Item]:
    """The objects a set-up file lists, in the order they are created (sites, pools,
    wallets and addresses, pool accounts), or InvalidSetup naming where the file is wrong."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidSetup(f"{name}: larger than {MAX_FILE_BYTES} bytes", field="file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSetup(f"{name}: not UTF-8 text", field="file") from None
    if not text.strip():
        raise InvalidSetup(f"{name}: the file is empty", field="file")
    items = _csv_items(name, text) if name.lower().endswith(".csv") else _yaml_items(name, text)
    if not items:
        raise InvalidSetup(f"{name}: nothing to set up", field="file")
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(items, key=lambda item: order[item.kind])


def setup_file_load(*, name: str, content: bytes, dry_run: bool = False) -> SetupReport:
    """Create what the file lists, all or nothing; with `dry_run`, the same work rolled back."""
    items = setup_file_parse(name=name, content=content)
    report = SetupReport(file_name=name, dry_run=dry_run)
    with transaction.atomic():
        for item in items:
            try:
                _create(item, report)
            except LedgerError as exc:
                raise InvalidSetup(
                    f"{name}, {item.where}, field {exc.field or '?'}: {exc.message}",
                    field=exc.field,
                ) from exc
        if dry_run:
            transaction.set_rollback(True)
    return report


# --- reading -----------------------------------------------------------------------------


def _yaml_items(name: str, text: str) -> list[Item]:
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader, without aliases
    except yaml.YAMLError as exc:
        raise InvalidSetup(f"{name}: not valid YAML: {exc}", field="file") from None
    except RecursionError:
        raise InvalidSetup(f"{name}: not valid YAML: nested too deeply", field="file") from None
    if not isinstance(data, Mapping):
        raise InvalidSetup(
            f"{name}: the file must be a mapping of {', '.join(SECTIONS)}", field="file"
        )
    unknown = sorted(str(key) for key in data if key not in SECTIONS)
    if unknown:
        raise InvalidSetup(
            f"{name}: unknown section {unknown[0]!r} (known: {', '.join(SECTIONS)})",
            field=unknown[0],
        )
    items: list[Item] = []
    for section, kind in SECTIONS.items():
        rows = data.get(section) or []
        if not isinstance(rows, list):
            raise InvalidSetup(f"{name}, {section}: must be a list", field=section)
        for n, row in enumerate(rows):
            where = f"{section}[{n}]"
            if not isinstance(row, Mapping):
                raise InvalidSetup(f"{name}, {where}: must be a mapping", field=section)
            row = dict(row)
            addresses = row.pop("addresses", None) if kind == "wallet" else None
            items.append(Item(kind, where, _values(name, where, kind, row)))
            for m, address in enumerate(_list(name, where, addresses)):
                at = f"{where}.addresses[{m}]"
                if isinstance(address, str):
                    address = {"address": address}
                if not isinstance(address, Mapping):
                    raise InvalidSetup(
                        f"{name}, {at}: an address or a mapping with address and label",
                        field="address",
                    )
                values = {"wallet": row.get("code"), **address}
                items.append(Item("address", at, _values(name, at, "address", values)))
    return items


def _list(name: str, where: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidSetup(f"{name}, {where}, field addresses: must be a list", field="addresses")
    return value


def _csv_items(name: str, text: str) -> list[Item]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    known = {"kind", *(f for fields in FIELDS.values() for f in fields)}
    unknown = [column for column in header if column not in known]
    if "kind" not in header:
        raise InvalidSetup(f"{name}, row 1: no kind column", field="kind")
    if unknown:
        raise InvalidSetup(f"{name}, row 1: unknown column {unknown[0]!r}", field=unknown[0])
    items = []
    try:
        for row in reader:
            where = f"row {reader.line_num}"
            if None in row:
                raise InvalidSetup(f"{name}, {where}: more cells than columns", field="kind")
            kind = (row.pop("kind") or "").strip()
            if not kind and not any((v or "").strip() for v in row.values()):
                continue
            if kind not in FIELDS:
                raise InvalidSetup(
                    f"{name}, {where}, field kind: {kind!r} is not one of {', '.join(KINDS)}",
                    field="kind",
                )
            misplaced = [c for c, v in row.items() if (v or "").strip() and c not in FIELDS[kind]]
            if misplaced:
                raise InvalidSetup(
                    f"{name}, {where}, field {misplaced[0]}: a {kind} has no {misplaced[0]}",
                    field=misplaced[0],
                )
            values = {c: v.strip() for c, v in row.items() if (v or "").strip()}
            items.append(Item(kind, where, _values(name, where, kind, values)))
    except csv.Error as exc:
        raise InvalidSetup(f"{name}, row {reader.line_num}: {exc}", field="file") from None
    return items


def _values(name: str, where: str, kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in row.items():
        if key not in FIELDS[kind]:
            raise InvalidSetup(f"{name}, {where}: a {kind} has no field {key!r}", field=str(key))
        values[key] = _plain(name, where, key, value)
    missing = [f for f in REQUIRED[kind] if values.get(f) in (None, "")]
    if missing:
        raise InvalidSetup(f"{name}, {where}, field {missing[0]}: missing", field=missing[0])
    return values


def _plain(name: str, where: str, key: str, value: Any) -> Any:
    """Text as text (a whole number written bare, like a chart account, as its digits);
    `fetch_daily` as true or false."""
    if key == "fetch_daily":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise InvalidSetup(f"{name}, {where}, field {key}: true or false", field=key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InvalidSetup(
            f"{name}, {where}, field {key}: must be text, not {type(value).__name__}", field=key
        )
    # Refused here, naming the row, before any look-up of it (PostgreSQL takes no NUL).
    problem = text_problem(value.strip(), multiline=False)
    if problem is not None:
        raise InvalidSetup(f"{name}, {where}, field {key}: {problem}", field=key)
    return value.strip()


# --- writing -----------------------------------------------------------------------------


def _create(item: Item, report: SetupReport) -> None:
    values = dict(item.values)
    plural = PLURAL[item.kind]
    if item.kind == "address":
        wallet = Wallet.objects.filter(code=values["wallet"]).first()
        if wallet is None:
            raise InvalidSetup(f"unknown wallet {values['wallet']!r}", field="wallet")
        address = WalletAddress.objects.filter(wallet=wallet, address=values["address"])
        if address.exists():
            report.existing[plural].append(values["address"])
            return
        added = setup.wallet_address_add(
            wallet=wallet, address=values["address"], label=values.get("label") or ""
        )
        report.created[plural].append(added.address)
        return
    code = values["code"]
    listed = report.created[plural] + report.existing[plural]
    if code in listed:
        raise InvalidSetup(f"{item.kind.replace('_', ' ')} {code} is listed twice", field="code")
    if MODELS[item.kind].objects.filter(code=code).exists():
        report.existing[plural].append(code)
        return
    CREATE[item.kind](**{k: v for k, v in values.items() if v is not None})
    report.created[plural].append(code)


CREATE: dict[str, Callable[..., Any]] = {
    "site": setup.site_create,
    "pool": setup.pool_create,
    "wallet": setup.wallet_create,
    "pool_account": setup.pool_account_create,
}
