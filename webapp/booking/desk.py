"""The desk's patients: creating them, and identifying one by full name and birth date
(failures counted per account over a window)."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.matching import folded_name
from webapp.accounts.models import PatientProfile, Role, User
from webapp.accounts.phones import normalised_phone, phone_problem
from webapp.audit.services import record_event
from webapp.booking.agendas import managed_practitioner, managed_practitioners
from webapp.booking.errors import (
    InvalidBookingData,
    PatientNotFound,
    PatientNotIdentified,
    TooManyIdentificationFailures,
)
from webapp.booking.models import Appointment, DeskIdentityFailure
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import db


@dataclass(frozen=True)
class PatientIdentity:
    """Who the desk says a patient is: the full name (first and last names, in
    either order) and the birth date. Compared with `_folded_name`."""

    full_name: str
    birth_date: dt.date

    @classmethod
    def of(cls, first_name: str, last_name: str, birth_date: dt.date) -> "PatientIdentity":
        return cls(f"{first_name} {last_name}", birth_date)


def create_desk_patient(by: User, *, practitioner_id: int, first_name: str, last_name: str, birth_date: dt.date,
                        email: str | None = None, phone: str | None = None) -> PatientProfile:
    """A patient profile created at the desk of an agenda the user manages,
    without an account (it can be claimed later); it needs a way to reach the
    patient (email or phone). The practice knows the patient from then on.
    Names and birth date follow `accounts.identity_rules`; the phone is kept
    in E.164, as a patient's own, so that SMS reminders can reach it."""
    practitioner = managed_practitioner(by, practitioner_id)
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    email, phone = (email or "").strip().lower() or None, (phone or "").strip() or None
    errors = identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date)
    if not email and not phone:
        errors["email"] = [str(_l("Give an email address or a phone number."))]
    if phone and (problem := phone_problem(phone)):
        errors["phone"] = [problem]
    if errors:
        raise InvalidBookingData(fields=errors)
    profile = PatientProfile(first_name=first_name, last_name=last_name, birth_date=birth_date, email=email,
                             phone=normalised_phone(phone) if phone else None,
                             desk_practitioner_id=practitioner.id)
    db.session.add(profile)
    db.session.flush()
    return profile


def desk_agenda_ids(by: User) -> list[int]:
    """The agendas whose desk the user works at; 403 for anyone without one
    (patients, accountants, the operator's staff)."""
    if by.role not in (Role.PRACTITIONER, Role.STAFF):
        raise Forbidden()
    agenda_ids = [practitioner.id for practitioner in managed_practitioners(by)]
    if not agenda_ids:
        raise Forbidden()
    return agenda_ids


def _known_to_practice(agenda_ids: list[int]) -> sa.ColumnElement[bool]:
    """Patient profiles these agendas have already met: created at their desk
    or with an appointment there (any status)."""
    return sa.or_(
        PatientProfile.desk_practitioner_id.in_(agenda_ids),
        sa.exists().where(Appointment.patient_id == PatientProfile.id, Appointment.practitioner_id.in_(agenda_ids)),
    )


def _has_full_name(profile: PatientProfile, text: str) -> bool:
    first, last = folded_name(profile.first_name), folded_name(profile.last_name)
    return folded_name(text) in (f"{first} {last}", f"{last} {first}")


def _identification_window(now: dt.datetime) -> tuple[int, dt.datetime]:
    config = current_app.config
    return (config["CARNET_DESK_IDENTIFICATION_MAX_FAILURES"],
            now - dt.timedelta(minutes=config["CARNET_DESK_IDENTIFICATION_WINDOW_MINUTES"]))


def check_identification_allowed(by: User, *, now: dt.datetime | None = None) -> None:
    """429 once the account's identifications that matched no one reach the
    limit within the window (`CARNET_DESK_IDENTIFICATION_*`)."""
    limit, since = _identification_window(now or now_utc())
    failures = db.session.scalar(sa.select(sa.func.count(DeskIdentityFailure.id)).where(
        DeskIdentityFailure.user_id == by.id, DeskIdentityFailure.failed_at > since))
    if failures >= limit:
        raise TooManyIdentificationFailures()


