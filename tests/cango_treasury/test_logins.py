"""Logins that are safe in production: failed logins locked out per user and address, API
requests throttled, tokens hashed, expiring and revoked, demonstration logins only with the
demonstration data, a Content-Security-Policy, no proxy header trusted unless configured."""

from __future__ import annotations

import base64
import importlib
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.core.checks import Error
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cango_treasury import launch
from cango_treasury.checks import no_demonstration_login
from ledger.management.commands.demo_users import DEMO_USERS, KNOWN_PASSWORD
from ledger.models import AuditLog
from tests.cango_treasury.test_settings import values
from tests.conftest import ensure_reference_data, token_for

API = "/api/v1"
PASSWORD = "correct-horse-battery"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def api_login(username: str, password: str, address: str = "127.0.0.1") -> object:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=basic(username, password))
    return client.post(f"{API}/auth/login/")


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def accounts(token: str) -> int:
    return with_token(token).get(f"{API}/accounts/").status_code


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


# --- failed logins ---------------------------------------------------------------------------


def admin_login(client, username: str, password: str) -> int:
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    ).status_code


def test_the_admin_locks_a_user_and_address_out_after_repeated_failures(
    client, staff_user, lockout
):
    staff_user.is_staff = True
    staff_user.save()
    assert [admin_login(client, "staff", "wrong") for _ in range(3)] == [200, 200, 429]
    # Locked out: the right password is refused too, from that address...
    assert admin_login(client, "staff", PASSWORD) == 429
    # ...not from another one.
    elsewhere = type(client)(REMOTE_ADDR="10.0.0.9")
    assert admin_login(elsewhere, "staff", PASSWORD) == 302
    # Released by the command.
    call_command("axes_reset_username", "staff")
    assert admin_login(client, "staff", PASSWORD) == 302


def test_a_lockout_ends_after_the_cool_off(client, staff_user, lockout):
    staff_user.is_staff = True
    staff_user.save()
    for _ in range(3):
        admin_login(client, "staff", "wrong")
    assert admin_login(client, "staff", PASSWORD) == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert admin_login(client, "staff", PASSWORD) == 302


def test_the_token_login_locks_out_too(auditor_user, lockout):
    assert [api_login("auditor", "wrong").status_code for _ in range(3)] == [401, 401, 429]
    refused = api_login("auditor", PASSWORD)
    assert refused.status_code == 429 and not AuthToken.objects.exists()
    assert api_login("auditor", PASSWORD, address="10.0.0.9").status_code == 201
    call_command("axes_reset")
    assert api_login("auditor", PASSWORD).status_code == 201


@pytest.mark.parametrize("username", ["a" * 151, "a" * 300, "audi\x00tor", "\x00"])
def test_a_username_no_user_can_have_is_refused_as_a_wrong_password(auditor_user, username):
    response = api_login(username, PASSWORD)
    assert response.status_code == 401 and not AuthToken.objects.exists()


# --- throttling ------------------------------------------------------------------------------


def test_bad_tokens_are_throttled_as_anonymous_requests(settings, reference_data):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": None},
    }
    answers = [accounts(f"{n:064x}") for n in range(3)] + [accounts("not-a-token")]
    assert answers == [401, 401, 401, 429]
    throttled = with_token("0" * 64).get(f"{API}/accounts/")
    assert throttled.status_code == 429 and "Retry-After" in throttled


def test_users_are_throttled_at_their_own_rate(settings, api_client_for):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": "2/minute"},
    }
    client = api_client_for("auditor")
    assert [client.get(f"{API}/commodities/").status_code for _ in range(3)] == [200, 200, 429]


# --- tokens ----------------------------------------------------------------------------------


def test_a_token_is_stored_as_its_digest_only(auditor_user):
    response = api_login("auditor", PASSWORD)
    assert response.status_code == 201
    token = response.json()["token"]
    assert accounts(token) == 200
    (row,) = AuthToken.objects.filter(user=auditor_user)
    assert row.digest != token and len(row.token_key) < len(token)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM knox_authtoken WHERE digest = %s OR token_key = %s",
            [token, token],
        )
        assert cursor.fetchone() == (0,)
    logged = AuditLog.objects.filter(table_name="knox_authtoken")
    assert [r.action for r in logged] == ["insert"]
    assert logged[0].new["digest"] == logged[0].new["token_key"] == "[redacted]"
    assert token[:15] not in str(logged[0].new)


def test_a_token_expires(settings, auditor_user):
    token = token_for(auditor_user)
    (row,) = AuthToken.objects.all()
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert abs(row.expiry - (timezone.now() + ttl)) < timedelta(minutes=1)
    assert accounts(token) == 200
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert accounts(token) == 401
    assert not AuthToken.objects.exists()


def test_the_token_lifetime_is_a_setting(tmp_path):
    assert values(
        tmp_path, "API_TOKEN_TTL_HOURS", API_TOKEN_TTL_HOURS="12", CANGO_DEVELOPMENT="true"
    ) == {"API_TOKEN_TTL_HOURS": 12}


def test_a_password_change_revokes_the_users_tokens(auditor_user, staff_user):
    token, other = token_for(auditor_user), token_for(staff_user)
    auditor_user.set_password("a-new-secret-77")
    auditor_user.save()
    assert accounts(token) == 401
    assert accounts(other) == 200
    # A login (last_login only) revokes nothing.
    fresh = token_for(auditor_user)
    auditor_user.last_login = timezone.now()
    auditor_user.save(update_fields=["last_login"])
    assert accounts(fresh) == 200


