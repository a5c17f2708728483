"""API tokens, each user's own (django-rest-knox): log in with a password for a token, rotate
it, log it out, or log out every token of one's own. A token is shown once, as it is created;
the database keeps only its digest. Tokens expire API_TOKEN_TTL_HOURS after their creation and
are revoked when their user's password changes or the user is deactivated (ledger.tokens)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import get_token_model
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from ledger.api.authentication import PasswordAuthentication, StrictTokenAuthentication
from ledger.api.serializers import ErrorSerializer
from ledger.api.views import LedgerView


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The token, shown this once: `Token <token>`.")
    expiry = serializers.DateTimeField(help_text="When it stops being accepted (UTC).")


def issue_token(user: Any) -> tuple[Any, str]:
    """A new token of `user`: (its row, the token itself, which is not stored)."""
    return get_token_model().objects.create(user=user)  # type: ignore[no-any-return]


def _issued(instance: Any, token: str) -> Response:
    return Response(
        IssuedTokenSerializer({"token": token, "expiry": instance.expiry}).data,
        status=status.HTTP_201_CREATED,
    )


ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated, or refused."),
    429: OpenApiResponse(
        ErrorSerializer,
        description="Too many refused attempts from this address, or this user and address "
        "are locked out after too many failed logins (wait for the cool-off).",
    ),
}


class TokenView(LedgerView):
    """Any active user's, whatever their role."""

    authentication_classes = [StrictTokenAuthentication]
    permission_classes = [IsAuthenticated]
    serializer_class = IssuedTokenSerializer


@extend_schema(tags=["tokens"])
class TokenLogin(TokenView):
    authentication_classes = [PasswordAuthentication, SessionAuthentication]

    @extend_schema(
        summary="A new token for the user who logs in (HTTP Basic, or the admin's session)",
        request=None,
        responses={201: IssuedTokenSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        instance, token = issue_token(request.user)
        user_logged_in.send(sender=request.user.__class__, request=request, user=request.user)
        return _issued(instance, token)


@extend_schema(tags=["tokens"])
class TokenRotate(TokenView):
    @extend_schema(
        summary="Replace the token the request carries by a new one",
        request=None,
        responses={201: IssuedTokenSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        instance, token = issue_token(request.user)
        request.auth.delete()  # type: ignore[union-attr]
        return _issued(instance, token)


@extend_schema(tags=["tokens"])
class TokenLogout(TokenView):
    @extend_schema(
        summary="Revoke the token the request carries",
        request=None,
        responses={204: None, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        request.auth.delete()  # type: ignore[union-attr]
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["tokens"])
class TokenLogoutAll(TokenView):
    @extend_schema(
        summary="Revoke every token of the request's user",
        request=None,
        responses={204: None, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        get_token_model().objects.filter(user=request.user).delete()
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("login/", TokenLogin.as_view(), name="token-login"),
    path("rotate/", TokenRotate.as_view(), name="token-rotate"),
    path("logout/", TokenLogout.as_view(), name="token-logout"),
    path("logoutall/", TokenLogoutAll.as_view(), name="token-logout-all"),
]