def _count_identification_failure(by: User, practitioner_id: int, now: dt.datetime) -> None:
    """Count and audit (ids only) an identification that matched no one."""
    db.session.add(DeskIdentityFailure(user_id=by.id, failed_at=now))
    record_event("desk.identity_failed", actor=by, target_type="practitioner_profile", target_id=practitioner_id)


def _identification_failed(by: User, practitioner_id: int, now: dt.datetime) -> PatientNotIdentified:
    """The error of a failed identification, counted; it keeps these writes."""
    _count_identification_failure(by, practitioner_id, now)
    return PatientNotIdentified(fields={"patient": [str(PatientNotIdentified.default_message)]})


def _profiles_with_identity(identity: PatientIdentity, *, patient_id: int | None = None) -> list[PatientProfile]:
    statement = sa.select(PatientProfile).where(PatientProfile.birth_date == identity.birth_date)
    if patient_id is not None:
        statement = statement.where(PatientProfile.id == patient_id)
    return [profile for profile in db.session.scalars(statement.order_by(PatientProfile.id))
            if _has_full_name(profile, identity.full_name)]


def identify_patient(by: User, identity: PatientIdentity, *, practitioner_id: int, patient_id: int | None = None,
                     now: dt.datetime | None = None) -> PatientProfile:
    """The one patient profile with this identity (and this id, if given), for
    the desk of agenda `practitioner_id`. No profile, or several, is a 404
    `patient_not_found` that is counted and audited; past the limit, 429."""
    now = now or now_utc()
    check_identification_allowed(by, now=now)
    profiles = _profiles_with_identity(identity, patient_id=patient_id)
    if len(profiles) != 1:
        raise _identification_failed(by, practitioner_id, now)
    return profiles[0]


def find_patients(by: User, text: str, *, birth_date: dt.date | None = None, limit: int = 20,
                  now: dt.datetime | None = None) -> list[PatientProfile]:
    """Patients for desk booking by a practitioner or a clinic secretary.

    Patients known to the practice match when their names contain every word
    of `text` (at least 2 letters). Anyone else is found only by identity:
    their full name (first and last, in either order) and birth date, so a
    desk cannot browse the instance's patients. A search with a birth date
    that finds no one born that day is a failed identification: counted,
    audited and limited as at booking (the caller commits it)."""
    agenda_ids = desk_agenda_ids(by)
    words = [word for word in (text or "").split() if len(word) >= 2]
    if not words:
        return []
    if birth_date is not None:
        check_identification_allowed(by, now=now)
    statement = sa.select(PatientProfile).where(_known_to_practice(agenda_ids))
    for word in words:
        statement = statement.where(sa.or_(
            PatientProfile.first_name.icontains(word, autoescape=True),
            PatientProfile.last_name.icontains(word, autoescape=True),
        ))
    order = (PatientProfile.last_name, PatientProfile.first_name, PatientProfile.id)
    known = list(db.session.scalars(statement.order_by(*order).limit(limit)))
    if birth_date is None:
        return known
    known_ids = {profile.id for profile in known}
    identified = [profile for profile in _profiles_with_identity(PatientIdentity(text, birth_date))
                  if profile.id not in known_ids]
    found = known + identified[:limit - len(known)]
    if not any(profile.birth_date == birth_date for profile in found):
        _count_identification_failure(by, agenda_ids[0], now or now_utc())
    return found


def desk_patient(by: User, patient_id: int, *, identity: PatientIdentity | None = None,
                 practitioner_id: int | None = None, now: dt.datetime | None = None) -> PatientProfile:
    """A patient the user may book for at the desk: known to the practice, or
    reached by their full `identity` (see `identify_patient`). An unknown
    patient without identity is a 404 whether the profile exists or not."""
    agenda_ids = desk_agenda_ids(by)
    patient = db.session.scalar(sa.select(PatientProfile).where(
        PatientProfile.id == patient_id, _known_to_practice(agenda_ids)))
    if patient is not None:
        return patient
    if identity is None:
        raise PatientNotFound(fields={"patient_id": [str(PatientNotFound.default_message)]})
    return identify_patient(by, identity, practitioner_id=practitioner_id or agenda_ids[0], patient_id=patient_id,
                            now=now)
