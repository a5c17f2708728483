from django.db import migrations

TABLES = ("holdings_sale", "holdings_transfer", "holdings_disposal")


def statements():
    for table in TABLES:
        yield (
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable()"
        )
        yield (
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable()"
        )


class Migration(migrations.Migration):
    """Sales, transfers and disposals are evidence too: added, never changed or removed."""

    dependencies = [("holdings", "0004_sales_and_transfers")]

    operations = [migrations.RunSQL(list(statements()))]
