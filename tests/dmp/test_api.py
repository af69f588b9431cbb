"""INS and consent endpoints (connector on): who may do what, validation, what is recorded."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.dmp.factories import CORSICAN_NIR, MOTHERS_NIR, VALID_NIR, WRONG_KEY_NIR, bearer, set_identity
from tests.notebook.factories import make_proxy_user, make_treating_practitioner
from webapp.accounts.models import ClinicRole, Role, Sex
from webapp.audit.models import AuditEvent
from webapp.dmp.models import ConsentRecord, IdentityStatus, PatientIdentity
from webapp.extensions import db


class Cast(dict):
    """The people of a test, each made the first time the test names them
    (making all ten for every test was most of this file's time)."""

    def __init__(self):
        super().__init__()
        self._makers = {
            "patient": factories.make_patient,
            "clinic": lambda: self._practice("clinic"),
            "patient_user": lambda: self["patient"].account,
            "proxy": lambda: make_proxy_user(self["patient"]),
            "treating": lambda: self._practice("treating"),
            "clinic_staff": lambda: factories.make_staff(clinic=self["clinic"]),
            "other_staff": lambda: factories.make_staff(clinic=factories.make_clinic()),
            "accountant": lambda: factories.make_staff(clinic=self["clinic"], clinic_role=ClinicRole.ACCOUNTANT),
            "unrelated": lambda: factories.make_practitioner().user,
            "other_patient": lambda: factories.make_patient().account,
            "admin": lambda: factories.make_staff(role=Role.ADMIN),
        }

    def _practice(self, name: str):
        """The patient's treating practitioner and their clinic, made together:
        the clinic's staff run that agenda."""
        clinic = factories.make_clinic()
        self.update(clinic=clinic, treating=make_treating_practitioner(self["patient"], clinic=clinic).user)
        return self[name]

    def __missing__(self, name: str):
        self[name] = self._makers[name]()
        return self[name]


@pytest.fixture
def cast(dmp):
    return Cast()


def _identity_url(patient) -> str:
    return f"/api/v1/patients/{patient.id}/identity"


def _identity(patient) -> PatientIdentity | None:
    db.session.expire_all()
    return db.session.get(PatientIdentity, patient.id)


@pytest.mark.parametrize("actor", ["patient_user", "proxy"])
def test_the_patient_side_records_a_provisional_ins(cast, dmp_client, actor):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": "2 85 03 99 126 111 83", "status":
                              "provisional"}, headers=bearer(cast[actor]))
    assert response.status_code == 200, response.json
    assert response.json["ins"] == VALID_NIR and response.json["status"] == "provisional"
    assert response.json["recorded_by"] == cast[actor].id
    identity = _identity(cast["patient"])
    assert identity.ins == VALID_NIR and identity.status is IdentityStatus.PROVISIONAL
    assert VALID_NIR.encode() not in identity.nir  # stored encrypted


@pytest.mark.parametrize("status", ["validated", "recovered", "qualified"])
@pytest.mark.parametrize("actor", ["patient_user", "proxy"])
def test_the_patient_side_asking_for_more_than_provisional_gets_403(cast, dmp_client, actor, status):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": status},
                              headers=bearer(cast[actor]))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "qualification_not_allowed"
    assert _identity(cast["patient"]) is None


@pytest.mark.parametrize("status", ["recovered", "qualified"])
@pytest.mark.parametrize("actor", ["treating", "clinic_staff"])
def test_nobody_sets_recovered_or_qualified_by_hand(cast, dmp_client, actor, status):
    """Only an INSi answer makes an INS recovered or qualified (RNIV)."""
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": status},
                              headers=bearer(cast[actor]))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insi_answer_required"
    assert "INSi" in response.json["error"]["message"]
    assert _identity(cast["patient"]) is None


@pytest.mark.parametrize("actor", ["treating", "clinic_staff"])
def test_a_treating_practitioner_or_clinic_secretary_validates_the_ins(cast, dmp_client, actor):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": CORSICAN_NIR, "status": "validated"},
                              headers=bearer(cast[actor]))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "validated"
    identity = _identity(cast["patient"])
    assert identity.status is IdentityStatus.VALIDATED and identity.ins == CORSICAN_NIR
    assert identity.recorded_by_user_id == cast[actor].id
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dmp.identity_recorded"))
    assert event.actor_id == cast[actor].id and event.target_id == str(cast["patient"].id)


@pytest.mark.parametrize("actor", ["unrelated", "other_staff", "accountant", "other_patient"])
def test_anyone_else_gets_404(cast, dmp_client, actor):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": "provisional"},
                              headers=bearer(cast[actor]))
    assert response.status_code == 404
    assert _identity(cast["patient"]) is None


def test_the_admin_role_is_refused(cast, dmp_client):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": "provisional"},
                              headers=bearer(cast["admin"]))
    assert response.status_code == 403


def test_an_unknown_patient_is_404(cast, dmp_client):
    response = dmp_client.put("/api/v1/patients/999999/identity", json={"ins": VALID_NIR, "status": "validated"},
                              headers=bearer(cast["treating"]))
    assert response.status_code == 404


