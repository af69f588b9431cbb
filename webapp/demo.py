"""`flask seed-demo`: a realistic demo world for the embedded default.

Every demo account uses the password `carnet-demo-2026`; practitioners and
staff share one fixed, documented TOTP secret so anyone can log in with any
authenticator app. Never run this against production data.
"""

import datetime as dt
import unicodedata

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from stdnum import luhn

from webapp.accounts import services as accounts
from webapp.accounts.models import Clinic, ClinicMember, ClinicRole, Role, User
from webapp.booking.models import Appointment, AppointmentStatus, VisitReason
from webapp.booking.services import occupied_cells_for
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook import services as notebook
from webapp.transaction import transaction

DEMO_PASSWORD = "carnet-demo-2026"
DEMO_TOTP_SECRET = "CARNETDEMOTOTPSECRETKEY234567ABC"

# (first name, last name, specialty, address, postcode, city)
PRACTITIONERS = [
    ("Claire", "Martin", "general_practitioner", "12 rue de la Roquette", "75011", "Paris"),
    ("Julien", "Bernard", "pediatrician", "8 avenue Jean Jaurès", "69007", "Lyon"),
    ("Sophie", "Dubois", "dermatologist", "24 cours Mirabeau", "13100", "Aix-en-Provence"),
    ("Nicolas", "Thomas", "cardiologist", "3 place du Capitole", "31000", "Toulouse"),
    ("Camille", "Robert", "gynecologist", "15 rue Sainte-Catherine", "33000", "Bordeaux"),
    ("Antoine", "Richard", "ophthalmologist", "41 boulevard de la Liberté", "59800", "Lille"),
    ("Élodie", "Petit", "dentist", "6 rue du Bac", "75007", "Paris"),
    ("Mathieu", "Durand", "physiotherapist", "19 quai de la Fosse", "44000", "Nantes"),
    ("Laure", "Leroy", "general_practitioner", "2 rue des Halles", "67000", "Strasbourg"),
    ("Hugo", "Moreau", "psychiatrist", "27 rue Paradis", "13001", "Marseille"),
    ("Inès", "Simon", "ent", "10 place Bellecour", "69002", "Lyon"),
    ("Thomas", "Laurent", "rheumatologist", "5 rue Nationale", "37000", "Tours"),
    ("Manon", "Lefebvre", "endocrinologist", "33 avenue de la Marne", "64200", "Biarritz"),
    ("Pierre", "Michel", "general_practitioner", "14 rue Foch", "34000", "Montpellier"),
    ("Chloé", "Garcia", "midwife", "7 rue de Siam", "29200", "Brest"),
    ("Lucas", "David", "psychologist", "21 rue Saint-Ferréol", "13001", "Marseille"),
    ("Sarah", "Bertrand", "pediatrician", "9 rue Gambetta", "35000", "Rennes"),
    ("Maxime", "Roux", "osteopath", "18 rue d'Alsace", "38000", "Grenoble"),
    ("Léa", "Vincent", "speech_therapist", "4 rue de la République", "21000", "Dijon"),
    ("Olivier", "Fournier", "gastroenterologist", "30 boulevard Victor Hugo", "06000", "Nice"),
]

# (first name, last name, birth date, relatives as (first name, birth date))
PATIENTS = [
    ("Marie", "Lambert", dt.date(1986, 4, 12), [("Jules", dt.date(2016, 9, 3)), ("Alice", dt.date(2019, 2, 21))]),
    ("Jean", "Girard", dt.date(1958, 11, 30), []),
    ("Fatima", "Benali", dt.date(1979, 7, 8), [("Yanis", dt.date(2012, 5, 17))]),
    ("Paul", "Mercier", dt.date(1994, 1, 25), []),
]


