"""Forms of the holdings admin, one module per domain.

As in the ledger's admin (ledger.forms), the rules stay in the services: a form that creates
something asks the service whether it would accept the input, in a savepoint that is always
rolled back, so the admin shows the service's own message on the form; the admin's
save_model then calls the service for real.
"""
