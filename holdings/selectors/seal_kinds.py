"""The kinds of subledger rows sealed with the journal (holdings.selectors.seals): each
one's table, the column tying a row to its entry, the columns checked otherwise than by
its hash, and the break a changed row is reported as."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subledger:
    record: str  # the row's kind, as a break names it and as its key starts
    table: str
    entry_column: str  # the entry the row is tied to
    mutable: frozenset[str]  # columns checked otherwise, not hashed
    reason: str  # the break when a row differs from what was sealed
    label: str
    # Columns added with a value every earlier row took (a NOT NULL column's default): left
    # out at that value, as a null is, so that rows sealed before the column existed stay
    # sealed.
    added_with: tuple[tuple[str, object], ...] = ()


SUBLEDGERS = (
    Subledger(
        "lot",
        "holdings_lot",
        "opened_by_entry_id",
        frozenset({"quantity", "cost", "fair_value_adjustment"}),
        "lot_altered",
        "lot",
    ),
    Subledger(
        "lot_movement",
        "holdings_lotmovement",
        "entry_id",
        frozenset(),
        "movement_altered",
        "lot movement",
    ),
    Subledger(
        "disposal", "holdings_disposal", "entry_id", frozenset(), "disposal_altered", "disposal"
    ),
    Subledger(
        "loan_event",
        "holdings_loanevent",
        "entry_id",
        frozenset(),
        "loan_event_altered",
        "loan event",
        added_with=(("attempt", 1),),  # holdings migration 0034
    ),
    Subledger(
        "site_cost", "holdings_sitecost", "entry_id", frozenset(), "site_cost_altered", "site cost"
    ),
    Subledger(
        "vendor_deposit",
        "holdings_vendordeposit",
        "entry_id",
        frozenset(),
        "vendor_deposit_altered",
        "vendor deposit",
    ),
    Subledger(
        "fixed_asset",
        "holdings_fixedasset",
        "receipt_entry_id",
        frozenset(
            {"site_id", "in_service_on", "useful_life_months", "salvage_value", "disposed_on"}
        ),
        "fixed_asset_altered",
        "fixed asset",
    ),
    Subledger(
        "asset_event",
        "holdings_assetevent",
        "entry_id",
        frozenset(),
        "asset_event_altered",
        "asset event",
    ),
    Subledger(
        "hpc_revenue",
        "holdings_hpcrevenue",
        "entry_id",
        frozenset(),
        "hpc_revenue_altered",
        "HPC revenue",
    ),
)


BY_RECORD = {subledger.record: subledger for subledger in SUBLEDGERS}


ORDER = {subledger.record: n for n, subledger in enumerate(SUBLEDGERS)}


REASONS = {
    "lot_altered": "a lot's opening fields (account, commodity, acquisition, origin, parent, "
    "original units or cost) differ from what was sealed",
    "movement_altered": "a lot movement differs from what was sealed",
    "disposal_altered": "a disposal differs from what was sealed",
    "loan_event_altered": "a loan event differs from what was sealed",
    "site_cost_altered": "a site cost (invoice or accrual) differs from what was sealed",
    "vendor_deposit_altered": "a vendor deposit differs from what was sealed",
    "fixed_asset_altered": "a fixed asset's receipt differs from what was sealed",
    "asset_event_altered": "an asset event (depreciation, impairment, disposal) differs from "
    "what was sealed",
    "hpc_revenue_altered": "a month's HPC revenue differs from what was sealed",
    "row_removed": "a sealed subledger row (lot, lot movement, disposal, loan event, site "
    "cost, vendor deposit, fixed asset, asset event, HPC revenue) is gone or no longer tied "
    "to its entry",
    "row_added": "a subledger row is tied to a sealed entry (or to no entry) but was not "
    "sealed with it",
    "seal_altered": "a seal's hashes do not follow from the seal's own columns",
    "chain_broken": "a seal's previous hash is not the hash of the seal before it",
    "entry_unsealed": "an entry inside the sealed range has no seal",
}