def test_deactivation_revokes_the_users_tokens(auditor_user):
    token = token_for(auditor_user)
    auditor_user.is_active = False
    auditor_user.save()
    assert not AuthToken.objects.filter(user=auditor_user).exists()
    assert accounts(token) == 401


def test_a_user_rotates_and_revokes_their_own_tokens(auditor_user):
    first = api_login("auditor", PASSWORD).json()["token"]
    rotated = with_token(first).post(f"{API}/auth/rotate/")
    assert rotated.status_code == 201
    second = rotated.json()["token"]
    assert accounts(first) == 401 and accounts(second) == 200
    assert with_token(second).post(f"{API}/auth/logout/").status_code == 204
    assert accounts(second) == 401
    third, fourth = token_for(auditor_user), token_for(auditor_user)
    assert with_token(third).post(f"{API}/auth/logoutall/").status_code == 204
    assert accounts(fourth) == 401


def test_the_token_command_creates_rotates_and_revokes(auditor_user, capsys):
    call_command("api_token", "auditor")
    first = capsys.readouterr().out.strip()
    assert accounts(first) == 200
    call_command("api_token", "auditor", "--replace")
    second = capsys.readouterr().out.strip()
    assert accounts(first) == 401 and accounts(second) == 200
    call_command("api_token", "auditor", "--revoke")
    assert capsys.readouterr().out == "" and accounts(second) == 401


def test_tokens_made_before_hashing_keep_working_until_they_expire(auditor_user):
    old = Token.objects.create(user=auditor_user)
    migration = importlib.import_module("ledger.migrations.0016_hashed_tokens")
    migration.hash_existing_tokens(django_apps, None)
    assert not Token.objects.exists()
    (row,) = AuthToken.objects.all()
    assert row.digest != old.key and row.expiry is not None
    assert accounts(old.key) == 200


def test_the_admin_shows_no_token_secret(admin_client, auditor_user):
    token = token_for(auditor_user)
    (row,) = AuthToken.objects.all()
    page = admin_client.get("/admin/knox/authtoken/").content.decode()
    assert "auditor" in page
    assert token[:15] not in page and row.token_key not in page
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 404


# --- demonstration logins ---------------------------------------------------------------------


class Started(Exception):
    pass


@pytest.mark.parametrize("demo", ["false", "true"])
def test_the_demonstration_logins_come_only_with_the_demonstration_data(monkeypatch, demo):
    called: list[str] = []
    monkeypatch.setattr(
        "django.core.management.call_command", lambda name, **_: called.append(name)
    )
    monkeypatch.setattr("django.setup", lambda: None)

    def servers(*args, **kwargs):
        raise Started

    monkeypatch.setattr(launch.subprocess, "Popen", servers)
    monkeypatch.setenv("LOAD_DEMO_DATA", demo)
    with pytest.raises(Started):
        launch.main()
    if demo == "false":
        assert called == ["migrate", "load_chart"]
    else:
        assert called == ["migrate", "load_chart", "demo_users", "load_demo"]


@pytest.mark.django_db(transaction=True)
def test_the_deploy_check_fails_while_a_demonstration_login_has_its_password(monkeypatch):
    ensure_reference_data()
    assert no_demonstration_login() == []
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("demo_users")
    users = get_user_model().objects
    assert users.filter(username__in=[name for name, *_ in DEMO_USERS]).count() == 4
    (error,) = no_demonstration_login()
    assert isinstance(error, Error) and error.id == "cango_treasury.E001"
    assert "admin, auditor, finance.approver, finance.staff" in error.msg
    for user in users.exclude(username="auditor"):
        user.set_password("a-password-of-its-own-42")
        user.save()
    (error,) = no_demonstration_login()
    assert error.msg.endswith(": auditor.")
    auditor = users.get(username="auditor")
    auditor.set_password("a-password-of-its-own-43")
    auditor.save()
    assert no_demonstration_login() == []
    assert not users.filter(username="auditor").first().check_password(KNOWN_PASSWORD)


# --- headers ---------------------------------------------------------------------------------


def nonce_of(response) -> str:
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    match = re.search(r"'nonce-([^']+)'", policy)
    return match.group(1) if match else ""


def inline_elements(html: str) -> list[str]:
    """Every <style> element and every <script> without src that runs (not JSON data)."""
    found = re.findall(r"<style\b[^>]*>", html)
    for tag in re.findall(r"<script\b[^>]*>", html):
        if "src=" not in tag and "application/json" not in tag:
            found.append(tag)
    return found


def test_pages_carry_a_content_security_policy_their_inline_code_satisfies(client, staff_user):
    login = client.get("/admin/login/")
    nonce_of(login)
    assert inline_elements(login.content.decode()) == []
    staff_user.is_staff = True
    staff_user.save()
    client.force_login(staff_user)
    for url in ("/admin/", "/admin/ledger/journalentry/", f"{API}/docs/"):
        response = client.get(url)
        assert response.status_code == 200, url
        nonce = nonce_of(response)
        for tag in inline_elements(response.content.decode()):
            assert f'nonce="{nonce}"' in tag, (url, tag)


def test_the_forwarded_protocol_is_not_trusted_by_default(settings, tmp_path):
    assert settings.SECURE_PROXY_SSL_HEADER is None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert not request.is_secure()
    configured = values(
        tmp_path,
        "SECURE_PROXY_SSL_HEADER",
        TRUSTED_PROXY_SSL_HEADER="X-Forwarded-Proto",
        CANGO_DEVELOPMENT="true",
    )
    assert configured == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}
