"""Writes of the miner's world, one module per domain. Each function is atomic and posts through
ledger.services; services may read through holdings.selectors, never the other way round.
"""
