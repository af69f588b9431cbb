"""With the default configuration the connector does not exist: no routes, no job, no push."""

import sqlalchemy as sa

from tests import factories
from tests.dmp.factories import VALID_NIR, bearer, set_consent, set_identity, write
from tests.dmp.recipient import start_recipient
from tests.notebook.factories import make_treating_practitioner
from webapp.accounts.models import Role
from webapp.dmp.models import DocumentPush
from webapp.dmp.settings import connector_enabled
from webapp.extensions import db
from webapp.jobs import active_jobs


def test_the_default_configuration_has_no_target(app):
    assert app.config["CARNET_DMP_ENDPOINT"] == "" and app.config["CARNET_DMP_FOLDER"] == ""
    assert not connector_enabled(app.config)
    assert "dmp.push_documents" not in {job.id for job in active_jobs(app.config)}
    assert not any(rule.endpoint.startswith(("dmp.", "dmp_api.")) for rule in app.url_map.iter_rules())


def test_routes_answer_404_and_nothing_is_sent(app, client):
    recipient, stop = start_recipient()
    try:
        patient = factories.make_patient()
        practitioner = make_treating_practitioner(patient)
        staff = factories.make_staff(role=Role.ADMIN)
        set_identity(patient, by=practitioner.user)
        set_consent(patient)
        responses = [
            client.put(f"/api/v1/patients/{patient.id}/identity", json={"ins": VALID_NIR, "status": "provisional"},
                       headers=bearer(patient.account)),
            client.put(f"/api/v1/patients/{patient.id}/identity", json={"ins": VALID_NIR, "status": "qualified"},
                       headers=bearer(practitioner.user)),
            client.put(f"/api/v1/patients/{patient.id}/dmp-consent", json={"consent": True},
                       headers=bearer(patient.account)),
            client.get("/api/v1/dmp/pushes", headers=bearer(staff)),
            client.get(f"/patients/{patient.id}/shared-record"),
            client.get("/admin/shared-record"),
        ]
        assert [response.status_code for response in responses] == [404] * len(responses)
        entry = write(practitioner.user, patient)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentPush)) == 0
        shown = client.get(f"/api/v1/patients/{patient.id}/notebook/entries/{entry.id}",
                           headers=bearer(patient.account))
        assert shown.status_code == 200 and shown.json["dmp_status"] is None
        assert recipient.received == []
    finally:
        stop()
