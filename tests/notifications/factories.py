"""Test data for notifications: appointments' calendar files and outbox queries."""

import datetime as dt

import icalendar
import sqlalchemy as sa

from webapp.extensions import db
from webapp.notifications.models import Notification

PARIS_MORNING = dt.datetime(2030, 3, 12, 8, 30, tzinfo=dt.UTC)  # 09:30 in Paris


def make_ics(*, uid: str = "appointment-1@carnet.test", starts_at: dt.datetime = PARIS_MORNING,
             minutes: int = 30, summary: str = "Consultation") -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Carnet//Tests//FR")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", starts_at)
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + dt.timedelta(minutes=minutes))
    event.add("summary", summary)
    calendar.add_component(event)
    return calendar.to_ical()


def outbox(**filters) -> list[Notification]:
    """The outbox rows, oldest first, read fresh from the database."""
    db.session.expire_all()
    query = sa.select(Notification).filter_by(**filters).order_by(Notification.id)
    return list(db.session.scalars(query))
