"""The waiting list: joining and leaving it, and offering a freed slot to it."""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from webapp.accounts.models import Role, User
from webapp.accounts.relatives import acting_patient_ids
from webapp.booking import signals
from webapp.booking.agendas import listed_practitioner
from webapp.booking.availability import reason_for_booking
from webapp.booking.errors import field_error, no_such_patient
from webapp.booking.models import Absence, Appointment, VisitReason, WaitlistEntry, WaitlistStatus
from webapp.booking.signals import sender
from webapp.db import now_utc
from webapp.errors import Conflict, Forbidden, NotFound
from webapp.extensions import db


def join_waitlist(*, practitioner_id: int, visit_reason_id: int | None, before_at: dt.datetime, by: User,
                  patient_id: int | None = None, now: dt.datetime | None = None) -> WaitlistEntry:
    """A patient (or an account for a relative) asks for a slot earlier than
    `before_at`; one waiting entry per patient, practitioner and reason."""
    now = now or now_utc()
    if by.role is not Role.PATIENT:
        raise Forbidden()
    practitioner = listed_practitioner(practitioner_id)
    if patient_id is None and by.patient_profile is not None:
        patient_id = by.patient_profile.id
    if patient_id not in acting_patient_ids(by):
        raise no_such_patient()
    reason = reason_for_booking(practitioner.id, visit_reason_id)
    if before_at <= now:
        raise field_error("before", _l("Choose a date in the future."))
    already = db.session.scalar(sa.select(WaitlistEntry.id).where(
        WaitlistEntry.practitioner_id == practitioner.id, WaitlistEntry.patient_id == patient_id,
        WaitlistEntry.visit_reason_id == reason.id, WaitlistEntry.status != WaitlistStatus.CLOSED,
    ))
    if already is not None:
        raise Conflict(_l("This patient is already on this practitioner's waiting list."), code="already_on_waitlist")
    entry = WaitlistEntry(practitioner_id=practitioner.id, patient_id=patient_id, visit_reason_id=reason.id,
                          before_at=before_at, created_by_user_id=by.id, created_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


def waitlist_entries_of(user: User) -> list[WaitlistEntry]:
    if user.role is not Role.PATIENT:
        return []
    return list(db.session.scalars(
        sa.select(WaitlistEntry).options(joinedload(WaitlistEntry.practitioner), joinedload(WaitlistEntry.visit_reason))
        .where(WaitlistEntry.patient_id.in_(acting_patient_ids(user)), WaitlistEntry.status != WaitlistStatus.CLOSED)
        .order_by(WaitlistEntry.created_at)
    ))


def leave_waitlist(user: User, entry_id: int) -> None:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or user.role is not Role.PATIENT or entry.patient_id not in acting_patient_ids(user):
        raise NotFound()
    entry.status = WaitlistStatus.CLOSED
    db.session.flush()


def offer_freed_slot(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime, *,
                     now: dt.datetime | None = None) -> WaitlistEntry | None:
    """Offer a freed time to the first waiting patient it suits: same
    practitioner, a reason that fits in it, earlier than they asked for, and
    still in the future, outside any absence. The slot is not held: the offer says it is free."""
    now = now or now_utc()
    if start_at <= now:
        return None
    if db.session.scalar(sa.select(Absence.id).where(Absence.practitioner_id == practitioner_id,
                                                     Absence.start_at < end_at, Absence.end_at > start_at).limit(1)):
        return None  # freed by an absence (webapp.booking.absences): the time is not free
    duration = int((end_at - start_at).total_seconds() // 60)
    entry = db.session.scalar(
        sa.select(WaitlistEntry).join(VisitReason, VisitReason.id == WaitlistEntry.visit_reason_id).where(
            WaitlistEntry.practitioner_id == practitioner_id, WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.before_at > start_at, VisitReason.duration_minutes <= duration,
            VisitReason.archived_at.is_(None),
        ).order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(1)
    )
    if entry is None:
        return None
    entry.status = WaitlistStatus.OFFERED
    entry.offered_start_at = start_at
    entry.offered_at = now
    db.session.flush()
    signals.waitlist_offer_made.send(sender(), entry=entry, start_at=start_at)
    return entry


def close_waitlist_entries_served_by(appointment: Appointment) -> None:
    """A patient who booked earlier than they asked for no longer waits."""
    db.session.execute(sa.update(WaitlistEntry).where(
        WaitlistEntry.practitioner_id == appointment.practitioner_id,
        WaitlistEntry.patient_id == appointment.patient_id, WaitlistEntry.status != WaitlistStatus.CLOSED,
        WaitlistEntry.before_at > appointment.start_at,
    ).values(status=WaitlistStatus.CLOSED).execution_options(synchronize_session="fetch"))
