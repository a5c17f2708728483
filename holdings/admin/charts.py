"""Charts as inline SVG drawn on the server: no script, no CDN, readable offline and in tests.

Each chart is an `<svg role="img">` labelled by its `<title>` and `<desc>`, with labelled
axes, and a `<title>` on every bar, zone or day column that browsers show as a tooltip with
the exact figure. Pixel geometry uses floats; every figure shown is an exact Decimal
formatted by `amount()` or `percent()` (the caller writes the tooltips).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colours of the admin's palette, and of the LTV tiers.
BLUE_DARK = "#417690"
BLUE_LIGHT = "#79aec8"
ORANGE = "#d9822b"
GREEN = "#5b9a50"
TIER_COLOURS = {
    "ok": "#cfe8c9",
    "warning": "#fbe7a6",
    "margin_call": "#f7c189",
    "liquidation": "#f1a3a3",
}
FONT = 'font-family="inherit"'


# --- figures -----------------------------------------------------------------------------


def amount(value: Decimal | None, places: int = 2, unit: str = "") -> str:
    """An exact figure with thousands separators: trailing zeros beyond `places` dropped,
    never a significant digit (7,528.3 BTC stays 7,528.30 and 3,481.869946 stays so)."""
    if value is None:
        return "-"
    text = f"{value.normalize():,f}" if value else "0"
    whole, _, decimals = text.partition(".")
    decimals = decimals.ljust(places, "0")
    text = f"{whole}.{decimals}" if decimals else whole
    return f"{text} {unit}" if unit else text


def percent(ratio: Decimal | None, places: int | None = 2) -> str:
    """A ratio as a percentage: 0.1414 -> 14.14%; places=None drops trailing zeros (0.6 ->
    60%)."""
    if ratio is None:
        return "-"
    value = ratio * 100
    if places is None:
        return amount(value, 0) + "%"
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}%"


def compact(value: Decimal | float) -> str:
    """An axis or bar label: 320M, 1.5B, 8,000, 0.25. A Decimal (an amount) is written from
    its own digits; a float is an axis tick."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    size = abs(number)
    for limit, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M")):
        if size >= limit:
            return f"{number / limit:,.1f}".rstrip("0").rstrip(".") + suffix
    if size >= 100 or number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def position(value: Decimal | float) -> float:
    """A figure as a place on the chart: pixel geometry only, never a figure shown. Sums
    and maxima are taken in Decimal first, so the chart's shapes match the exact figures."""
    return float(value)


def nice_ticks(highest: Decimal | float, count: int = 4) -> list[float]:
    """0 and 1-2-5 steps up to at least `highest`."""
    maximum = position(highest)
    if maximum <= 0:
        return [0.0, 1.0]
    rough = maximum / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    top = math.ceil(maximum / step - 1e-9) * step
    return [step * n for n in range(round(top / step) + 1)]


# --- SVG ---------------------------------------------------------------------------------


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, *, anchor: str = "start", css: str = "") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" class="chart-text {css}" '
        f"{FONT}>{escape(text)}</text>"
    )


def _svg(key: str, width: int, height: int, title: str, desc: str, body: list[str]) -> SafeString:
    # Every text inside is escaped above.
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{key}-title {key}-desc" '
        f'preserveAspectRatio="xMidYMid meet">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    parts = []
    for name, colour in items:
        parts.append(
            f'<rect class="chart-swatch" x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" '
            f'fill="{colour}"/>'
        )
        parts.append(_text(x + 14, y, name, css="chart-legend"))
        x += 14 + 6.5 * len(name) + 16
    return parts


