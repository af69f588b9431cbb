"""Visit reasons, schedules, absences, appointments, the waiting list and calendar feeds."""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import PatientProfile, PractitionerProfile, User
from webapp.booking.rules import CELL_MINUTES, MAX_VISIT_MINUTES, SCHEDULE_DEFAULTS, SCHEDULE_LIMITS
from webapp.db import enum_type, now_utc
from webapp.extensions import db


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @property
    def occupies_time(self) -> bool:
        return self is not AppointmentStatus.CANCELLED


class VisitMode(enum.StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CLOSED = "closed"


class VisitReason(db.Model):
    """What a patient books: a label, a duration, a price, who may book it."""

    __tablename__ = "visit_reasons"
    __table_args__ = (
        sa.CheckConstraint(f"duration_minutes > 0 AND duration_minutes <= {MAX_VISIT_MINUTES} "
                           f"AND duration_minutes % {CELL_MINUTES} = 0",
                           name="duration"),
        sa.CheckConstraint("price_cents >= 0", name="price"),
        sa.CheckConstraint("new_patients OR returning_patients", name="someone_may_book"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    duration_minutes: Mapped[int]
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    new_patients: Mapped[bool] = mapped_column(default=True)
    returning_patients: Mapped[bool] = mapped_column(default=True)
    mode: Mapped[VisitMode] = mapped_column(enum_type(VisitMode), default=VisitMode.IN_PERSON)
    # Whether the label may leave Carnet (mails, SMS, calendar files, the feed);
    # off by default, since a reason can reveal health (webapp.booking.labels).
    shown_in_messages: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    archived_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    practitioner: Mapped[PractitionerProfile] = relationship()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class PractitionerSchedule(db.Model):
    """A practitioner's booking rules; a practitioner without a row uses the defaults."""

    __tablename__ = "practitioner_schedules"
    __table_args__ = (
        sa.CheckConstraint(f"min_notice_minutes >= {SCHEDULE_LIMITS['min_notice_minutes'][0]}", name="min_notice"),
        sa.CheckConstraint(f"horizon_days >= {SCHEDULE_LIMITS['horizon_days'][0]} "
                           f"AND horizon_days <= {SCHEDULE_LIMITS['horizon_days'][1]}", name="horizon"),
        sa.CheckConstraint(f"buffer_minutes >= {SCHEDULE_LIMITS['buffer_minutes'][0]}", name="buffer"),
        sa.CheckConstraint(f"cancellation_deadline_hours >= {SCHEDULE_LIMITS['cancellation_deadline_hours'][0]}",
                           name="cancellation_deadline"),
        sa.CheckConstraint("slot_step_minutes IS NULL OR "
                           f"(slot_step_minutes > 0 AND slot_step_minutes % {CELL_MINUTES} = 0)",
                           name="slot_step"),
    )

    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), primary_key=True)
    timezone: Mapped[str] = mapped_column(sa.String(64), default=SCHEDULE_DEFAULTS["timezone"])
    min_notice_minutes: Mapped[int] = mapped_column(default=SCHEDULE_DEFAULTS["min_notice_minutes"])
    horizon_days: Mapped[int] = mapped_column(default=SCHEDULE_DEFAULTS["horizon_days"])
    buffer_minutes: Mapped[int] = mapped_column(default=SCHEDULE_DEFAULTS["buffer_minutes"])
    cancellation_deadline_hours: Mapped[int] = mapped_column(default=SCHEDULE_DEFAULTS["cancellation_deadline_hours"])
    closed_on_public_holidays: Mapped[bool] = mapped_column(default=SCHEDULE_DEFAULTS["closed_on_public_holidays"])
    # None: the grid follows each visit reason's duration.
    slot_step_minutes: Mapped[int | None]
    # The agenda feed names patients by their initials unless the practitioner asks
    # for full names; kept apart from SCHEDULE_DEFAULTS, which the rules form replaces.
    feed_shows_patient_names: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class WeeklyHours(db.Model):
    """One opening range on a weekday (several per day make breaks), in local time."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        sa.CheckConstraint("start_time < end_time", name="range"),
        sa.Index("ix_weekly_hours_practitioner_weekday", "practitioner_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    weekday: Mapped[int]  # Monday 0 ... Sunday 6
    start_time: Mapped[dt.time]
    end_time: Mapped[dt.time]


class Absence(db.Model):
    """A period without any slot (holidays, training...)."""

    __tablename__ = "absences"
    __table_args__ = (
        sa.CheckConstraint("start_at < end_at", name="range"),
        sa.Index("ix_absences_practitioner_end", "practitioner_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint("start_at < end_at", name="range"),
        sa.Index("ix_appointments_practitioner_start", "practitioner_id", "start_at"),
        sa.Index("ix_appointments_patient_start", "patient_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    visit_reason_id: Mapped[int] = mapped_column(sa.ForeignKey("visit_reasons.id"))
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    status: Mapped[AppointmentStatus] = mapped_column(enum_type(AppointmentStatus), default=AppointmentStatus.BOOKED)
    message: Mapped[str | None] = mapped_column(sa.String(1000))
    booked_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    booked_at_desk: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    status_changed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    cancelled_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    rescheduled_count: Mapped[int] = mapped_column(default=0)
    # The iCalendar SEQUENCE of the event sent to the patient: each move or
    # cancellation is a new revision, so their calendar replaces the old one.
    ics_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the desk saw the patient in the waiting room; a walk-in arrives as it is recorded.
    arrived_at: Mapped[dt.datetime | None]
    is_walk_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The patient side let the practitioner read the notebook from the booking on,
    # rather than from the start of the visit (webapp.booking.visits).
    shares_notebook_ahead: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    practitioner: Mapped[PractitionerProfile] = relationship()
    patient: Mapped[PatientProfile] = relationship()
    visit_reason: Mapped[VisitReason] = relationship()
    booked_by: Mapped[User | None] = relationship(foreign_keys=[booked_by_user_id])
    cells: Mapped[list["OccupiedCell"]] = relationship(back_populates="appointment", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:
        return self.status is AppointmentStatus.BOOKED


class SlotHold(db.Model):
    """A slot kept for one visitor for a few minutes (webapp.booking.holds).

    It occupies its cells exactly like an appointment, so the database keeps
    everyone else out; once `expires_at` is past it no longer counts, and the
    next booking over its time removes its cells in its own transaction."""

    __tablename__ = "slot_holds"
    __table_args__ = (
        sa.CheckConstraint("start_at < end_at", name="range"),
        sa.Index("ix_slot_holds_holder_key", "holder_key"),
        sa.Index("ix_slot_holds_practitioner_start", "practitioner_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    visit_reason_id: Mapped[int] = mapped_column(sa.ForeignKey("visit_reasons.id"))
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    # A digest of the holder's secret (a signed-session value for a web
    # visitor): whoever shows the secret may turn the hold into a booking.
    holder_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    practitioner: Mapped[PractitionerProfile] = relationship()
    visit_reason: Mapped[VisitReason] = relationship()
    cells: Mapped[list["OccupiedCell"]] = relationship(back_populates="hold", cascade="all, delete-orphan")

    def is_active_at(self, moment: dt.datetime) -> bool:
        return moment < self.expires_at


class OccupiedCell(db.Model):
    """One CELL_MINUTES slice of a practitioner's time held by an appointment
    or by a slot hold (exactly one of them).

    The primary key makes a second appointment (or hold) over the same
    minutes impossible on every database, whatever the concurrency: the rows
    are written in the appointment's transaction and deleted when it is
    cancelled.
    """

    __tablename__ = "occupied_cells"
    __table_args__ = (
        sa.CheckConstraint("(appointment_id IS NULL) <> (hold_id IS NULL)", name="one_owner"),
    )

    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), primary_key=True)
    cell_start_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id", ondelete="CASCADE"),
                                                       index=True)
    hold_id: Mapped[int | None] = mapped_column(sa.ForeignKey("slot_holds.id", ondelete="CASCADE"), index=True)

    appointment: Mapped[Appointment | None] = relationship(back_populates="cells")
    hold: Mapped[SlotHold | None] = relationship(back_populates="cells")


class DeskIdentityFailure(db.Model):
    """An identification at the desk that matched no one, counted per account
    over a sliding window so that identities cannot be guessed by trying."""

    __tablename__ = "desk_identity_failures"
    __table_args__ = (sa.Index("ix_desk_identity_failures_user_failed_at", "user_id", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    failed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class WaitlistEntry(db.Model):
    """A patient who wants an earlier slot than the ones on offer."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        sa.Index("ix_waitlist_entries_practitioner_status", "practitioner_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), index=True)
    visit_reason_id: Mapped[int] = mapped_column(sa.ForeignKey("visit_reasons.id"))
    before_at: Mapped[dt.datetime]
    status: Mapped[WaitlistStatus] = mapped_column(enum_type(WaitlistStatus), default=WaitlistStatus.WAITING)
    offered_start_at: Mapped[dt.datetime | None]
    offered_at: Mapped[dt.datetime | None]
    created_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    practitioner: Mapped[PractitionerProfile] = relationship()
    patient: Mapped[PatientProfile] = relationship()
    visit_reason: Mapped[VisitReason] = relationship()


class CalendarFeed(db.Model):
    """The secret of a practitioner's agenda feed, stored only as a digest."""

    __tablename__ = "calendar_feeds"

    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