def demo_email(first_name: str, last_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", f"{first_name}.{last_name}").encode("ascii", "ignore").decode()
    return f"{ascii_name.lower()}@demo.example.com"


def _rpps_for(index: int) -> str:
    """A valid RPPS in the test range 997...: a 10-digit stem plus its Luhn digit."""
    stem = f"997000{index:04d}"
    return stem + luhn.calc_check_digit(stem)


def seed_demo_world() -> list[tuple[str, str]]:
    """Create the demo accounts; returns (role, email) of the documented logins."""
    logins = []
    clinic = Clinic(name="Centre médical de la Roquette", address="12 rue de la Roquette",
                    postcode="75011", city="Paris", siret="12345678900011", billing_email="compta@demo.example.com")
    db.session.add(clinic)
    for index, (first, last, specialty, address, postcode, city) in enumerate(PRACTITIONERS):
        user = accounts.register_practitioner(
            email=demo_email(first, last), password=DEMO_PASSWORD, first_name=first, last_name=last,
            rpps=_rpps_for(index), specialty=specialty, address=address, postcode=postcode, city=city,
            locale="fr", totp_secret=DEMO_TOTP_SECRET,
        )
        user.totp_enabled_at = user.created_at
        if city == "Paris" and address.startswith("12 rue de la Roquette"):
            user.practitioner_profile.clinic = clinic
            db.session.add(ClinicMember(clinic=clinic, user=user, clinic_role=ClinicRole.PRACTITIONER))
        logins.append(("practitioner", user.email))
    secretary = accounts.create_staff(email="secretariat@demo.example.com", password=DEMO_PASSWORD,
                                      clinic=clinic, clinic_role=ClinicRole.SECRETARY, locale="fr")
    backoffice = accounts.create_staff(email="backoffice@demo.example.com", password=DEMO_PASSWORD,
                                       role=Role.ADMIN, locale="fr")
    for staff in (secretary, backoffice):
        staff.totp_secret = DEMO_TOTP_SECRET
        staff.totp_enabled_at = staff.created_at
        logins.append((staff.role.value, staff.email))
    for first, last, birth_date, relatives in PATIENTS:
        user = accounts.register_patient(
            email=demo_email(first, last), password=DEMO_PASSWORD,
            first_name=first, last_name=last, birth_date=birth_date, locale="fr",
        )
        for relative_first, relative_birth in relatives:
            accounts.add_relative(user, first_name=relative_first, last_name=last, birth_date=relative_birth)
        logins.append(("patient", user.email))
    seed_demo_notebooks()
    return logins


def _demo_user(first_name: str, last_name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == demo_email(first_name, last_name)))


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


def seed_demo_notebooks() -> None:
    """Notebooks of the demo patients: Jean Girard's hypertension and type 2
    diabetes followed over six months by Dr Claire Martin, Jules Lambert's
    vaccinations and allergy entered by his mother."""
    jean, claire = _demo_user("Jean", "Girard"), _demo_user("Claire", "Martin")
    patient_id = jean.patient_profile.id
    today = now_utc()
    visit = _past_visit(claire.practitioner_profile, jean.patient_profile, days_ago=14)

    def add(user, kind, title, body="", data=None, appointment_id=None):
        return notebook.add_entry(user, patient_id, kind=kind, title=title, body=body, data=data,
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

    marie = _demo_user("Marie", "Lambert")
    jules = next(profile for profile in accounts.list_relatives(marie) if profile.first_name == "Jules")
    for vaccine, lot, date in (("ROR (rougeole, oreillons, rubéole)", "R8823", "2017-09-04"),
                               ("DTCaP-Hib-HépB (Hexyon)", "H5510", "2016-11-03")):
        notebook.add_entry(marie, jules.id, kind="vaccination", title=vaccine.split(" (")[0], body="",
                           data={"vaccine": vaccine, "lot": lot, "date": date})
    notebook.add_entry(marie, jules.id, kind="allergy", title="Allergie à l'arachide", body="Trousse d'urgence à l'école.",
                       data={"substance": "Arachide", "reaction": "Œdème des lèvres", "severity": "moderate"})


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo practitioners, patients, staff and their data."""
    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("Demo data already present.")
        return
    with transaction():
        logins = seed_demo_world()
    click.echo(f"Demo logins (password {DEMO_PASSWORD!r}; TOTP secret {DEMO_TOTP_SECRET} for practitioners and staff):")
    for role, email in logins:
        click.echo(f"  {role:<13} {email}")