@dataclass(frozen=True)
class Frame:
    """The plotting area of a chart and its value axis."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    ticks: list[float]

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> float:
        return self.height - self.bottom

    def y(self, value: Decimal | float) -> float:
        top = self.ticks[-1] or 1.0
        return self.baseline - self.plot_height * position(value) / top

    def x(self, index: int, count: int) -> float:
        if count <= 1:
            return self.left + self.plot_width / 2
        return self.left + self.plot_width * index / (count - 1)

    def value_axis(self, label: str, tick_format: Callable[[float], str] = compact) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(
                f'<line class="chart-grid" x1="{_n(self.left)}" x2="{_n(self.width - self.right)}" '
                f'y1="{_n(y)}" y2="{_n(y)}" stroke="#ddd" stroke-width="1"/>'
            )
            parts.append(_text(self.left - 6, y + 4, tick_format(tick), anchor="end"))
        mid = self.top + self.plot_height / 2
        parts.append(
            f'<text class="chart-text chart-axis-title" text-anchor="middle" {FONT} '
            f'transform="translate(12 {_n(mid)}) rotate(-90)">{escape(label)}</text>'
        )
        return parts


def _day_axis(frame: Frame, days: Sequence[date]) -> list[str]:
    """A tick and the month's name at the first of every month; the year at the first
    month shown and at every January. A window shorter than a month names its first day."""
    parts = []
    count = len(days)
    starts = [index for index, day in enumerate(days) if day.day == 1] or [0] * bool(days)
    for number, index in enumerate(starts):
        day, x = days[index], frame.x(index, count)
        parts.append(
            f'<line class="chart-tick" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(frame.baseline)}" '
            f'y2="{_n(frame.baseline + 4)}" stroke="#999"/>'
        )
        if day.day != 1:
            label = day.isoformat()
        elif number == 0 or day.month == 1:
            label = f"{day:%b %Y}"
        else:
            label = f"{day:%b}"
        parts.append(_text(x, frame.baseline + 17, label, anchor="middle"))
    parts.append(
        f'<line class="chart-axis" x1="{_n(frame.left)}" x2="{_n(frame.width - frame.right)}" '
        f'y1="{_n(frame.baseline)}" y2="{_n(frame.baseline)}" stroke="#999"/>'
    )
    return parts


def _day_columns(frame: Frame, count: int, tooltips: Sequence[str]) -> list[str]:
    """A transparent column per day whose tooltip gives that day's exact figures."""
    parts = []
    step = frame.plot_width / max(count - 1, 1)
    for index, tip in enumerate(tooltips):
        x = frame.x(index, count) - step / 2
        parts.append(
            f'<rect class="chart-hover" x="{_n(max(x, frame.left - step / 2))}" '
            f'y="{_n(frame.top)}" width="{_n(step)}" height="{_n(frame.plot_height)}" '
            f'fill="transparent"><title>{escape(tip)}</title></rect>'
        )
    return parts


# --- charts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    name: str
    values: Sequence[Decimal]
    colour: str


def stacked_area(
    *,
    key: str,
    title: str,
    desc: str,
    days: Sequence[date],
    layers: Sequence[Layer],
    axis_label: str,
    tooltips: Sequence[str],
    width: int = 760,
    height: int = 280,
) -> SafeString:
    """Layers stacked bottom up, one point per day."""
    count = len(days)
    totals = [sum((layer.values[i] for layer in layers), Decimal(0)) for i in range(count)]
    frame = Frame(width, height, 64, 16, 34, 28, nice_ticks(max(totals, default=Decimal(0))))
    body = frame.value_axis(axis_label)
    below = [Decimal(0)] * count
    for layer in layers:
        above = [below[i] + layer.values[i] for i in range(count)]
        top_edge = [f"{_n(frame.x(i, count))},{_n(frame.y(above[i]))}" for i in range(count)]
        bottom_edge = [
            f"{_n(frame.x(i, count))},{_n(frame.y(below[i]))}" for i in reversed(range(count))
        ]
        body.append(
            f'<polygon class="chart-area" points="{" ".join(top_edge + bottom_edge)}" '
            f'fill="{layer.colour}"><title>{escape(layer.name)}</title></polygon>'
        )
        below = above
    body += _day_axis(frame, days)
    body += _legend(frame.left, 16, [(layer.name, layer.colour) for layer in layers])
    body += _day_columns(frame, count, tooltips)
    return _svg(key, width, height, title, desc, body)


