"""Reads of the treasury: wallets as the treasury's writes look them up. No side effects."""

from __future__ import annotations

from holdings.errors import InvalidSetup
from holdings.models import Wallet


def wallet_get(ref: Wallet | str, *, field: str = "wallet") -> Wallet:
    """The wallet `ref` names (its code), with its account and commodity; an unknown code is
    refused naming `field`."""
    if isinstance(ref, Wallet):
        return ref
    wallet = Wallet.objects.select_related("account", "commodity").filter(code=ref).first()
    if wallet is None:
        raise InvalidSetup(f"unknown wallet {ref!r}", field=field)
    return wallet
