"""Billing periods: calendar months in the operator's timezone."""

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later, clamped to the end of shorter months."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def billing_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
