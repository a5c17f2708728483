"""A user's API tokens are revoked when the user's password changes or the user is
deactivated, whatever changes it (the admin, `changepassword`, the ORM)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from knox.models import get_token_model

WATCHED = ("password", "is_active")


def _note_credentials_change(
    sender: Any, instance: Any, update_fields: Any = None, **_: Any
) -> None:
    instance._revoke_tokens = False
    if instance.pk is None or (update_fields is not None and not set(WATCHED) & set(update_fields)):
        return
    before = sender._base_manager.filter(pk=instance.pk).values(*WATCHED).first()
    if before is None:
        return
    instance._revoke_tokens = before["password"] != instance.password or (
        before["is_active"] and not instance.is_active
    )


def _revoke_tokens(sender: Any, instance: Any, created: bool = False, **_: Any) -> None:
    if getattr(instance, "_revoke_tokens", False):
        get_token_model().objects.filter(user=instance).delete()
        instance._revoke_tokens = False


def install() -> None:
    user_model = get_user_model()
    pre_save.connect(_note_credentials_change, sender=user_model, dispatch_uid="tokens-pre")
    post_save.connect(_revoke_tokens, sender=user_model, dispatch_uid="tokens-post")
