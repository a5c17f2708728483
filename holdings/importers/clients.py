"""What the pools' and price sources' HTTP clients share: credentials, the error a refused or
unreachable API raises, JSON over HTTP with bounded pages and timeouts, and nonces.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from holdings.importers.common import decode_json, jsonable, provider_message

DEFAULT_TIMEOUT = 30.0


# A pool that keeps answering "there is more" is broken; stop rather than loop forever.
MAX_PAGES = 1000


@dataclass(frozen=True)
class Credentials:
    """What a pool's API needs to know who asks. Secrets stay out of repr and logs."""

    api_user: str = ""
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)


class PoolApiError(RuntimeError):
    """A pool or price API that failed to answer, or answered something unusable."""

    def __init__(self, pool: str, path: str, message: str, *, status: int | None = None):
        where = f"{pool} API {path}"
        if status is not None:
            where += f" (HTTP {status})"
        super().__init__(f"{where}: {message}")
        self.pool = pool
        self.path = path
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ApiResponse:
    body: bytes  # as received, for the saved document
    data: Any  # the same body decoded with `decode_json`


class JsonApi:
    """A provider's HTTP API that answers JSON; every failure becomes PoolApiError."""

    def __init__(
        self,
        *,
        pool: str,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> ApiResponse:
        """One request; `url` replaces base_url + path (a provider's own next-page link)."""
        try:
            response = self.session.request(
                method,
                url or self.base_url + path,
                params=params,
                json=json_body,
                data=form,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # The exception text can carry the query string (API keys): name the kind only.
            host = urlsplit(url or self.base_url).netloc
            raise PoolApiError(
                self.pool, path, f"no answer from {host} ({type(exc).__name__})"
            ) from exc
        try:
            data = decode_json(response.content)
        except (ValueError, RecursionError):
            data = None
            decoded = False
        else:
            decoded = True
        if response.status_code >= 400:
            detail = provider_message(data) or _snippet(response.text)
            raise PoolApiError(
                self.pool,
                path,
                detail or response.reason or "no detail",
                status=response.status_code,
            )
        if not decoded:
            raise PoolApiError(
                self.pool,
                path,
                f"answered with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')}): "
                f"{_snippet(response.text)!r}",
                status=response.status_code,
            )
        return ApiResponse(body=response.content, data=data)


def key_header(header: str, key: str, *, missing: str) -> dict[str, str]:
    """The request header that carries an API key. A blank key is refused (ValueError with
    `missing`) when the client is made, rather than by the pool on the first request."""
    if not key:
        raise ValueError(missing)
    return {header: key}


def coded_data(data: Any, *, pool: str, path: str) -> Any:
    """The `data` of a `{"code": 0, "data": ...}` answer; any other answer is PoolApiError
    with the provider's code and message."""
    if not isinstance(data, dict) or data.get("code") != 0:
        code = jsonable(data.get("code")) if isinstance(data, dict) else None
        message = provider_message(data) or "no message"
        raise PoolApiError(pool, path, f"error answer (code {code}): {message}")
    return data.get("data")


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class NonceClock:
    """Millisecond nonces that never repeat or go back, as signed APIs require."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        self._last = max(time.time_ns() // 1_000_000, self._last + 1)
        return str(self._last)
