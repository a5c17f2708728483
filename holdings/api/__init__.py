"""The REST API of the miner's world, served under the ledger's `api/v1/` prefix."""