@dataclass(frozen=True)
class BarSeries:
    name: str
    values: Sequence[Decimal]
    colour: str
    labels: Sequence[str]  # shown above each bar
    tooltips: Sequence[str]


def bar_chart(
    *,
    key: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[BarSeries],
    axis_label: str,
    empty: str = "Nothing to show",
    width: int = 760,
    height: int = 280,
) -> SafeString:
    """Grouped bars: one group per category, one bar per series (zero-height bars keep
    their place and their tooltip)."""
    highest = max((v for s in series for v in s.values), default=Decimal(0))
    frame = Frame(width, height, 64, 16, 34, 28, nice_ticks(highest))
    body = frame.value_axis(axis_label)
    group = frame.plot_width / max(len(categories), 1)
    bar = min(group * 0.8 / max(len(series), 1), 56.0)
    for index, category in enumerate(categories):
        start = frame.left + group * index + (group - bar * len(series)) / 2
        for number, one in enumerate(series):
            value = one.values[index]
            x, y = start + bar * number, frame.y(value)
            body.append(
                f'<rect class="chart-bar" data-series="{escape(one.name)}" x="{_n(x + 1)}" '
                f'y="{_n(y)}" width="{_n(bar - 2)}" height="{_n(frame.baseline - y)}" '
                f'fill="{one.colour}"><title>{escape(one.tooltips[index])}</title></rect>'
            )
            if value:
                body.append(
                    _text(x + bar / 2, y - 4, one.labels[index], anchor="middle", css="chart-value")
                )
        middle = frame.left + group * (index + 0.5)
        body.append(_text(middle, frame.baseline + 17, category, anchor="middle"))
    body.append(
        f'<line class="chart-axis" x1="{_n(frame.left)}" x2="{_n(width - frame.right)}" '
        f'y1="{_n(frame.baseline)}" y2="{_n(frame.baseline)}" stroke="#999"/>'
    )
    if not highest:
        middle = frame.top + frame.plot_height / 2
        body.append(_text(frame.left + frame.plot_width / 2, middle, empty, anchor="middle"))
    body += _legend(frame.left, 16, [(one.name, one.colour) for one in series])
    return _svg(key, width, height, title, desc, body)


@dataclass(frozen=True)
class Threshold:
    value: Decimal
    label: str
    colour: str


@dataclass(frozen=True)
class LineSpec:
    values: Sequence[Decimal | None]
    colour: str
    fill: bool = False
    thresholds: Sequence[Threshold] = field(default_factory=tuple)
    # Points to mark: (day's index, value, tooltip, colour).
    markers: Sequence[tuple[int, Decimal, str, str]] = field(default_factory=tuple)


