"""A practitioner's private calendar feed: its secret URL, rotation, revocation and content."""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from webapp.accounts.models import PractitionerProfile, User
from webapp.audit.services import record_event
from webapp.booking.agendas import own_practitioner
from webapp.booking.appointments import with_parties
from webapp.booking.models import Appointment, CalendarFeed, PractitionerSchedule
from webapp.booking.rules import SCHEDULE_DEFAULTS
from webapp.db import now_utc
from webapp.extensions import db

FEED_PAST_DAYS = 30


def _feed_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_calendar_feed(user: User) -> str:
    """A new secret for the practitioner's agenda feed; the previous URL stops
    working. Only the digest is stored: the raw token is shown once."""
    practitioner = own_practitioner(user)
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, practitioner.id)
    if feed is None:
        feed = CalendarFeed(practitioner_id=practitioner.id)
        db.session.add(feed)
    feed.token_hash = _feed_digest(token)
    feed.created_at = now_utc()
    db.session.flush()
    return token


def revoke_calendar_feed_of(user: User, *, reason: str) -> None:
    """The practitioner's feed URL stops working (404) until they ask for a
    new one; nothing if the account has no feed. Audited."""
    practitioner = user.practitioner_profile
    feed = db.session.get(CalendarFeed, practitioner.id) if practitioner else None
    if feed is None:
        return
    db.session.delete(feed)
    db.session.flush()
    record_event("calendar_feed.revoked", actor=user, target_type="practitioner", target_id=practitioner.id,
                 details={"reason": reason})


def on_account_access_revoked(sender, *, user: User, reason: str, **extra) -> None:
    """Receiver of `accounts.password_changes.access_revoked` (a password change or a
    closed account): the calendar feed URL is a way in too."""
    revoke_calendar_feed_of(user, reason=reason)


def set_feed_patient_names(user: User, shown: bool) -> PractitionerSchedule:
    """Whether the practitioner's feed names patients in full (else by initials)."""
    practitioner = own_practitioner(user)
    schedule = db.session.get(PractitionerSchedule, practitioner.id)
    if schedule is None:
        schedule = PractitionerSchedule(practitioner_id=practitioner.id, **SCHEDULE_DEFAULTS)
        db.session.add(schedule)
    schedule.feed_shows_patient_names = bool(shown)
    db.session.flush()
    return schedule


def has_calendar_feed(practitioner_id: int) -> bool:
    return db.session.get(CalendarFeed, practitioner_id) is not None


def practitioner_for_feed(token: str) -> PractitionerProfile | None:
    """The practitioner of a feed token; none for a practitioner no longer
    verified, whose agenda shows no patient."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _feed_digest(token)))
    practitioner = db.session.get(PractitionerProfile, feed.practitioner_id) if feed else None
    return practitioner if practitioner is not None and practitioner.is_verified else None


def feed_appointments(practitioner_id: int, *, now: dt.datetime | None = None) -> list[Appointment]:
    """The appointments a feed publishes: from a month ago on, cancelled ones
    included so that calendars remove them."""
    since = (now or now_utc()) - dt.timedelta(days=FEED_PAST_DAYS)
    return list(db.session.scalars(with_parties(sa.select(Appointment).where(
        Appointment.practitioner_id == practitioner_id, Appointment.start_at >= since,
    )).order_by(Appointment.start_at)))
