from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ledger import audit


class StrictTokenAuthentication(TokenAuthentication):
    """Tokens are 40 hex characters; anything else is refused before it reaches the database.

    The token's user is the request's actor in the audit log from here on (the middleware
    knows only the session's user)."""

    def authenticate_credentials(self, key: str) -> Any:
        if len(key) != 40 or any(c not in "0123456789abcdef" for c in key):
            raise AuthenticationFailed("Invalid token.")
        user, token = super().authenticate_credentials(key)
        audit.acting_user(user)
        return user, token
