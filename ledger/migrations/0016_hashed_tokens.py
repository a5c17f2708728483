"""API tokens are django-rest-knox's, stored as digests: their table is audited with the
token's digest and key prefix redacted, and every DRF token (stored in clear) becomes a knox
token with the same secret, hashed, expiring API_TOKEN_TTL_HOURS after this migration; the
clear ones are deleted. Not reversible: the clear keys are gone."""

from django.db import migrations
from django.utils import timezone


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    Token = apps.get_model("authtoken", "Token")
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    AuthToken.objects.bulk_create(
        AuthToken(
            digest=hash_token(token.key),
            token_key=token.key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=token.user_id,
            expiry=expiry,
        )
        for token in Token.objects.all()
    )
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0015_manual_journal_kinds"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunSQL(
            "SELECT ledger_audit_attach('knox_authtoken', 'user_id', '{digest,token_key}')",
            "SELECT ledger_audit_detach('knox_authtoken')",
        ),
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
    ]
