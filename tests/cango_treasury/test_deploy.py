import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_the_deploy_check():
    # Production mode, two database roles (the check connects to neither).
    env = {
        **os.environ,
        "CANGO_DEVELOPMENT": "false",
        "DATABASE_URL": "postgresql://cango_app:secret@db.example.com:5432/cango_treasury",
        "DATABASE_OWNER_URL": "postgresql://cango_owner:secret@db.example.com:5432/cango_treasury",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_SECURE_COOKIES": "true",
        "DJANGO_HSTS_SECONDS": "31536000",
        "DJANGO_DEBUG": "false",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked_for():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_DEBUG"}
    printed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip().splitlines()[-1] == "False"
