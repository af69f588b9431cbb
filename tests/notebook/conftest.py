"""The notebook's cast: one patient and everyone who may or may not open their notebook."""

from dataclasses import dataclass

import pytest

from tests import factories
from tests.notebook.factories import (
    make_attachment,
    make_entry,
    make_measurement,
    make_proxy_user,
    make_treating_practitioner,
    mask_entry,
    revoke,
)
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)
from webapp.accounts.api_tokens import issue_api_token
from webapp.extensions import db

# Everyone the authorization matrix asks about.
ACTORS = ("patient", "proxy", "treating", "masked", "revoked", "unrelated", "staff", "other_patient", "anonymous")


@dataclass
class World:
    patient: object
    users: dict
    entry: object  # written by the patient, hidden from the "masked" practitioner
    attachment: object
    treating: object
    masked: object
    revoked: object
    unrelated: object


@pytest.fixture
def world() -> World:
    patient = factories.make_patient()
    treating = make_treating_practitioner(patient)
    masked = make_treating_practitioner(patient)
    revoked = make_treating_practitioner(patient)
    revoke(patient, revoked)
    unrelated = factories.make_practitioner()
    entry = make_entry(patient, title="Résultats sensibles", body="Texte très confidentiel")
    mask_entry(entry, masked)
    attachment = make_attachment(entry)
    make_measurement(patient, "weight", 81.5, "kg", days_ago=3)
    users = {
        "patient": patient.account, "proxy": make_proxy_user(patient), "treating": treating.user,
        "masked": masked.user, "revoked": revoked.user, "unrelated": unrelated.user,
        "staff": factories.make_staff(clinic=factories.make_clinic()),
        "other_patient": factories.make_patient().account,
        "anonymous": None,
    }
    return World(patient, users, entry, attachment, treating, masked, revoked, unrelated)


@pytest.fixture
def bearer():
    """Authorization headers for a user (a token issued directly), or none for anonymous."""

    def headers_for(user) -> dict:
        if user is None:
            return {}
        raw, _ = issue_api_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return headers_for


@pytest.fixture
def login(log_in):
    """`log_in` (tests/conftest.py), where None (a visitor) logs no one in."""
    return lambda user: None if user is None else log_in(user)
