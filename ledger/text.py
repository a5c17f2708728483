"""Printable text only, in what people type: memos, references, names, reasons.

Refused everywhere: C0 and C1 control characters (U+0000-U+001F, U+007F-U+009F), the
bidirectional overrides, embeddings and isolates (U+202A-U+202E, U+2066-U+2069) and marks
(U+200E, U+200F, U+061C), every other Unicode format character (category Cf: zero-width
spaces, the byte order mark, soft hyphens, invisible operators, ...) except the zero-width
joiner and non-joiner that some scripts and emoji need, line and paragraph separators
(U+2028, U+2029), surrogates and private-use characters. Text that spans lines (memos,
reasons) may also hold tabs and line breaks (LF, and the CR browsers send before it).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from ledger.errors import InvalidEntry

ALLOWED_FORMAT = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner
MULTILINE_WHITESPACE = frozenset("\t\n\r")


@lru_cache(maxsize=1)
def _forbidden_class() -> str:
    """A regex character class of every refused code point, built once from unicodedata."""
    ranges: list[tuple[int, int]] = []
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        if char in ALLOWED_FORMAT:
            continue
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}:
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    return "".join(
        f"\\U{low:08x}" if low == high else f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges
    )


@lru_cache(maxsize=2)
def _forbidden(multiline: bool) -> re.Pattern[str]:
    pattern = re.compile(f"[{_forbidden_class()}]")
    if not multiline:
        return pattern
    allowed = "".join(f"\\U{ord(c):08x}" for c in sorted(MULTILINE_WHITESPACE))
    return re.compile(f"(?![{allowed}])[{_forbidden_class()}]")


# In ASCII only the C0 controls and DEL are refused: text people type is checked against
# these, and the class of every refused code point is built only for text beyond ASCII.
_FORBIDDEN_ASCII = {
    False: re.compile(r"[\x00-\x1f\x7f]"),
    True: re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"),
}


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why `text` is refused (naming the first character at fault), or None."""
    pattern = _FORBIDDEN_ASCII[multiline] if text.isascii() else _forbidden(multiline)
    found = pattern.search(text)
    if found is None:
        return None
    char = found.group()
    name = unicodedata.name(char, "control character")
    return (
        f"contains U+{ord(char):04X} ({name.lower()}) at position {found.start() + 1}: "
        "only printable text is taken" + (" (with tabs and line breaks)" if multiline else "")
    )


def check_printable(text: object, *, field: str, multiline: bool = False) -> None:
    """Refuse (InvalidEntry naming `field`) text holding what is not printable."""
    if isinstance(text, str):
        problem = text_problem(text, multiline=multiline)
        if problem is not None:
            raise InvalidEntry(f"{field} {problem}", field=field)


def validate_printable_line(text: object) -> None:
    """Django validator (forms, serializers) for one line of text: names, references."""
    _validate(text, multiline=False)


def validate_printable_text(text: object) -> None:
    """Django validator for text that may span lines: memos, reasons."""
    _validate(text, multiline=True)


def _validate(text: object, *, multiline: bool) -> None:
    if isinstance(text, str):
        problem = text_problem(text, multiline=multiline)
        if problem is not None:
            raise ValidationError(problem[:1].upper() + problem[1:] + ".", code="not_printable")


def unprintable_field(instance: Any) -> tuple[str, str] | None:
    """The first text field of a model instance holding what is not printable, and why:
    for the services that save what people name and describe (accounts, wallets, sites)."""
    for model_field in instance._meta.concrete_fields:
        if isinstance(model_field, models.CharField | models.TextField):
            value = getattr(instance, model_field.attname)
            multiline = isinstance(model_field, models.TextField)
            problem = text_problem(value, multiline=multiline) if isinstance(value, str) else None
            if problem is not None:
                return model_field.name, problem
    return None
