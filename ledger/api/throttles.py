"""API request rates (DRF throttling): per address for anonymous requests, per user else.

The rates are read at each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (settings
API_THROTTLE_ANON and API_THROTTLE_USER); a rate of None turns that throttle off. A request
whose token or password is refused counts against its address's anonymous rate
(`count_refused`), so guessing tokens is throttled like any anonymous request."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _CurrentRates(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope or "")
        return None if rate is None else str(rate)


class AnonymousThrottle(_CurrentRates, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_CurrentRates, UserRateThrottle):
    scope = "user"


class RefusedCredentialsThrottle(_CurrentRates):
    """The anonymous rate's count for the request's address, without asking who the user is
    (it runs while the request is being authenticated)."""

    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def count_refused(request: Any) -> None:
    """Count a refused credential against the address; past the rate, answer 429."""
    throttle = RefusedCredentialsThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        raise Throttled(wait=throttle.wait())
