"""A small bar chart of monthly revenue, drawn as server-side SVG geometry."""

import datetime as dt
from dataclasses import dataclass

from flask_babel import format_date

from webapp.template_filters import money

WIDTH, HEIGHT, AXIS = 600, 200, 20


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    month: str
    amount: str


def revenue_bars(months: list[tuple[dt.date, int]]) -> list[Bar]:
    """One bar per month, scaled to the largest month (negative months show empty)."""
    top = max([cents for _, cents in months] + [1])
    slot = WIDTH / max(len(months), 1)
    bars = []
    for index, (month, cents) in enumerate(months):
        height = max(cents, 0) / top * (HEIGHT - AXIS - 10)
        bars.append(Bar(x=index * slot + slot * 0.15, y=HEIGHT - AXIS - height, width=slot * 0.7, height=height,
                        month=format_date(month, "MMM yy"), amount=money(cents)))
    return bars
