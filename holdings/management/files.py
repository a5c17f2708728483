"""The files the import commands are given."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import CommandError


def read_file(path: Path) -> bytes:
    """The file's bytes, refused (CommandError) when it cannot be read or when its name,
    which the ledger keeps with what it imports, is not UTF-8 text (a name the file system
    holds as other bytes)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")  # its bytes, as \xff
        raise CommandError(f"{shown}: the file's name is not UTF-8 text; rename it") from None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