@pytest.mark.parametrize("actor", ["patient_user", "treating"])
def test_a_nir_whose_key_does_not_match_is_422_invalid_ins(cast, dmp_client, actor):
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": WRONG_KEY_NIR, "status": "provisional"},
                              headers=bearer(cast[actor]))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_ins"
    assert "NIR" in error["message"] and error["fields"] == {"ins": [error["message"]]}
    assert _identity(cast["patient"]) is None


@pytest.mark.parametrize("body", [{}, {"ins": VALID_NIR}, {"ins": VALID_NIR, "status": "verified"},
                                  {"ins": 295109912611193, "status": "provisional"},
                                  {"ins": "", "status": "provisional"}])
def test_malformed_identity_bodies_are_422(cast, dmp_client, body):
    response = dmp_client.put(_identity_url(cast["patient"]), json=body, headers=bearer(cast["treating"]))
    assert response.status_code == 422
    assert _identity(cast["patient"]) is None


@pytest.mark.parametrize("actor", ["patient_user", "treating", "clinic_staff"])
def test_a_parents_nir_is_refused_naming_the_birth_date(cast, dmp_client, actor):
    """The mother's NIR (born October 1995) for a patient born March 1985."""
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": MOTHERS_NIR, "status": "provisional"},
                              headers=bearer(cast[actor]))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "ins_traits_mismatch"
    assert set(error["fields"]) == {"ins", "birth_date"}
    assert _identity(cast["patient"]) is None


def test_a_nir_of_the_other_sex_is_refused_naming_the_sex(cast, dmp_client):
    cast["patient"].sex = Sex.MALE
    db.session.commit()
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": "validated"},
                              headers=bearer(cast["treating"]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "ins_traits_mismatch"
    assert set(response.json["error"]["fields"]) == {"ins", "sex"}
    accepted = dmp_client.put(_identity_url(cast["patient"]), json={"ins": CORSICAN_NIR, "status": "validated"},
                              headers=bearer(cast["treating"]))
    assert accepted.status_code == 200, accepted.json


def test_a_profile_without_sex_compares_birth_only(cast, dmp_client):
    for nir in (VALID_NIR, CORSICAN_NIR):
        response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": nir, "status": "provisional"},
                                  headers=bearer(cast["patient_user"]))
        assert response.status_code == 200, response.json


def test_a_recovered_ins_validated_by_a_professional_becomes_qualified(cast, dmp_client):
    """RNIV: an identity returned by INSi plus an identity document checked is qualified."""
    set_identity(cast["patient"], status=IdentityStatus.RECOVERED, by=cast["treating"])
    response = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": "validated"},
                              headers=bearer(cast["clinic_staff"]))
    assert response.status_code == 200 and response.json["status"] == "qualified"


def test_the_patient_side_keeps_a_qualified_number_but_a_new_number_is_provisional(cast, dmp_client):
    set_identity(cast["patient"], by=cast["treating"])
    headers = bearer(cast["patient_user"])
    same = dmp_client.put(_identity_url(cast["patient"]), json={"ins": VALID_NIR, "status": "provisional"},
                          headers=headers)
    assert same.status_code == 200 and same.json["status"] == "qualified"
    other = dmp_client.put(_identity_url(cast["patient"]), json={"ins": CORSICAN_NIR, "status": "provisional"},
                           headers=headers)
    assert other.status_code == 200 and other.json["status"] == "provisional"
    assert _identity(cast["patient"]).status is IdentityStatus.PROVISIONAL


@pytest.mark.parametrize("actor", ["patient_user", "proxy"])
def test_the_patient_side_gives_and_withdraws_consent_with_time_and_actor(cast, dmp_client, actor):
    url = f"/api/v1/patients/{cast['patient'].id}/dmp-consent"
    given = dmp_client.put(url, json={"consent": True}, headers=bearer(cast[actor]))
    withdrawn = dmp_client.put(url, json={"consent": False}, headers=bearer(cast[actor]))
    assert given.status_code == withdrawn.status_code == 200
    assert given.json["consent"] is True and withdrawn.json["consent"] is False
    assert withdrawn.json["recorded_by"] == cast[actor].id and withdrawn.json["recorded_at"].endswith("+00:00")
    records = db.session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(record.consent, record.actor_user_id) for record in records] == [(True, cast[actor].id),
                                                                              (False, cast[actor].id)]
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("dmp.%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["dmp.consent_given", "dmp.consent_withdrawn"]


@pytest.mark.parametrize("actor,status", [("treating", 403), ("clinic_staff", 403), ("admin", 403),
                                          ("unrelated", 403), ("other_patient", 404)])
def test_only_the_patient_side_records_consent(cast, dmp_client, actor, status):
    response = dmp_client.put(f"/api/v1/patients/{cast['patient'].id}/dmp-consent", json={"consent": True},
                              headers=bearer(cast[actor]))
    assert response.status_code == status
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0


@pytest.mark.parametrize("body", [{}, {"consent": "maybe"}, {"consent": None}])
def test_malformed_consent_bodies_are_422(cast, dmp_client, body):
    response = dmp_client.put(f"/api/v1/patients/{cast['patient'].id}/dmp-consent", json=body,
                              headers=bearer(cast["patient_user"]))
    assert response.status_code == 422
