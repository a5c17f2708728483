"""Minimal Django settings for running django-hordak in the benchmark, and nothing else.

The database comes from DATABASE_URL (set by bench/run.py), a postgresql:// URL whose host
may be a socket directory given as ?host=/path, as the embedded server's URLs are.
"""

import os
from urllib.parse import parse_qs, unquote, urlsplit


def _database(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": query.get("host", [parts.hostname or ""])[0],
        "PORT": str(parts.port or ""),
    }


SECRET_KEY = "bench-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "mptt",
    "hordak",
]

DATABASES = {"default": _database(os.environ["DATABASE_URL"])}

# One currency throughout: hordak needs trading accounts to mix currencies in an entry.
DEFAULT_CURRENCY = "USD"
HORDAK_INTERNAL_CURRENCY = "USD"
HORDAK_CURRENCIES = ["USD"]
CURRENCIES = ["USD"]
