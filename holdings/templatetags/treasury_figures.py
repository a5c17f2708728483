"""Figures as the dashboard shows them: exact, with thousands separators."""

from __future__ import annotations

from decimal import Decimal

from django import template

from holdings.admin import charts

register = template.Library()


@register.filter
def amount(value: Decimal | None, places: int = 2) -> str:
    """{{ value|amount }}: every significant decimal, at least two (or `places`)."""
    return charts.amount(value, int(places))


@register.filter
def percent(value: Decimal | None) -> str:
    return charts.percent(value)
