"""What the holdings API reads and writes, one module per domain: set-up, prices, lots,
production, the treasury, loans, reports, reconciliation, and the documents' cancellations.
What they all write the same way (decimals, codes, the schema of each) is in `common`.
"""