def line_chart(
    *,
    key: str,
    title: str,
    desc: str,
    days: Sequence[date],
    line: LineSpec,
    axis_label: str,
    tooltips: Sequence[str],
    tick_format: Callable[[float], str] = compact,
    width: int = 380,
    height: int = 170,
) -> SafeString:
    """One daily line (broken where a day has no value), with optional horizontal lines."""
    count = len(days)
    known = [v for v in line.values if v is not None]
    highest = max(known + [t.value for t in line.thresholds], default=Decimal(0))
    frame = Frame(width, height, 52, 12 if not line.thresholds else 84, 12, 28, nice_ticks(highest))
    body = frame.value_axis(axis_label, tick_format)
    for threshold in line.thresholds:
        y = frame.y(threshold.value)
        body.append(
            f'<line class="chart-threshold" x1="{_n(frame.left)}" x2="{_n(width - frame.right)}" '
            f'y1="{_n(y)}" y2="{_n(y)}" stroke="{threshold.colour}" stroke-width="1.5" '
            f'stroke-dasharray="5 3"><title>{escape(threshold.label)}</title></line>'
        )
        body.append(_text(width - frame.right + 4, y + 4, threshold.label, css="chart-small"))
    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(line.values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((frame.x(index, count), frame.y(value)))
    for run in (r for r in runs if r):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
        if line.fill:
            base = f"{_n(run[-1][0])},{_n(frame.baseline)} {_n(run[0][0])},{_n(frame.baseline)}"
            body.append(
                f'<polygon class="chart-fill" points="{points} {base}" fill="{line.colour}" '
                f'fill-opacity="0.18"/>'
            )
        body.append(
            f'<polyline class="chart-line" points="{points}" fill="none" '
            f'stroke="{line.colour}" stroke-width="2" stroke-linejoin="round"/>'
        )
    body += _day_axis(frame, days)
    body += _day_columns(frame, count, tooltips)
    for index, value, tip, colour in line.markers:
        body.append(
            f'<circle class="chart-marker" cx="{_n(frame.x(index, count))}" '
            f'cy="{_n(frame.y(value))}" r="4.5" fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5"><title>{escape(tip)}</title></circle>'
        )
    return _svg(key, width, height, title, desc, body)


@dataclass(frozen=True)
class Zone:
    name: str
    start: Decimal
    end: Decimal
    colour: str


def gauge(
    *,
    key: str,
    title: str,
    desc: str,
    value: Decimal | None,
    value_label: str,
    zones: Sequence[Zone],
    marks: Sequence[tuple[Decimal, str]],
    width: int = 640,
    height: int = 84,
) -> SafeString:
    """A horizontal scale in coloured zones, a labelled mark at each zone's edge and a
    marker at the value (or a note that there is none)."""
    left, right, top, bar_height = 12.0, 12.0, 30.0, 22.0
    maximum = position(zones[-1].end) if zones else 1.0

    def x(at: Decimal | float) -> float:
        return left + (width - left - right) * min(position(at), maximum) / maximum

    body = []
    for zone in zones:
        x0, x1 = x(zone.start), x(zone.end)
        body.append(
            f'<rect class="gauge-zone" x="{_n(x0)}" y="{_n(top)}" width="{_n(x1 - x0)}" '
            f'height="{_n(bar_height)}" fill="{zone.colour}"><title>{escape(zone.name)}: '
            f"{escape(percent(zone.start, None))} to {escape(percent(zone.end, None))}"
            f"</title></rect>"
        )
        if x1 - x0 > 5.6 * len(zone.name) + 8:  # room for the name at 10px
            body.append(
                _text((x0 + x1) / 2, top + 15, zone.name, anchor="middle", css="gauge-zone-label")
            )
    for at, label in marks:
        body.append(
            f'<line class="gauge-mark" x1="{_n(x(at))}" x2="{_n(x(at))}" y1="{_n(top)}" '
            f'y2="{_n(top + bar_height + 5)}" stroke="#555" stroke-width="1"/>'
        )
        body.append(_text(x(at), top + bar_height + 17, label, anchor="middle", css="chart-small"))
    if value is None:
        body.append(_text(width / 2, top - 10, value_label, anchor="middle", css="gauge-none"))
    else:
        pos = x(value)
        anchor = "start" if pos < left + 60 else "end" if pos > width - right - 60 else "middle"
        body.append(
            f'<g class="gauge-value"><title>{escape(value_label)}</title>'
            f'<line x1="{_n(pos)}" x2="{_n(pos)}" y1="{_n(top - 4)}" '
            f'y2="{_n(top + bar_height + 2)}" stroke="#222" stroke-width="3"/>'
            f'<path d="M{_n(pos - 6)},{_n(top - 12)} L{_n(pos + 6)},{_n(top - 12)} '
            f'L{_n(pos)},{_n(top - 4)} Z" fill="#222"/></g>'
        )
        body.append(_text(pos, top - 16, value_label, anchor=anchor, css="gauge-label"))
    return _svg(key, width, height, title, desc, body)
