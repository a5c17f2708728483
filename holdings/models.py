"""The miner's world (sites, pools, wallets, lots) posts through ledger.services."""
