"""Accounts and commodities: created and changed with the ledger's checks, and a chart of
accounts loaded all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction

from ledger.errors import InvalidAccount, InvalidCommodity, LedgerError
from ledger.models import Account, AccountType, Commodity
from ledger.money import ensure_currency, format_amount
from ledger.selectors import account_first_day_below_zero
from ledger.text import text_problem, unprintable_field

# --- accounts ----------------------------------------------------------------------------


def account_create(
    *,
    code: str,
    name: str,
    type: str,
    commodity: Commodity | str,
    parent: Account | str | None = None,
    must_not_go_negative: bool = False,
) -> Account:
    if type not in AccountType.values:
        raise InvalidAccount(
            f"type must be one of {', '.join(AccountType.values)}, not {type!r}", field="type"
        )
    commodity_code = commodity.code if isinstance(commodity, Commodity) else commodity
    commodity_obj = Commodity.objects.filter(code=commodity_code).first()
    if commodity_obj is None:
        raise InvalidAccount(f"unknown commodity {commodity_code!r}", field="commodity")
    parent_obj = None
    if parent is not None:
        parent_obj = (
            parent if isinstance(parent, Account) else Account.objects.filter(code=parent).first()
        )
        if parent_obj is None:
            raise InvalidAccount(f"unknown parent account {parent!r}", field="parent")
        if parent_obj.commodity_id != commodity_obj.code or parent_obj.type != type:
            raise InvalidAccount(
                f"a child of {parent_obj.code} must be a {parent_obj.type} account in "
                f"{parent_obj.commodity_id}",
                field="parent",
            )
    account = Account(
        code=code,
        name=name,
        type=type,
        commodity=commodity_obj,
        parent=parent_obj,
        must_not_go_negative=must_not_go_negative,
    )
    _full_clean(account, InvalidAccount)
    _insert_unique(account, InvalidAccount(f"code: account {code} already exists", field="code"))
    return account


def account_update(
    *,
    account: Account,
    name: str | None = None,
    must_not_go_negative: bool | None = None,
    is_active: bool | None = None,
) -> Account:
    """Change what may change on an account. Code, type, commodity and parent are fixed.

    Flagging an account must-not-go-negative waits for postings in flight and refuses if the
    account is below zero on any day, so the flag holds from the moment it is set.
    """
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise InvalidAccount("name cannot be blank", field="name")
        changes["name"] = name.strip()
    if is_active is not None:
        changes["is_active"] = is_active
    if must_not_go_negative is not None:
        changes["must_not_go_negative"] = must_not_go_negative
    with transaction.atomic():
        if must_not_go_negative and not account.must_not_go_negative:
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE ledger_journalentry IN SHARE ROW EXCLUSIVE MODE")
            dip = account_first_day_below_zero(account=account)
            if dip is not None:
                day, running = dip
                raise InvalidAccount(
                    f"account {account.code} is below zero on {day} "
                    f"({format_amount(running, account.commodity.decimal_places)} "
                    f"{account.commodity_id}); it cannot be flagged must-not-go-negative",
                    field="must_not_go_negative",
                )
        locked = Account.objects.select_for_update().get(pk=account.pk)
        for field_name, value in changes.items():
            setattr(locked, field_name, value)
            setattr(account, field_name, value)
        if changes:
            locked.save(update_fields=list(changes))
    return account


def commodity_create(
    *, code: str, name: str, decimal_places: int, kind: str, measurement_policy: str
) -> Commodity:
    commodity = Commodity(
        code=code,
        name=name,
        decimal_places=decimal_places,
        kind=kind,
        measurement_policy=measurement_policy,
    )
    _full_clean(commodity, InvalidCommodity)
    _insert_unique(commodity, InvalidCommodity(f"commodity {code} already exists", field="code"))
    ensure_currency(code, name)
    return commodity


def commodity_update(
    *,
    commodity: Commodity,
    name: str | None = None,
    decimal_places: int | None = None,
    kind: str | None = None,
    measurement_policy: str | None = None,
) -> Commodity:
    """A commodity's scale is fixed once an account holds it (the database refuses too)."""
    changes = {
        key: value
        for key, value in {
            "name": name,
            "decimal_places": decimal_places,
            "kind": kind,
            "measurement_policy": measurement_policy,
        }.items()
        if value is not None and value != getattr(commodity, key)
    }
    if "decimal_places" in changes and commodity.accounts.exists():
        raise InvalidCommodity(
            f"commodity {commodity.code} is held by accounts: its scale is fixed",
            field="decimal_places",
        )
    for key, value in changes.items():
        setattr(commodity, key, value)
    _full_clean(commodity, InvalidCommodity, exclude=["code"])
    if changes:
        with transaction.atomic():
            commodity.save(update_fields=list(changes))
    return commodity


def _insert_unique(instance: Any, duplicate: LedgerError) -> None:
    """Insert; a row with the same key (even one created a moment ago) is `duplicate`."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
            raise duplicate from exc
        raise


def _full_clean(instance: Any, error: type[LedgerError], exclude: list[str] | None = None) -> None:
    unprintable = unprintable_field(instance)  # names are printable text only
    if unprintable is not None:
        name, problem = unprintable
        raise error(f"{name} {problem}", field=name)
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise error(f"{field}: {' '.join(messages)}", field=field) from exc


# --- chart of accounts -------------------------------------------------------------------

CHART_COLUMNS = ("code", "name", "type", "commodity", "parent", "must_not_go_negative")


def chart_load(*, rows: Sequence[dict[str, str]], source: str = "chart") -> list[Account]:
    """Create the accounts a chart lists that do not exist yet; existing ones must agree.

    All or nothing: a bad row names its line and nothing is created.
    """
    created: list[Account] = []
    with transaction.atomic():
        for line, row in enumerate(rows, start=2):
            # A short row's missing cells come as None (csv.DictReader), a long row's extra
            # ones under None.
            missing = [column for column in CHART_COLUMNS if row.get(column) is None]
            if missing:
                raise InvalidAccount(
                    f"{source} line {line}: missing column(s) {', '.join(missing)}"
                )
            if row.get(None):  # type: ignore[call-overload]
                raise InvalidAccount(f"{source} line {line}: more cells than the header names")
            for column in CHART_COLUMNS:
                # Refused here, naming the line, before any look-up (PostgreSQL takes no NUL).
                problem = text_problem(row[column])
                if problem is not None:
                    raise InvalidAccount(f"{source} line {line}, {column}: {problem}", field=column)
            flag = (row["must_not_go_negative"] or "false").strip().lower()
            if flag not in {"true", "false"}:
                raise InvalidAccount(
                    f"{source} line {line}: must_not_go_negative must be true or false",
                    field="must_not_go_negative",
                )
            code = row["code"].strip()
            existing = Account.objects.filter(code=code).first()
            if existing is not None:
                if (
                    existing.commodity_id != row["commodity"].strip()
                    or existing.type != row["type"].strip()
                ):
                    raise InvalidAccount(
                        f"{source} line {line}: account {code} exists as a {existing.type} "
                        f"account in {existing.commodity_id}",
                        field="code",
                    )
                continue
            try:
                created.append(
                    account_create(
                        code=code,
                        name=row["name"].strip(),
                        type=row["type"].strip(),
                        commodity=row["commodity"].strip(),
                        parent=(row["parent"] or "").strip() or None,
                        must_not_go_negative=flag == "true",
                    )
                )
            except InvalidAccount as exc:
                raise InvalidAccount(
                    f"{source} line {line}: {exc.message}", field=exc.field
                ) from exc
    return created
