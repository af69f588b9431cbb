"""`flask seed-demo`: a realistic demo world for the embedded default.

Every demo account uses the password `carnet-demo-2026`; practitioners and
staff share one fixed, documented TOTP secret so anyone can log in with any
authenticator app. Never run this against production data.
"""

import datetime as dt
import unicodedata
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from stdnum import luhn

from webapp.accounts import registration
from webapp.accounts.directory import import_directory
from webapp.accounts.models import (
    Clinic,
    ClinicMember,
    ClinicRole,
    PractitionerProfile,
    Role,
    User,
    Verification,
    VerificationMethod,
)
from webapp.accounts.relatives import add_relative
from webapp.billing.demo import seed_billing_demo
from webapp.booking.demo import seed_booking_demo
from webapp.demo_contacts import give_demo_phones
from webapp.extensions import db
from webapp.notebook.demo import seed_notebook_demo
from webapp.transaction import transaction

DEMO_PASSWORD = "carnet-demo-2026"  # nosec B105  # the documented password of the demo accounts
DEMO_TOTP_SECRET = "CARNETDEMOTOTPSECRETKEY234567ABC"  # nosec B105  # the documented demo TOTP secret
DEMO_EMAIL_DOMAIN = "@demo.example.com"

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

# Sign-ups the back office has yet to verify (not listed, no agenda open):
# (first name, last name, specialty, address, postcode, city, RPPS index).
# The sample directory has Nadia Haddad as she signed up, and this RPPS
# number under another first name (Sébastien), so one matches and one does not.
APPLICANTS = [
    ("Nadia", "Haddad", "general_practitioner", "52 rue Paradis", "13001", "Marseille", 100),
    ("Bastien", "Lemoine", "cardiologist", "12 rue Dubernat", "33000", "Bordeaux", 101),
]
# An extract of the public RPPS directory in the ANS format, with the demo
# practitioners (fictional people and numbers in the 997... test range).
DIRECTORY_SAMPLE = Path(__file__).parent / "accounts" / "data" / "PS_LibreAcces_Personne_activite_demo.txt"

# (first name, last name, birth date, relatives as (first name, birth date))
PATIENTS = [
    ("Marie", "Lambert", dt.date(1986, 4, 12), [("Jules", dt.date(2016, 9, 3)), ("Alice", dt.date(2019, 2, 21))]),
    ("Jean", "Girard", dt.date(1958, 11, 30), []),
    ("Fatima", "Benali", dt.date(1979, 7, 8), [("Yanis", dt.date(2012, 5, 17))]),
    ("Paul", "Mercier", dt.date(1994, 1, 25), []),
]


def demo_email(first_name: str, last_name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", f"{first_name}.{last_name}").encode("ascii", "ignore").decode()
    return f"{ascii_name.lower()}{DEMO_EMAIL_DOMAIN}"


def _rpps_for(index: int) -> str:
    """A valid RPPS in the test range 997...: a 10-digit stem plus its Luhn digit."""
    stem = f"997000{index:04d}"
    return stem + luhn.calc_check_digit(stem)


def seed_demo_world() -> None:
    """Create the demo accounts and their agendas, subscriptions and notebooks."""
    clinic = Clinic(name="Centre médical de la Roquette", address="12 rue de la Roquette",
                    postcode="75011", city="Paris", siret="12345678900011", billing_email="compta@demo.example.com")
    db.session.add(clinic)
    for index, (first, last, specialty, address, postcode, city) in enumerate(PRACTITIONERS):
        user = registration.register_practitioner(
            email=demo_email(first, last), password=DEMO_PASSWORD, first_name=first, last_name=last,
            rpps=_rpps_for(index), specialty=specialty, address=address, postcode=postcode, city=city,
            locale="fr", totp_secret=DEMO_TOTP_SECRET,
        )
        user.totp_enabled_at = user.created_at
        _mark_verified(user.practitioner_profile)
        if city == "Paris" and address.startswith("12 rue de la Roquette"):
            user.practitioner_profile.clinic = clinic
            db.session.add(ClinicMember(clinic=clinic, user=user, clinic_role=ClinicRole.PRACTITIONER))
    secretary = registration.create_staff(email=f"secretariat{DEMO_EMAIL_DOMAIN}", password=DEMO_PASSWORD,
                                      clinic=clinic, clinic_role=ClinicRole.SECRETARY, locale="fr")
    # The clinic's accountant sees its billing, never its agendas nor any notebook.
    accountant = registration.create_staff(email=f"comptabilite{DEMO_EMAIL_DOMAIN}", password=DEMO_PASSWORD,
                                       clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT, locale="fr")
    backoffice = registration.create_staff(email=f"backoffice{DEMO_EMAIL_DOMAIN}", password=DEMO_PASSWORD,
                                       role=Role.ADMIN, locale="fr")
    for staff in (secretary, accountant, backoffice):
        staff.totp_secret = DEMO_TOTP_SECRET
        staff.totp_enabled_at = staff.created_at
    seed_billing_demo(operator=backoffice)
    for first, last, birth_date, relatives in PATIENTS:
        user = registration.register_patient(
            email=demo_email(first, last), password=DEMO_PASSWORD,
            first_name=first, last_name=last, birth_date=birth_date, locale="fr",
        )
        for relative_first, relative_birth in relatives:
            add_relative(user, first_name=relative_first, last_name=last, birth_date=relative_birth)
    give_demo_phones()
    seed_booking_demo()
    seed_notebook_demo(
        patient=_demo_user("Jean", "Girard"), practitioner=_demo_user("Claire", "Martin"),
        parent=_demo_user("Marie", "Lambert"),
    )
    import_directory(DIRECTORY_SAMPLE)
    for first, last, specialty, address, postcode, city, rpps_index in APPLICANTS:
        user = registration.register_practitioner(
            email=demo_email(first, last), password=DEMO_PASSWORD, first_name=first, last_name=last,
            rpps=_rpps_for(rpps_index), specialty=specialty, address=address, postcode=postcode, city=city,
            locale="fr", totp_secret=DEMO_TOTP_SECRET,
        )
        user.totp_enabled_at = user.created_at


def _mark_verified(profile: PractitionerProfile) -> None:
    """The demo practitioners are at work: verified against the sample directory
    (no mail, no back-office decision to show)."""
    profile.verification = Verification.VERIFIED
    profile.verification_method = VerificationMethod.DIRECTORY
    profile.verified_at = profile.created_at


def _demo_user(first_name: str, last_name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == demo_email(first_name, last_name)))


def echo_demo_logins() -> None:
    """Print the demo accounts present in the database (nothing on a database without them)."""
    users = db.session.execute(
        sa.select(User.role, User.email).where(User.email.endswith(DEMO_EMAIL_DOMAIN)).order_by(User.id)
    ).all()
    if not users:
        return
    click.echo(f"Demo logins (password {DEMO_PASSWORD!r}; TOTP secret {DEMO_TOTP_SECRET} for practitioners and staff):")
    for role, email in users:
        click.echo(f"  {role.value:<13} {email}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo practitioners, patients, staff and their data."""
    if current_app.config["CARNET_ENV"] == "production":
        raise click.ClickException("The demo world (known passwords and codes) is never seeded in production.")
    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("Demo data already present.")
        return
    with transaction():
        seed_demo_world()
    click.echo("Demo data created; `flask serve` lists the demo logins once it listens.")
