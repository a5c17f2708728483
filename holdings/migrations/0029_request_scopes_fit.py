"""An Idempotency-Key's scope holds what it names: a loan's or an asset's code and the
event's kind came to more than 32 characters, and every write sent with a key failed. A
longer varchar is a change of the catalog only: no row is rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("holdings", "0028_documents_kept_by_the_database")]

    operations = [
        migrations.AlterField(
            model_name="requestkey", name="scope", field=models.CharField(max_length=100)
        ),
    ]
