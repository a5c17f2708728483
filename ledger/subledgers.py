"""Accounts a subledger keeps: the ones a manual journal never posts to.

Some accounts must equal a subledger on every day: a wallet equals its lots, a fair value
adjustment the lots' adjustments, a loan's accounts its events, a fixed asset class's cost
and accumulated depreciation its register. Only the documents that write the subledger post
to them; a manual journal there would leave the two apart from that day on.

The ledger knows nothing of those subledgers: the application that keeps them registers a
function (`register_keeper`) that, given account ids, answers for each one it keeps why, and
which documents post there instead. A manual journal is checked against every registered
keeper when it is drafted, changed, submitted and again when it is approved (the chart, or
the loans, may have changed in between). A cancellation's reversal is not a manual journal
and is not checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

# Given account ids, the reason for each one the keeper keeps (ids it does not keep are left
# out): "account 1210-COLD-1 holds lots: its units move by ..., not by a manual journal".
Keeper = Callable[[Collection[int]], dict[int, str]]

_KEEPERS: list[Keeper] = []


def register_keeper(keeper: Keeper) -> None:
    """Add a function naming the accounts a subledger keeps (called once, when an app is
    ready; registering the same function again changes nothing)."""
    if keeper not in _KEEPERS:
        _KEEPERS.append(keeper)


def kept_accounts(account_ids: Collection[int]) -> dict[int, str]:
    """Of these accounts, those some subledger keeps, each with the first keeper's reason."""
    wanted = set(account_ids)
    kept: dict[int, str] = {}
    if not wanted:
        return kept
    for keeper in _KEEPERS:
        for account_id, reason in keeper(wanted).items():
            kept.setdefault(account_id, reason)
    return kept
