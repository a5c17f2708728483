from django.db import migrations

ALL = "{insert,update,delete,truncate}"

# The miner's records whose rows change state or are business records, audited by the
# ledger's triggers (ledger/sql/audit.sql, audit_events.sql): (table, key column, redacted
# columns, omitted columns, events). A batch's file content is left out of the log (its
# SHA-256 stays in).
#
# Lots are audited from their first change on (quantity, cost, adjustment): an import opens
# one per earning, and its opening is the lot's own row (original quantity and cost, the
# entry that opened it, created_at) and that entry's log row.
#
# Not audited: production records, payouts and lot movements. They are insert-only evidence,
# immutable by trigger, each stamped created_at and tied to its import batch or journal entry
# (both audited, with their actor), and they are written by the thousand per import, where a
# log row each would cost the import more than its budget (README: The audit log).
AUDITED = [
    ("holdings_site", "id", "{}", "{}", ALL),
    ("holdings_pool", "id", "{}", "{}", ALL),
    ("holdings_poolaccount", "id", "{}", "{}", ALL),
    ("holdings_wallet", "id", "{}", "{}", ALL),
    ("holdings_walletaddress", "id", "{}", "{}", ALL),
    ("holdings_importbatch", "id", "{}", "{content}", ALL),
    ("holdings_price", "id", "{}", "{}", ALL),
    ("holdings_lot", "id", "{}", "{}", "{update,delete,truncate}"),
    ("holdings_sale", "id", "{}", "{}", ALL),
    ("holdings_transfer", "id", "{}", "{}", ALL),
    ("holdings_disposal", "id", "{}", "{}", ALL),
    ("holdings_remeasurement", "id", "{}", "{}", ALL),
    ("holdings_loan", "id", "{}", "{}", ALL),
    ("holdings_loanevent", "id", "{}", "{}", ALL),
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0007_loan_schedules"),
        ("ledger", "0008_audit_events"),
    ]

    operations = [
        migrations.RunSQL(
            [
                f"SELECT ledger_audit_attach('{table}', '{key}', '{redacted}', '{omitted}', "
                f"'{events}')"
                for table, key, redacted, omitted, events in AUDITED
            ],
            [f"SELECT ledger_audit_detach('{table}')" for table, *_ in AUDITED],
        )
    ]
