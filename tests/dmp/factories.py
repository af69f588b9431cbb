"""Connector factories: identities, consent, practitioners' documents (committed)."""

from tests import factories
from tests.notebook.factories import make_treating_practitioner
from webapp.accounts.api_tokens import issue_api_token
from webapp.crypto import encrypt
from webapp.dmp.models import ConsentRecord, IdentityStatus, PatientIdentity
from webapp.extensions import db
from webapp.notebook import writing

# Both agree with the factories' default patient (born March 1985, no sex
# recorded): a NIR's digits 2-3 and 4-5 are the year and month of birth.
VALID_NIR = "285039912611183"  # a woman born abroad (99) in March 1985
CORSICAN_NIR = "185032A21532588"  # a man born in Corse-du-Sud (2A) in March 1985
WRONG_KEY_NIR = "285039912611199"
# The patient's mother's (born October 1995): the classic "parent's carte Vitale" error.
MOTHERS_NIR = "295109912611193"


def bearer(user) -> dict:
    raw, _ = issue_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def set_identity(patient, *, nir: str = VALID_NIR, status=IdentityStatus.QUALIFIED, by=None) -> PatientIdentity:
    identity = PatientIdentity(patient_id=patient.id, nir=encrypt(nir.encode()), status=status,
                               recorded_by_user_id=(by or patient.account).id)
    db.session.add(identity)
    db.session.commit()
    return identity


def set_consent(patient, consent: bool = True) -> ConsentRecord:
    record = ConsentRecord(patient_id=patient.id, consent=consent, actor_user_id=patient.account.id)
    db.session.add(record)
    db.session.commit()
    return record


def pushable_patient():
    """A consenting patient with a qualified INS and a treating practitioner."""
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    set_identity(patient, by=practitioner.user)
    set_consent(patient)
    return patient, practitioner


def write(author_user, patient, *, kind="report", title="Compte rendu de consultation",
          body="Examen clinique normal.", **fields):
    """An entry written through the notebook service (signals included), committed."""
    entry = writing.add_entry(author_user, patient.id, kind=kind, title=title, body=body, **fields)
    db.session.commit()
    return entry
