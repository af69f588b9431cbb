"""Slot holds: a free slot kept for one holder for CARNET_HOLD_MINUTES, then booked by them.

The web journey holds the slot a visitor clicks while they log in or create
their account; a FHIR `Appointment/$hold` can hold one the same way (the
holder being, there, a secret handed to the API client). A hold writes the
slot's cells like an appointment (webapp.booking.models.OccupiedCell), so the
database refuses any booking or other hold over it whatever the concurrency;
it stops counting at `expires_at` (checked by time: webapp.booking.hold_cells).
"""

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import User
from webapp.booking import agendas, appointments
from webapp.booking import availability as booking_availability
from webapp.booking import slots as slot_rules
from webapp.booking.errors import HoldNotFound, NotBookableOnline, SlotUnavailable
from webapp.booking.hold_cells import release_expired_holds
from webapp.booking.models import Appointment, SlotHold
from webapp.db import now_utc
from webapp.extensions import db

# Old expired holds are kept this long (for support questions) before a job deletes them.
EXPIRED_HOLDS_KEPT = dt.timedelta(days=1)


def new_holder_secret() -> str:
    """A secret naming a holder (kept in the visitor's signed session)."""
    return secrets.token_urlsafe(24)


def holder_key_of(secret: str) -> str:
    """What the database keeps of a holder's secret: its digest only."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hold_duration() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["CARNET_HOLD_MINUTES"])


def release_holds_of(holder: str) -> None:
    """Give back every slot the holder keeps (a holder keeps one slot at a time)."""
    for hold in db.session.scalars(sa.select(SlotHold).where(SlotHold.holder_key == holder_key_of(holder))):
        db.session.delete(hold)
    db.session.flush()


def hold_slot(*, practitioner_id: int, visit_reason_id: int | None, start_at: dt.datetime, holder: str,
              now: dt.datetime | None = None) -> SlotHold:
    """Keep a free slot for `holder` until now + CARNET_HOLD_MINUTES.

    The same rules as an online booking: a verified practitioner (404
    otherwise), bookable online (409), one of their active reasons (422),
    a start on the grid (422) that is free now (409 `slot_unavailable`,
    also when another hold keeps it). A holder keeps one slot at a time: the
    previous one is given back. The database refuses a hold over cells an
    appointment or another live hold occupies."""
    now = now or now_utc()
    practitioner, reason, bookable, schedules = booking_availability.booking_request(practitioner_id, visit_reason_id)
    if not practitioner.is_verified:
        raise agendas.no_such_practitioner()
    reason = booking_availability.offered_reason(reason, practitioner.id)
    if not bookable:
        raise NotBookableOnline()
    release_holds_of(holder)
    day = start_at.astimezone(slot_rules.UTC).date()
    availability = booking_availability.load_availability([practitioner.id], day, day, schedules=schedules,
                                              now=now)[practitioner.id]
    booking_availability.check_start(availability, reason, start_at, now)
    start = start_at.astimezone(slot_rules.UTC)
    end = start + dt.timedelta(minutes=reason.duration_minutes)
    release_expired_holds(practitioner.id, start, end, now)
    hold = SlotHold(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start, end_at=end,
                    expires_at=now + hold_duration(), holder_key=holder_key_of(holder), created_at=now)
    hold.cells = appointments.occupied_cells_for(practitioner.id, start, end)
    # The stored next availability ignores holds (it stays a lower bound, which
    # search verifies): a hold frees its slot by expiring, with no transaction
    # that could move the value back (webapp.booking.next_availability).
    db.session.add(hold)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        raise SlotUnavailable() from None  # booked or held by someone else meanwhile
    return hold


def hold_of(hold_id: int, holder: str) -> SlotHold:
    """The holder's own hold, expired or not; 404 `hold_not_found` for any other."""
    hold = db.session.get(SlotHold, hold_id)
    if hold is None or not hmac.compare_digest(hold.holder_key, holder_key_of(holder)):
        raise HoldNotFound()
    return hold


def book_hold(hold_id: int, *, holder: str, by: User, patient_id: int | None = None, message: str | None = None,
              share_notebook_ahead: bool = False, now: dt.datetime | None = None) -> Appointment:
    """Turn the holder's hold into an appointment for `by` (see
    `appointments.book_appointment` for who may book and for whom).

    The hold is given back and the slot booked in the same unit of work, so
    no one can take it in between. A hold that expired still books if the
    slot is free; if someone took it meanwhile, 409 `slot_unavailable`."""
    hold = hold_of(hold_id, holder)
    practitioner_id, reason_id, start_at = hold.practitioner_id, hold.visit_reason_id, hold.start_at
    db.session.delete(hold)
    db.session.flush()
    return appointments.book_appointment(practitioner_id=practitioner_id, visit_reason_id=reason_id, start_at=start_at,
                                     by=by, patient_id=patient_id, message=message,
                                     share_notebook_ahead=share_notebook_ahead, now=now)


def delete_old_holds(now: dt.datetime | None = None) -> int:
    """Delete holds expired for more than EXPIRED_HOLDS_KEPT (housekeeping only:
    an expired hold blocks nothing already). Returns how many went."""
    cutoff = (now or now_utc()) - EXPIRED_HOLDS_KEPT
    old = list(db.session.scalars(sa.select(SlotHold).where(SlotHold.expires_at < cutoff)))
    for hold in old:
        db.session.delete(hold)
    db.session.flush()
    return len(old)
