"""INSi verification: only a confirmed answer whose traits agree makes an INS recovered or qualified."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.dmp.factories import VALID_NIR, bearer, set_identity
from tests.notebook.factories import make_treating_practitioner
from webapp.accounts.models import ClinicRole, Sex
from webapp.audit.models import AuditEvent
from webapp.dmp import services
from webapp.dmp.insi import InsiAnswer, Traits
from webapp.dmp.models import IdentityStatus, PatientIdentity
from webapp.extensions import db

REGISTERED = {"last_name": "PATIENT", "first_names": "MARIE CLAIRE", "birth_date": "1985-03-14", "sex": "F"}


@pytest.fixture
def cast(dmp):
    patient = factories.make_patient()
    clinic = factories.make_clinic()
    treating = make_treating_practitioner(patient, clinic=clinic)
    return {
        "patient": patient,
        "patient_user": patient.account,
        "treating": treating.user,
        "clinic_staff": factories.make_staff(clinic=clinic),
        "accountant": factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT),
    }


def _verify(client, cast, actor):
    return client.post(f"/api/v1/patients/{cast['patient'].id}/identity/insi-verification",
                       headers=bearer(cast[actor]))


def _status(patient) -> IdentityStatus:
    db.session.expire_all()
    return db.session.get(PatientIdentity, patient.id).status


@pytest.mark.parametrize("actor", ["treating", "clinic_staff"])
def test_a_validated_ins_confirmed_by_insi_becomes_qualified(cast, dmp_client, insi, actor):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    response = _verify(dmp_client, cast, actor)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "qualified"
    assert _status(cast["patient"]) is IdentityStatus.QUALIFIED
    assert services.qualified_ins(cast["patient"].id)[0] == VALID_NIR  # now the only sendable status
    sent = insi.requests[-1]
    assert sent["operation"] == "verification" and sent["ins"] == VALID_NIR
    assert sent["traits"]["birth_date"] == "1985-03-14" and sent["traits"]["sex"] is None


def test_a_provisional_ins_confirmed_by_insi_is_recovered_then_qualified_by_an_id_check(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.PROVISIONAL)
    insi.register[VALID_NIR] = REGISTERED
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 200 and response.json["status"] == "recovered"
    assert services.qualified_ins(cast["patient"].id) is None
    validated = dmp_client.put(f"/api/v1/patients/{cast['patient'].id}/identity",
                               json={"ins": VALID_NIR, "status": "validated"}, headers=bearer(cast["clinic_staff"]))
    assert validated.status_code == 200 and validated.json["status"] == "qualified"


@pytest.mark.parametrize("register", [{}, {VALID_NIR: REGISTERED | {"birth_date": "1985-04-14"}},
                                      {VALID_NIR: REGISTERED | {"sex": "M"}}])
def test_an_answer_that_does_not_confirm_the_ins_and_traits_changes_nothing(cast, dmp_client, insi, register):
    cast["patient"].sex = Sex.FEMALE
    db.session.commit()
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register.update(register)
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insi_not_confirmed"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "dmp.insi_not_confirmed")) is not None


def test_a_confirmed_answer_whose_traits_differ_from_the_profile_does_not_qualify():
    traits = Traits("PATIENT", "MARIE", dt.date(1985, 3, 14), "F")
    assert InsiAnswer(True, VALID_NIR, traits).agrees_with(VALID_NIR, traits)
    assert not InsiAnswer(True, VALID_NIR, Traits("PATIENT", "MARIE", dt.date(1985, 3, 15), "F")) \
        .agrees_with(VALID_NIR, traits)
    assert not InsiAnswer(True, VALID_NIR, Traits("PATIENT", "MARIE", dt.date(1985, 3, 14), "M")) \
        .agrees_with(VALID_NIR, traits)
    assert not InsiAnswer(True, "185032A21532588", traits).agrees_with(VALID_NIR, traits)
    assert not InsiAnswer(False).agrees_with(VALID_NIR, traits)


@pytest.mark.parametrize("scripted", [500, 404])
def test_an_unavailable_teleservice_is_503_and_changes_nothing(cast, dmp_client, insi, scripted):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    insi.scripted_statuses.append(scripted)
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED


def test_without_an_insi_endpoint_nothing_is_qualified(cast, dmp_client):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED


def test_the_bearer_token_is_sent_when_configured(cast, dmp_client, dmp_app, insi, monkeypatch):
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_BEARER_TOKEN", "insi-secret")
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    assert _verify(dmp_client, cast, "treating").status_code == 200
    assert insi.authorizations == ["Bearer insi-secret"]


def test_the_patient_side_cannot_ask_insi(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.PROVISIONAL)
    response = _verify(dmp_client, cast, "patient_user")
    assert response.status_code == 403 and response.json["error"]["code"] == "qualification_not_allowed"
    assert insi.requests == []


def test_an_accountant_gets_404(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    assert _verify(dmp_client, cast, "accountant").status_code == 404
    assert insi.requests == [] and _status(cast["patient"]) is IdentityStatus.VALIDATED


def test_no_recorded_ins_is_409(cast, dmp_client, insi):
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409 and response.json["error"]["code"] == "ins_not_recorded"
