"""Hostile input over HTTP: uploads (oversized, mistyped, traversal names) and SQL-looking search and filter values."""

import io

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.booking.factories import open_practice
from tests.conftest import csrf_token_of
from tests.notebook.factories import JPEG_BYTES, PDF_BYTES, make_entry
from webapp.accounts.models import PatientProfile, User
from webapp.extensions import db
from webapp.notebook.models import Attachment

SQL_PAYLOADS = ["' OR '1'='1", "'; DROP TABLE users; --", "\" OR 1=1 --", "1 UNION SELECT password_hash FROM users",
                "%' --", "\\'; SELECT pg_sleep(5); --"]


def _upload(client, headers, patient_id, entry_id, content: bytes, filename: str):
    return client.post(f"/api/v1/patients/{patient_id}/notebook/entries/{entry_id}/attachments", headers=headers,
                       data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


@pytest.fixture
def own_entry():
    patient = factories.make_patient()
    return patient, make_entry(patient)


def test_oversized_attachment_is_refused_and_nothing_is_stored(app, client, api_token, own_entry, monkeypatch):
    patient, entry = own_entry
    monkeypatch.setitem(app.config, "CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES", 1000)
    response = _upload(client, api_token(patient.account), patient.id, entry.id, PDF_BYTES + b"0" * 2000, "big.pdf")
    assert response.status_code == 413 and response.json["error"]["code"] == "attachment_too_large"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_a_body_over_the_request_limit_is_refused_before_reading(app, client, api_token, own_entry, monkeypatch):
    patient, entry = own_entry
    headers = api_token(patient.account)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 5000)
    response = _upload(client, headers, patient.id, entry.id, PDF_BYTES + b"0" * 10_000, "big.pdf")
    assert response.status_code == 413 and response.json["error"]["code"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


@pytest.mark.parametrize(("content", "filename"), [
    (b"<html><script>alert(1)</script></html>", "compte-rendu.pdf"),  # HTML named as a PDF
    (b"MZ\x90\x00" + b"\x00" * 64, "ordonnance.png"),                  # a Windows executable
    (b"#!/bin/sh\nrm -rf /\n", "analyse.jpg"),
    (b"<svg onload=alert(1)>", "radio.svg"),
])
def test_mistyped_attachments_are_refused_whatever_their_name(client, api_token, own_entry, content, filename):
    patient, entry = own_entry
    response = _upload(client, api_token(patient.account), patient.id, entry.id, content, filename)
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


@pytest.mark.parametrize("filename", ["../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/etc/shadow.pdf",
                                      "....//....//x.pdf", "a\x00b.pdf", "%2e%2e%2fsecret.pdf"])
def test_path_traversal_in_attachment_names_is_harmless(client, api_token, own_entry, filename):
    patient, entry = own_entry
    headers = api_token(patient.account)
    response = _upload(client, headers, patient.id, entry.id, PDF_BYTES, filename)
    assert response.status_code == 201, response.json
    attachment = db.session.scalars(sa.select(Attachment)).one()
    stored = attachment.original_filename
    assert "/" not in stored and "\\" not in stored and ".." not in stored and "\x00" not in stored
    assert len(attachment.id) == 32 and all(c in "0123456789abcdef" for c in attachment.id)
    download = client.get(f"/api/v1/patients/{patient.id}/notebook/entries/{entry.id}/attachments/{attachment.id}",
                          headers=headers)
    assert download.status_code == 200 and download.data == PDF_BYTES
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "/" not in disposition and ".." not in disposition


def test_traversal_in_the_attachment_id_of_the_url_finds_nothing(client, api_token, own_entry):
    patient, entry = own_entry
    base = f"/api/v1/patients/{patient.id}/notebook/entries/{entry.id}/attachments/"
    for attachment_id in ("..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e", "' OR '1'='1"):
        assert client.get(base + attachment_id, headers=api_token(patient.account)).status_code == 404


def test_a_jpeg_upload_through_the_page_keeps_a_safe_name(client, form_post, own_entry):
    patient, entry = own_entry
    log_in(form_post, patient.account)
    url = f"/patients/{patient.id}/notebook/entries/{entry.id}"
    token = csrf_token_of(client.get(url).get_data(as_text=True))
    response = client.post(f"{url}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(JPEG_BYTES), "../../../etc/passwd.jpg")})
    assert response.status_code == 302
    assert "/" not in db.session.scalars(sa.select(Attachment)).one().original_filename


def _table_counts() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(User)),
            db.session.scalar(sa.select(sa.func.count()).select_from(PatientProfile)))


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_looking_search_input_is_just_text(client, payload):
    practitioner, _ = open_practice()
    before = _table_counts()
    for params in ({"q": payload}, {"city": payload}, {"postcode": payload}, {"q": payload, "city": payload}):
        response = client.get("/api/v1/practitioners", query_string=params)
        assert response.status_code in (200, 422), (params, response.status_code)
        if response.status_code == 200:
            assert response.json["items"] == []
    for params in ({"q": payload}, {"place": payload}):
        page = client.get("/search", query_string=params)
        assert page.status_code == 200
        assert practitioner.last_name not in page.get_data(as_text=True)
    assert _table_counts() == before


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_looking_notebook_filters_are_refused_or_match_nothing(client, api_token, form_post, own_entry, payload):
    patient, _ = own_entry
    headers = api_token(patient.account)
    before = _table_counts()
    entries = client.get(f"/api/v1/patients/{patient.id}/notebook/entries", headers=headers,
                         query_string={"kind": payload})
    assert entries.status_code == 422 and entries.json["error"]["fields"]
    measurements = client.get(f"/api/v1/patients/{patient.id}/measurements", headers=headers,
                              query_string={"type": payload})
    assert measurements.status_code in (200, 422)
    if measurements.status_code == 200:
        assert measurements.json["items"] == []
    log_in(form_post, patient.account)
    page = client.get(f"/patients/{patient.id}/notebook", query_string={"kind": payload})
    assert page.status_code == 404  # an unknown kind is no page of the notebook
    assert "Tout va bien" not in page.get_data(as_text=True)
    assert _table_counts() == before
