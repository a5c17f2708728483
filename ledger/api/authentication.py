from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from ledger import audit
from ledger.api.throttles import count_refused

HEX = frozenset(b"0123456789abcdef")
# Tokens issued here are 64 hex characters; 40 are those made before tokens were stored
# hashed (ledger migration 0016 kept them, as digests, until they expire).
TOKEN_LENGTHS = frozenset({40, 64})
USERNAME_LENGTH = 150  # django.contrib.auth's User.username


class StrictTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, a token stored as its digest (django-rest-knox), valid
    until it expires. Anything but lowercase hex of a token's length is refused before it
    reaches the database; every refusal counts against the address's anonymous rate.

    The token's user is the request's actor in the audit log from here on (the middleware
    knows only the session's user)."""

    def authenticate(self, request: Any) -> Any:
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            count_refused(request)
            raise

    def authenticate_credentials(self, token: bytes) -> Any:
        if len(token) not in TOKEN_LENGTHS or not set(token) <= HEX:
            raise AuthenticationFailed("Invalid token.")
        user, auth_token = super().authenticate_credentials(token)
        audit.acting_user(user)
        return user, auth_token


class PasswordAuthentication(BasicAuthentication):
    """HTTP Basic, for the token login only. Failures count per username and address
    (django-axes): past LOGIN_FAILURE_LIMIT, the pair is locked out (429) for
    LOGIN_COOLOFF_MINUTES, the right password included."""

    def authenticate_credentials(self, userid: str, password: str, request: Any = None) -> Any:
        # A name no user can have (NUL, which PostgreSQL cannot compare, or longer than a
        # username) is a wrong login before any look-up; it can never succeed, so no count.
        if "\x00" in userid or len(userid) > USERNAME_LENGTH:
            raise AuthenticationFailed("Invalid username/password.")
        try:
            user, auth = super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            if getattr(request, "axes_locked_out", False):
                raise Throttled(
                    detail="Too many failed logins for this user from this address; "
                    "try again after the cool-off."
                ) from None
            count_refused(request)
            raise
        audit.acting_user(user)
        return user, auth


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "ledger.api.authentication.StrictTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )


class PasswordScheme(OpenApiAuthenticationExtension):
    target_class = "ledger.api.authentication.PasswordAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return {"type": "http", "scheme": "basic"}
