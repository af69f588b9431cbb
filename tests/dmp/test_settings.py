"""The connector's configuration: on only with a target, checked at start-up, its job registered."""

import pytest

from config import ConfigurationError
from tests.dmp.conftest import DMP_SETTINGS
from webapp import create_app
from webapp.dmp.builder import DocumentCode
from webapp.dmp.settings import check_connector_settings, document_codes, source_settings
from webapp.jobs import active_jobs
from webapp.notebook.models import EntryKind

BASE = DMP_SETTINGS | {"CARNET_DMP_ENDPOINT": "https://recipient.example/fhir", "CARNET_DMP_AUTH": "none",
                       "CARNET_DMP_DOCUMENT_CODES": "", "CARNET_DMP_FACILITY_TYPE": "SA07",
                       "CARNET_DMP_PRACTICE_SETTING": "AMBULATOIRE"}


def test_the_job_and_routes_exist_only_with_the_connector_on(dmp_app):
    assert "dmp.push_documents" in {job.id for job in active_jobs(dmp_app.config)}
    rules = {rule.rule for rule in dmp_app.url_map.iter_rules()}
    assert {"/api/v1/patients/<int:patient_id>/identity", "/api/v1/patients/<int:patient_id>/dmp-consent",
            "/admin/shared-record"} <= rules


def test_an_https_endpoint_is_accepted():
    check_connector_settings(BASE)


@pytest.mark.parametrize("changes", [
    {"CARNET_DMP_ENDPOINT": "http://recipient.example/fhir"},
    {"CARNET_DMP_FOLDER": "/tmp/bundles"},
    {"CARNET_DMP_AUTH": "basic"},
    {"CARNET_DMP_AUTH": "bearer"},
    {"CARNET_DMP_AUTH": "oauth2", "CARNET_DMP_TOKEN_URL": "https://auth.example/token"},
    {"CARNET_DMP_SOURCE_ID": ""},
    {"CARNET_DMP_CUSTODIAN_ID": ""},
    {"CARNET_DMP_DOCUMENT_CODES": '{"report": ["1"]}'},
    {"CARNET_DMP_DOCUMENT_CODES": '{"letter": ["1", "a", "2", "b"]}'},
    {"CARNET_DMP_DOCUMENT_CODES": '{"report": ["11488-4", "CR", "34109-9", "Note"]}'},
    {"CARNET_DMP_FACILITY_TYPE": "SA99"},
    {"CARNET_DMP_PRACTICE_SETTING": "CABINET"},
    {"CARNET_DMP_CUSTODIAN_ID": "75000001"},
    {"CARNET_DMP_CUSTODIAN_ID": "73282932000075"},
    {"CARNET_DMP_OID_ROOT": "1.2.250.01"},
    {"CARNET_DMP_OID_ROOT": "urn:oid:1.2.250.1"},
    {"CARNET_DMP_OID_ROOT": "1.2.250.1.213.1.1.9.99999.1"},
])
def test_an_unsafe_or_incomplete_configuration_is_refused(changes):
    with pytest.raises(ConfigurationError):
        check_connector_settings(BASE | changes)


def test_http_is_allowed_only_in_tests():
    check_connector_settings(BASE | {"CARNET_DMP_ENDPOINT": "http://127.0.0.1:8080/fhir", "TESTING": True})


def test_the_app_refuses_to_start_with_an_http_endpoint_outside_tests(app):
    settings = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}
    with pytest.raises(ConfigurationError):
        create_app(settings | BASE | {"CARNET_DMP_ENDPOINT": "http://recipient.example/fhir"})


def test_the_document_codes_are_configurable():
    codes = document_codes(BASE | {"CARNET_DMP_DOCUMENT_CODES":
                                   '{"report": ["34133-9", "Synthèse d\'épisode de soins", "11", "Synthèse"]}'})
    assert codes == {EntryKind.REPORT: DocumentCode("34133-9", "Synthèse d'épisode de soins", "11", "Synthèse")}
    assert set(document_codes(BASE)) == {EntryKind.REPORT, EntryKind.PRESCRIPTION, EntryKind.EXAM_RESULT,
                                         EntryKind.DOCUMENT}


def test_each_app_documents_only_the_operations_it_serves(app, dmp_app):
    with_connector = dmp_app.test_client().get("/api/v1/openapi.json").json["paths"]
    without_connector = app.test_client().get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/dmp/pushes" in with_connector and "/api/v1/dmp/pushes" not in without_connector


@pytest.mark.parametrize(("configured", "sent"), [
    ("750000001", "1750000001"), ("1750000001", "1750000001"), ("2A0000001", "12A0000001"),
    ("73282932000074", "373282932000074"), ("373282932000074", "373282932000074"),
])
def test_the_custodian_is_sent_as_an_idnat_struct(configured, sent):
    assert source_settings(BASE | {"CARNET_DMP_CUSTODIAN_ID": configured}).custodian_id == sent


def test_the_oid_root_defaults_to_the_uuid_arc():
    assert source_settings(BASE).oid_root == "2.25"
    assert source_settings(BASE | {"CARNET_DMP_OID_ROOT": "1.2.250.1.999.1"}).oid_root == "1.2.250.1.999.1"


INSI = BASE | {"CARNET_INSI_ENDPOINT": "https://insi.example/lps"}


@pytest.fixture
def certificate_files(tmp_path):
    cert, key = tmp_path / "structure.pem", tmp_path / "structure.key"
    cert.write_text("certificate")
    key.write_text("key")
    return {"CARNET_INSI_CERT": str(cert), "CARNET_INSI_KEY": str(key)}


def test_insi_with_the_lps_ids_and_the_structure_certificate_is_accepted(certificate_files):
    check_connector_settings(INSI | certificate_files)


@pytest.mark.parametrize("changes", [
    {"CARNET_INSI_ENDPOINT": "http://insi.example/lps"},
    {"CARNET_INSI_LPS_IDAM": ""},
    {"CARNET_INSI_EMITTER": ""},
    {"CARNET_INSI_KEY": ""},
    {"CARNET_INSI_CERT": "/nonexistent/structure.pem"},
    {"CARNET_INSI_CA_BUNDLE": "/nonexistent/ca.pem"},
])
def test_an_incomplete_insi_configuration_is_refused(certificate_files, changes):
    with pytest.raises(ConfigurationError):
        check_connector_settings(INSI | certificate_files | changes)


def test_insi_without_a_certificate_is_refused_outside_tests():
    with pytest.raises(ConfigurationError):
        check_connector_settings(INSI)
    check_connector_settings(INSI | {"TESTING": True})


def test_a_configured_transport_brings_its_own_authentication():
    check_connector_settings(BASE | {"CARNET_INSI_TRANSPORT": "deployment.insi:CpsTransport"})
