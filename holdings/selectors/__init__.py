"""Reads of the miner's world, one module per domain. No side effects; selectors never import
holdings.services.
"""
