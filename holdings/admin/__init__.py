"""The admin of the miner's world, for finance staff's daily work.

Roles as in the ledger's admin (ledger.admin.RoleAdmin): every role reads; finance staff and
approvers keep the set-up (sites, pools, pool accounts, wallets), upload pool files and
prices, and import failed batches again; auditors read and write nothing. What the pools and
the price sources sent, and what importing it did, is evidence: shown, never added, changed
or deleted here.

Every write of consequence goes through holdings.services: a pool account or wallet is
created with its ledger account, an address is added by the service that refuses one already
owned, a pool file becomes a batch that the Celery task `holdings.import_batch` imports once
the batch is committed.

One module per domain, as in holdings.services and holdings.selectors; their forms are in
holdings.admin.forms. Django's autodiscovery imports this package, which registers each
domain's pages in this order. The admin site itself, whose index is the treasury dashboard
(holdings.admin.dashboard), is holdings.admin_site: Django creates it before it imports any
admin module, so it stays outside this package.
"""

# isort: off
# The order the pages have always been registered in.
from holdings.admin import (  # noqa: F401 (each registers its pages)
    setup,
    prices,
    production,
    lots,
    fair_value,
    treasury,
    loans,
    reconciliation,
    schedule,
    costs,
    fixed_assets,
)
# isort: on
