"""The API keeps its contract: every answer under /api/ is JSON in the error shape when it is
an error, a query parameter an operation does not take is a 400 naming it, and the schema
lists every status the shared machinery answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "0", "999999999", "9" * 200]
METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]
_CONVERTER = re.compile(r"<[^>]+>")


def api_routes() -> Iterator[str]:
    """Every route of the URLconf under /api/, placeholders as Django writes them."""

    def walk(patterns: list, prefix: str) -> Iterator[str]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/api/"):
            yield route


def assert_json_error_or_body(response, route: str) -> None:
    where = f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']}"
    assert response.status_code < 500, where
    if response.status_code < 400 and not response["Content-Type"].startswith("application/"):
        return  # a text export (beancount, CSV) answered
    assert response["Content-Type"].startswith("application/json"), where
    if response.request["REQUEST_METHOD"] == "HEAD":
        return
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, dict), where
        assert isinstance(body.get("code"), str) and body["code"], where
        assert isinstance(body.get("detail"), str) and body["detail"], where


def test_the_walk_covers_every_route_with_a_placeholder():
    routes = [route for route in api_routes() if "<" in route]
    assert len(routes) >= 14
    assert "/api/v1/manual-journals/<int:pk>/" in routes


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_every_route_and_method_with_a_bad_id_answers_json(api_client_for, chart, bad_id):
    client = api_client_for("staff")
    for route in api_routes():
        if "<" not in route or route.startswith(("/api/v1/schema", "/api/v1/docs")):
            continue
        path = _CONVERTER.sub(bad_id, route)
        for method in METHODS:
            response = getattr(client, method)(path, {}, format="json")
            assert_json_error_or_body(response, route)
            if method == "get":
                assert response.status_code in (400, 404, 405), path


def test_every_route_without_placeholders_answers_json_to_every_method(api_client_for, chart):
    client = api_client_for("auditor")  # reads; every write is refused before it runs
    for route in api_routes():
        if "<" in route or route.startswith(("/api/v1/schema", "/api/v1/docs")):
            continue
        for method in METHODS:
            response = getattr(client, method)(route, {}, format="json")
            assert_json_error_or_body(response, route)


def test_a_path_no_route_matches_is_a_json_404(api_client_for):
    client = api_client_for("staff")
    for path in ("/api/v1/manual-journals/abc/", "/api/v1/nothing-here/", "/api/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "not_found"


def test_a_path_outside_the_api_keeps_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_too_large_is_a_json_413(api_client_for, chart):
    client = api_client_for("staff")
    big = b'{"memo": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    response = client.generic(
        "POST", "/api/v1/journal-entries/", big, content_type="application/json"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"


def test_an_unexpected_error_is_a_json_500(api_client_for, monkeypatch):
    from ledger.api import views

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.CommodityList, "get", fail)
    client = api_client_for("staff")
    client.raise_request_exception = False
    response = client.get("/api/v1/commodities/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "server_error",
        "detail": "The server failed to answer this request.",
    }


def test_wrong_method_media_type_and_accept_are_json(api_client_for):
    client = api_client_for("staff")
    for response, status in (
        (client.delete("/api/v1/commodities/"), 405),
        (client.get("/api/v1/commodities/", HTTP_ACCEPT="text/html"), 406),
        (client.post("/api/v1/journal-entries/", "x", content_type="text/plain"), 415),
    ):
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"
        assert set(response.json()) == {"code", "detail"}


# --- query parameters --------------------------------------------------------------------


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def get_operations() -> Iterator[tuple[str, dict]]:
    for path, operations in schema()["paths"].items():
        if "get" in operations and "{" not in path:
            yield path, operations["get"]


def test_an_unknown_query_parameter_is_refused_on_every_get(api_client_for, chart):
    client = api_client_for("auditor")
    paths = [path for path, _ in get_operations()]
    assert len(paths) >= 30
    for path in paths:
        for name in ("mistyped_filter", "ordering"):
            response = client.get(path, {name: "x"})
            assert response.status_code == 400, (path, name)
            body = response.json()
            assert body["code"] == "unknown_parameter", path
            assert body["field"] == name, path
            assert name in [error["field"] for error in body["errors"]]


def test_every_declared_query_parameter_is_accepted(api_client_for, chart):
    """Parameters the schema declares are never refused as unknown (their values may be)."""
    client = api_client_for("auditor")
    for path, operation in get_operations():
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            response = client.get(path, {parameter["name"]: "1"})
            if response.status_code == 400:
                codes = {error["code"] for error in response.json().get("errors", [])}
                assert "unknown_parameter" not in codes, (path, parameter["name"])


def test_a_mistyped_filter_no_longer_returns_everything(api_client_for, chart):
    client = api_client_for("auditor")
    response = client.get("/api/v1/accounts/", {"tyep": "asset"})
    assert response.status_code == 400
    assert response.json()["field"] == "tyep"
    assert "type" in response.json()["detail"]
    assert client.get("/api/v1/accounts/", {"type": "asset"}).status_code == 200
    assert client.get("/api/v1/accounts/", {"format": "json"}).status_code == 200


def test_unknown_parameters_on_a_detail_view_are_refused(api_client_for, chart):
    client = api_client_for("auditor")
    assert client.get("/api/v1/accounts/1000/").status_code == 200
    response = client.get("/api/v1/accounts/1000/", {"as_of": "2025-01-01"})
    assert response.status_code == 400
    assert response.json()["field"] == "as_of"
    assert client.get("/api/v1/accounts/1000/balance/", {"as_of": "2025-01-01"}).status_code == 200


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_is_valid_without_warnings():
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=StringIO())


def test_every_operation_documents_the_shared_errors():
    for path, operations in schema()["paths"].items():
        if path.startswith("/api/v1/auth/"):
            continue  # the token views (knox) document their own answers
        for method, operation in operations.items():
            documented = set(operation["responses"])
            expected = {"400", "401", "403", "429"}
            if "{" in path:
                expected.add("404")
            if method != "get":
                expected |= {"409", "413", "415"}
            assert expected <= documented, (method, path, expected - documented)
            for code in expected:
                bodies = operation["responses"][code]["content"].values()
                assert {"$ref": "#/components/schemas/Error"} in [b["schema"] for b in bodies]


def test_a_write_that_answers_a_list_is_documented_as_a_plain_list():
    created = schema()["paths"]["/api/v1/reconciliations/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ReconciliationRunDetail"},
    }
