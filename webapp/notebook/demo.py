"""Demo notebooks for `flask seed-demo` (see webapp/demo.py)."""

import datetime as dt

import sqlalchemy as sa

from webapp.accounts import relatives
from webapp.accounts.models import User
from webapp.booking.appointments import occupied_cells_for
from webapp.booking.models import Appointment, AppointmentStatus, VisitReason
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook import writing


def _past_visit(practitioner, patient, days_ago: int) -> Appointment:
    """A completed visit in the past (reused if the booking demo already made one)."""
    existing = db.session.scalar(sa.select(Appointment).where(
        Appointment.practitioner_id == practitioner.id, Appointment.patient_id == patient.id,
        Appointment.status == AppointmentStatus.COMPLETED, Appointment.start_at < now_utc()))
    if existing is not None:
        return existing
    reason = VisitReason(practitioner_id=practitioner.id, label="Suivi de maladie chronique", duration_minutes=30,
                         price_cents=3000)
    start = (now_utc() - dt.timedelta(days=days_ago)).replace(hour=16, minute=30, second=0, microsecond=0)
    visit = Appointment(practitioner_id=practitioner.id, patient_id=patient.id, visit_reason=reason, start_at=start,
                        end_at=start + dt.timedelta(minutes=30), status=AppointmentStatus.COMPLETED,
                        status_changed_at=start + dt.timedelta(minutes=30))
    visit.cells = occupied_cells_for(practitioner.id, visit.start_at, visit.end_at)
    db.session.add(visit)
    db.session.flush()
    return visit


def seed_notebook_demo(*, patient: User, practitioner: User, parent: User) -> None:
    """Demo notebooks: a patient's hypertension and type 2 diabetes followed
    over six months by their practitioner, and a child's vaccinations and
    allergy entered by their parent."""
    jean, claire = patient, practitioner
    patient_id = jean.patient_profile.id
    today = now_utc()
    visit = _past_visit(claire.practitioner_profile, jean.patient_profile, days_ago=14)

    def add(user, kind, title, body="", data=None, appointment_id=None):
        return writing.add_entry(user, patient_id, kind=kind, title=title, body=body, data=data,
                                 appointment_id=appointment_id)

    def measure(user, measurement_type, value, unit, days_ago, title):
        at = (today - dt.timedelta(days=days_ago)).replace(hour=7, minute=30, second=0, microsecond=0)
        add(user, "measurement", title, data={"type": measurement_type, "value": value, "unit": unit,
                                              "measured_at": at.isoformat()})

    for index, (systolic, diastolic) in enumerate([(158, 96), (154, 95), (151, 93), (149, 92), (146, 90),
                                                   (144, 89), (141, 88), (139, 86), (137, 85), (135, 84)]):
        days_ago = 180 - index * 18
        measure(jean, "blood_pressure_systolic", systolic, "mmHg", days_ago, "Tension systolique")
        measure(jean, "blood_pressure_diastolic", diastolic, "mmHg", days_ago, "Tension diastolique")
    for index, (weight, glucose) in enumerate([(92.4, 1.46), (91.8, 1.41), (91.0, 1.35), (90.1, 1.30),
                                               (89.3, 1.26), (88.6, 1.21)]):
        measure(jean, "weight", weight, "kg", 175 - index * 30, "Poids")
        measure(jean, "glucose", glucose, "g/L", 175 - index * 30, "Glycémie à jeun")
    for days_ago, hba1c in ((170, 8.1), (80, 7.6), (15, 7.1)):
        measure(claire, "hba1c", hba1c, "%", days_ago, "HbA1c (laboratoire)")
    add(jean, "allergy", "Allergie à la pénicilline", "Découverte en 1994 après une angine.",
        {"substance": "Pénicilline", "reaction": "Urticaire généralisée", "severity": "severe"})
    start = (today - dt.timedelta(days=200)).date()
    add(claire, "treatment", "Metformine", data={"drug": "Metformine 1000 mg", "dosage": "1 comprimé matin et soir",
                                                 "start": start.isoformat()})
    add(claire, "treatment", "Ramipril", data={"drug": "Ramipril 5 mg", "dosage": "1 comprimé le matin",
                                               "start": start.isoformat()})
    add(claire, "treatment", "Azithromycine", data={
        "drug": "Azithromycine 250 mg", "dosage": "2 comprimés le 1er jour puis 1 par jour",
        "start": (today - dt.timedelta(days=95)).date().isoformat(),
        "end": (today - dt.timedelta(days=91)).date().isoformat()})
    add(jean, "vaccination", "Grippe saisonnière", data={
        "vaccine": "Grippe saisonnière (Vaxigrip Tetra)", "lot": "W3K412",
        "date": (today - dt.timedelta(days=60)).date().isoformat()})
    add(jean, "vaccination", "Rappel dTP", data={"vaccine": "Diphtérie, tétanos, poliomyélite (Revaxis)",
                                                 "lot": "T1C871", "date": "2023-05-12"})
    add(claire, "report", "Compte rendu de consultation",
        "Suivi HTA et diabète de type 2. Tension mieux contrôlée sous ramipril (135/84 ce jour). "
        "HbA1c à 7,1 % en baisse. Poursuite du traitement, contrôle HbA1c dans 3 mois, fond d'œil à prévoir.",
        appointment_id=visit.id)
    add(claire, "prescription", "Ordonnance de renouvellement",
        "Metformine 1000 mg : 1 cp matin et soir, 3 mois.\nRamipril 5 mg : 1 cp le matin, 3 mois.\n"
        "Bilan sanguin : HbA1c, créatininémie, kaliémie dans 3 mois.", appointment_id=visit.id)

    marie = parent
    jules = next(profile for profile in relatives.list_relatives(marie) if profile.first_name == "Jules")
    for vaccine, lot, date in (("ROR (rougeole, oreillons, rubéole)", "R8823", "2017-09-04"),
                               ("DTCaP-Hib-HépB (Hexyon)", "H5510", "2016-11-03")):
        writing.add_entry(marie, jules.id, kind="vaccination", title=vaccine.split(" (")[0], body="",
                          data={"vaccine": vaccine, "lot": lot, "date": date})
    writing.add_entry(marie, jules.id, kind="allergy", title="Allergie à l'arachide",
                      body="Trousse d'urgence à l'école.",
                      data={"substance": "Arachide", "reaction": "Œdème des lèvres", "severity": "moderate"})
