"""Schemathesis, an independent fuzzer, against the live schema for every role.

The schema is fetched from the running application (`/api/v1/schema/`), and every
operation is called in-process through the WSGI application with generated requests, valid
and invalid: no answer may be a 5xx, and every answer must match the schema (a documented
status, its content type and body shape). Reads are tried by every role, anonymous and
without a role included; writes by the roles that may write. The suite tries 3 requests per
operation and role, so that the whole run takes a few minutes; `make fuzz` tries
FUZZ_EXAMPLES (100 by default).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

READ_ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
WRITE_ROLES = ["staff", "approver"]
SCHEMA_PATH = "/api/v1/schema/?format=json"
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "3")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Every check but these two: the API answers a value it does not know (a commodity that is not
# there) with a 400 although the schema's types allow it, and takes an empty filter (`?start=`)
# or a page size it cannot read as absent rather than refusing it.
LENIENT_CHECKS = [negative_data_rejection, positive_data_acceptance]

_django = WSGIHandler()


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Django's WSGI application, keeping the test's database connection (and transaction)
    open across requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = _django(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def role_headers(api_client_for: Any, role: str) -> dict[str, str]:
    """The headers the role's API client sends (its credentials), as HTTP header names."""
    client = api_client_for(role)
    credentials = getattr(client, "_credentials", {})
    return {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in credentials.items()
    }


def load_schema() -> Any:
    """The schema the application serves at /api/v1/schema/ (test_the_fuzzed_schema_is_served
    checks that it is this one): built when the tests are collected, as Schemathesis makes
    one test per operation, before any database or login exists to fetch it with."""
    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    loaded.app = application
    return loaded


@pytest.fixture(params=READ_ROLES)
def reader(request: Any) -> str:
    return request.param


@pytest.fixture(params=WRITE_ROLES)
def writer(request: Any) -> str:
    return request.param


schema = load_schema()


def test_the_fuzzed_schema_is_served(api_client_for: Any) -> None:
    served = api_client_for("auditor").get(SCHEMA_PATH)
    assert served.status_code == 200
    assert served.json() == schema.raw_schema


@schema.include(method="GET").parametrize()
@FUZZ_SETTINGS
def test_reads_for_every_role(case: Any, reader: str, chart: Any, api_client_for: Any) -> None:
    case.call_and_validate(
        headers=role_headers(api_client_for, reader), excluded_checks=LENIENT_CHECKS
    )


@schema.exclude(method="GET").parametrize()
@FUZZ_SETTINGS
def test_writes_for_the_roles_that_write(
    case: Any, writer: str, chart: Any, api_client_for: Any
) -> None:
    case.call_and_validate(
        headers=role_headers(api_client_for, writer), excluded_checks=LENIENT_CHECKS
    )
