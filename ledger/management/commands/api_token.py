from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import get_token_model


class Command(BaseCommand):
    help = (
        "A new API token for USER, printed once (the database keeps its digest); it expires "
        "after API_TOKEN_TTL_HOURS. --replace revokes the user's other tokens (rotation); "
        "--revoke revokes them all and creates none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--replace", action="store_true", help="revoke the user's others")
        group.add_argument("--revoke", action="store_true", help="revoke all, create none")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {options['username']!r}") from None
        if not user.is_active:
            raise CommandError(f"{user.username} is not active")
        tokens = get_token_model().objects.filter(user=user)
        if options["revoke"] or options["replace"]:
            revoked, _ = tokens.delete()
            self.stderr.write(f"revoked {revoked} token(s) of {user.username}")
            if options["revoke"]:
                return
        instance, token = get_token_model().objects.create(user=user)
        self.stderr.write(
            f"token of {user.username}, valid until {instance.expiry:%Y-%m-%d %H:%M} UTC:"
        )
        self.stdout.write(token)
