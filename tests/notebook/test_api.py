"""Notebook API: the authorization matrix of every endpoint, then each endpoint's behaviour."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from tests.booking.factories import make_appointment
from tests.notebook.conftest import ACTORS
from tests.notebook.factories import PDF_BYTES, PNG_BYTES, emergency_json, make_entry, past
from webapp.accounts.models import ApiToken
from webapp.booking.models import AppointmentStatus
from webapp.extensions import db
from webapp.notebook.models import AccessLogEntry, NotebookEntry

A = "/api/v1/patients/{pid}"
N = A + "/notebook"


def _multipart(content=PDF_BYTES, name="résultat.pdf"):
    return {"data": {"file": (io.BytesIO(content), name)}, "content_type": "multipart/form-data"}


# (method, path, request kwargs, expected status per actor). The shared entry
# is the patient's and is hidden from the "masked" practitioner.
READ_ALL = {"patient": 200, "proxy": 200, "treating": 200, "masked": 200}
PATIENT_SIDE = {"patient": 200, "proxy": 200, "treating": 403, "masked": 403}
ENTRY_READ = {"patient": 200, "proxy": 200, "treating": 200, "masked": 404}
MATRIX = [
    ("GET", N + "/entries", {}, READ_ALL),
    ("POST", N + "/entries", {"json": {"kind": "note", "title": "Suivi", "body": "RAS"}},
     {"patient": 201, "proxy": 201, "treating": 201, "masked": 201}),
    ("GET", N + "/entries/{eid}", {}, ENTRY_READ),
    ("POST", N + "/entries/{eid}/supersede", {"json": {"title": "Corrigé", "body": "Nouveau texte"}},
     {"patient": 201, "proxy": 201, "treating": 403, "masked": 404}),
    ("POST", N + "/entries/{eid}/attachments", "upload",
     {"patient": 201, "proxy": 201, "treating": 403, "masked": 404}),
    ("GET", N + "/entries/{eid}/attachments/{aid}", {}, ENTRY_READ),
    ("GET", A + "/measurements", {}, READ_ALL),
    ("GET", A + "/measurements?type=weight", {}, READ_ALL),
    ("GET", N + "/access-log", {}, PATIENT_SIDE),
    ("GET", N + "/sharing", {}, PATIENT_SIDE),
    ("PUT", N + "/sharing", {"json": {"revoked_practitioner_ids": []}}, PATIENT_SIDE),
    ("GET", N + "/entries/{eid}/masking", {}, {"patient": 200, "proxy": 200, "treating": 403, "masked": 403}),
    ("PUT", N + "/entries/{eid}/masking", {"json": {"hidden_from_practitioner_ids": []}},
     {"patient": 200, "proxy": 200, "treating": 403, "masked": 403}),
    # Names the patient, with a fresh code of the caller (see test_emergency.py for every refusal).
    ("POST", N + "/emergency-access", "emergency",
     {"patient": 403, "proxy": 403, "treating": 409, "masked": 409, "unrelated": 201, "staff": 403,
      "other_patient": 403}),
    ("GET", N + "/export?format=fhir", {}, PATIENT_SIDE),
    ("GET", N + "/export?format=pdf", {}, PATIENT_SIDE),
]
# Whoever the notebook is not shared with gets 404 (its existence does not
# leak); anonymous callers get 401.
REFUSED = {"revoked": 404, "unrelated": 404, "staff": 404, "other_patient": 404, "anonymous": 401}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("method", "path", "kwargs", "allowed"), MATRIX,
                         ids=[f"{method} {path}" for method, path, _, _ in MATRIX])
def test_authorization_matrix(client, world, bearer, actor, method, path, kwargs, allowed):
    expected = (REFUSED | allowed)[actor]
    url = path.format(pid=world.patient.id, eid=world.entry.id, aid=world.attachment.id)
    if kwargs == "upload":
        request = _multipart()
    elif kwargs == "emergency":
        request = {"json": emergency_json(world.patient, world.users[actor])}
    else:
        request = kwargs
    response = client.open(url, method=method, headers=bearer(world.users[actor]), **request)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected >= 400:
        assert response.json["error"]["code"]
        assert "confidentiel" not in response.get_data(as_text=True)


def test_unknown_patient_and_unrelated_patient_answer_the_same(client, world, bearer):
    headers = bearer(world.users["unrelated"])
    unknown = client.get(N.format(pid=999_999) + "/entries", headers=headers)
    existing = client.get(N.format(pid=world.patient.id) + "/entries", headers=headers)
    assert unknown.status_code == existing.status_code == 404
    assert unknown.json == existing.json


def test_huge_ids_are_not_found_not_errors(client, world, bearer):
    headers = bearer(world.users["patient"])
    assert client.get(N.format(pid=10**30) + "/entries", headers=headers).status_code == 404
    assert client.get(N.format(pid=world.patient.id) + f"/entries/{10**30}", headers=headers).status_code == 404
    attachment = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}/attachments/../../x"
    assert client.get(attachment, headers=headers).status_code == 404


def test_masked_entry_is_missing_from_the_masked_practitioners_list(client, world, bearer):
    url = N.format(pid=world.patient.id) + "/entries"
    masked_ids = [item["id"] for item in client.get(url, headers=bearer(world.users["masked"])).json["items"]]
    treating_ids = [item["id"] for item in client.get(url, headers=bearer(world.users["treating"])).json["items"]]
    assert world.entry.id in treating_ids and world.entry.id not in masked_ids


def test_entry_shape(client, world, bearer):
    response = client.get(N.format(pid=world.patient.id) + f"/entries/{world.entry.id}",
                          headers=bearer(world.users["treating"]))
    body = response.json
    assert response.headers["Cache-Control"] == "private, no-store"
    assert body["title"] == "Résultats sensibles" and body["body"] == "Texte très confidentiel"
    assert body["kind"] == "note" and body["data"] is None and body["dmp_status"] is None
    assert body["author"] == {"id": world.patient.account.id, "name": world.patient.full_name, "role": "patient"}
    assert body["supersedes"] is None and body["superseded_by"] is None and body["appointment_id"] is None
    assert dt.datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    [attachment] = body["attachments"]
    assert attachment["id"] == world.attachment.id and attachment["filename"] == "compte-rendu.pdf"
    assert attachment["content_type"] == "application/pdf" and attachment["size_bytes"] == len(PDF_BYTES)
    assert client.get(attachment["url"], headers=bearer(world.users["treating"])).data == PDF_BYTES


def test_list_is_newest_first_filtered_and_paged(client, world, bearer):
    for index in range(3):
        make_entry(world.patient, title=f"Note {index}",
                   created_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=index + 1))
    headers = bearer(world.users["patient"])
    url = N.format(pid=world.patient.id) + "/entries"
    first = client.get(url + "?per_page=2", headers=headers).json
    assert first["total"] == 5 and first["per_page"] == 2 and [item["title"] for item in first["items"]] == [
        "Note 2", "Note 1"]
    measurements = client.get(url + "?kind=measurement", headers=headers).json
    assert [item["kind"] for item in measurements["items"]] == ["measurement"]
    assert client.get(url + "?kind=gossip", headers=headers).status_code == 422
    assert client.get(url + "?per_page=1000", headers=headers).status_code == 422


def test_practitioner_writes_a_report_linked_to_the_visit(client, world, bearer):
    visit = make_appointment(world.treating, world.patient, past(2), status=AppointmentStatus.COMPLETED)
    response = client.post(N.format(pid=world.patient.id) + "/entries", headers=bearer(world.users["treating"]),
                           json={"kind": "report", "title": "Compte rendu", "body": "Examen normal.",
                                 "appointment_id": visit.id})
    assert response.status_code == 201
    assert response.json["appointment_id"] == visit.id
    assert response.json["author"]["role"] == "practitioner"
    assert response.json["author"]["name"] == world.treating.full_name


@pytest.mark.parametrize(("payload", "field"), [
    ({"kind": "note", "title": ""}, "title"),
    ({"kind": "gossip", "title": "x"}, "kind"),
    ({"kind": "note", "title": "x" * 201}, "title"),
    ({"kind": "note", "title": "x", "data": {"a": 1}}, "data"),
    ({"kind": "measurement", "data": {"type": "weight", "value": 900, "unit": "kg"}}, "data.value"),
    ({"kind": "measurement", "data": {"type": "weight", "value": 80, "unit": "lb"}}, "data.unit"),
    ({"kind": "measurement", "data": {"type": "weight", "value": "heavy", "unit": "kg"}}, "data.value"),
    ({"kind": "measurement", "data": {"type": "mood", "value": 1, "unit": "kg"}}, "data.type"),
    ({"kind": "measurement", "data": {"type": "weight", "value": 80, "unit": "kg",
                                      "measured_at": "2026-01-01T10:00:00"}}, "data.measured_at"),
    ({"kind": "measurement"}, "data"),
    ({"kind": "allergy", "data": {"substance": "Pénicilline", "severity": "deadly"}}, "data.severity"),
    ({"kind": "treatment", "data": {"drug": "X", "dosage": "1/j", "start": "2026-02-01", "end": "2026-01-01"}},
     "data.end"),
    ({"kind": "vaccination", "data": {"vaccine": "Grippe", "date": "2999-01-01"}}, "data.date"),
    ({"kind": "note", "title": "x", "appointment_id": "12"}, "appointment_id"),
    ({"kind": "note", "title": "x", "appointment_id": 10**12}, "appointment_id"),
])
def test_bad_entries_are_refused_with_field_errors(client, world, bearer, payload, field):
    response = client.post(N.format(pid=world.patient.id) + "/entries", headers=bearer(world.users["patient"]),
                           json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count(NotebookEntry.id))) == 2


def test_malformed_json_is_a_400(client, world, bearer):
    response = client.post(N.format(pid=world.patient.id) + "/entries", headers=bearer(world.users["patient"]),
                           data="{nope", content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_request"


def test_supersede_returns_the_new_entry_and_marks_the_old(client, world, bearer):
    headers = bearer(world.users["patient"])
    base = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}"
    new = client.post(base + "/supersede", headers=headers, json={"title": "Corrigé", "body": "Bon texte"}).json
    assert new["supersedes"] == world.entry.id
    old = client.get(base, headers=headers).json
    assert old["superseded_by"] == new["id"] and old["title"] == "Résultats sensibles"
    again = client.post(base + "/supersede", headers=headers, json={"title": "Encore", "body": ""})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_superseded"


def test_no_update_or_delete_path_exists_for_entries(client, world, bearer):
    headers = bearer(world.users["patient"])
    url = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}"
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.open(url, method=method, headers=headers, json={"title": "x"}).status_code == 405
    attachment = url + f"/attachments/{world.attachment.id}"
    assert client.delete(attachment, headers=headers).status_code == 405
    assert client.delete(N.format(pid=world.patient.id) + "/access-log", headers=headers).status_code == 405


def test_attachment_type_is_sniffed_from_content(client, world, bearer):
    headers = bearer(world.users["patient"])
    url = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}/attachments"
    disguised = client.post(url, headers=headers, **_multipart(b"<script>alert(1)</script>", "scan.pdf"))
    assert disguised.status_code == 422 and disguised.json["error"]["code"] == "unsupported_file_type"
    renamed = client.post(url, headers=headers, **_multipart(PNG_BYTES, "../../etc/passwd"))
    assert renamed.status_code == 201
    assert renamed.json["content_type"] == "image/png" and renamed.json["filename"] == "passwd.png"
    download = client.get(renamed.json["url"], headers=headers)
    assert download.status_code == 200 and download.mimetype == "image/png" and download.data == PNG_BYTES
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_attachment_errors_are_clear(client, app, world, bearer, monkeypatch):
    headers = bearer(world.users["patient"])
    url = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}/attachments"
    assert client.post(url, headers=headers, **_multipart(b"", "vide.pdf")).json["error"]["code"] == "empty_file"
    missing = client.post(url, headers=headers, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.json["error"]["fields"]
    monkeypatch.setitem(app.config, "CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES", 50)
    too_large = client.post(url, headers=headers, **_multipart(PDF_BYTES + b"x" * 100))
    assert too_large.status_code == 413 and too_large.json["error"]["code"] == "attachment_too_large"
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    request_too_large = client.post(url, headers=headers, **_multipart(PDF_BYTES + b"x" * 5000))
    assert request_too_large.status_code == 413 and request_too_large.json["error"]["code"]


def test_an_upload_with_a_stray_form_field_is_refused_and_attaches_nothing(client, world, bearer):
    headers = bearer(world.users["patient"])
    url = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}/attachments"
    upload = _multipart(PNG_BYTES, "scan.png")
    upload["data"]["owner"] = "someone-else"
    response = client.post(url, headers=headers, **upload)
    assert response.status_code == 422 and response.json["error"]["fields"] == {"owner": ["Champ inconnu."]}
    assert len(client.get(N.format(pid=world.patient.id) + f"/entries/{world.entry.id}",
                          headers=headers).json["attachments"]) == 1


def test_measurements_endpoint(client, world, bearer):
    headers = bearer(world.users["treating"])
    make_entry(world.patient, kind="measurement", title="", data={
        "type": "glucose", "value": 1.1, "unit": "g/L", "measured_at": past(1).isoformat()})
    everything = client.get(A.format(pid=world.patient.id) + "/measurements", headers=headers).json["items"]
    assert [(item["type"], item["value"], item["unit"]) for item in everything] == [
        ("weight", 81.5, "kg"), ("glucose", 1.1, "g/L")]
    weights = client.get(A.format(pid=world.patient.id) + "/measurements?type=weight", headers=headers).json
    assert [item["value"] for item in weights["items"]] == [81.5]
    assert dt.datetime.fromisoformat(weights["items"][0]["at"]).utcoffset() is not None
    bad = client.get(A.format(pid=world.patient.id) + "/measurements?type=mood", headers=headers)
    assert bad.status_code == 422


def test_access_log_endpoint_lists_practitioner_reads(client, world, bearer):
    client.get(N.format(pid=world.patient.id) + f"/entries/{world.entry.id}", headers=bearer(world.users["treating"]))
    log = client.get(N.format(pid=world.patient.id) + "/access-log", headers=bearer(world.users["patient"])).json
    [item] = log["items"]
    assert item["actor"] == {"id": world.treating.user.id, "name": world.treating.full_name, "role": "practitioner"}
    assert item["action"] == "view_entry" and item["entry_id"] == world.entry.id and item["emergency"] is False
    assert dt.datetime.fromisoformat(item["at"]).utcoffset() is not None


def test_sharing_and_masking_round_trip(client, world, bearer):
    headers = bearer(world.users["patient"])
    sharing = N.format(pid=world.patient.id) + "/sharing"
    assert client.get(sharing, headers=headers).json == {"revoked_practitioner_ids": [world.revoked.id],
                                                         "emergency_access": "allowed"}
    put = client.put(sharing, headers=headers, json={"revoked_practitioner_ids": [world.treating.id]})
    assert put.json == {"revoked_practitioner_ids": [world.treating.id], "emergency_access": "allowed"}
    assert client.get(N.format(pid=world.patient.id) + "/entries",
                      headers=bearer(world.users["treating"])).status_code == 404
    assert client.get(N.format(pid=world.patient.id) + "/entries",
                      headers=bearer(world.users["revoked"])).status_code == 200
    unknown = client.put(sharing, headers=headers, json={"revoked_practitioner_ids": [999_999]})
    assert unknown.status_code == 422 and unknown.json["error"]["code"] == "unknown_practitioner"
    assert client.put(sharing, headers=headers, json={"revoked_practitioner_ids": ["1"]}).status_code == 422
    masking = N.format(pid=world.patient.id) + f"/entries/{world.entry.id}/masking"
    assert client.get(masking, headers=headers).json == {"hidden_from_practitioner_ids": [world.masked.id]}
    client.put(masking, headers=headers, json={"hidden_from_practitioner_ids": [world.revoked.id]})
    assert client.get(N.format(pid=world.patient.id) + f"/entries/{world.entry.id}",
                      headers=bearer(world.users["masked"])).status_code == 200


def test_hiding_an_entry_from_its_author_is_a_422(client, world, bearer):
    own = make_entry(world.patient, author=world.treating.user, title="Compte rendu")
    masking = N.format(pid=world.patient.id) + f"/entries/{own.id}/masking"
    refused = client.put(masking, headers=bearer(world.users["patient"]),
                         json={"hidden_from_practitioner_ids": [world.treating.id]})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "author_always_sees"
    assert "hidden_from_practitioner_ids" in refused.json["error"]["fields"]


def test_export_formats(client, world, bearer):
    headers = bearer(world.users["patient"])
    fhir = client.get(N.format(pid=world.patient.id) + "/export?format=fhir", headers=headers)
    assert fhir.mimetype == "application/fhir+json" and fhir.json["resourceType"] == "Bundle"
    assert fhir.headers["Cache-Control"] == "private, no-store"
    pdf = client.get(N.format(pid=world.patient.id) + "/export?format=pdf", headers=headers)
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(N.format(pid=world.patient.id) + "/export?format=xml", headers=headers).status_code == 422


def test_export_needs_a_fresh_token(app, client, world, bearer):
    headers = bearer(world.users["patient"])
    token = db.session.scalar(sa.select(ApiToken).order_by(ApiToken.id.desc()))
    token.created_at -= dt.timedelta(minutes=app.config["CARNET_REAUTH_MINUTES"] + 1)
    db.session.commit()
    response = client.get(N.format(pid=world.patient.id) + "/export?format=pdf", headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "reauth_required"
    assert client.get(N.format(pid=world.patient.id) + "/entries", headers=headers).status_code == 200


def test_openapi_documents_the_notebook(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/patients/{patient_id}/notebook/entries", "/api/v1/patients/{patient_id}/measurements",
                 "/api/v1/patients/{patient_id}/notebook/emergency-access"):
        assert path in paths


def test_no_health_content_in_application_logs(client, world, bearer, caplog):
    headers = bearer(world.users["treating"])
    client.post(N.format(pid=world.patient.id) + "/entries", headers=headers,
                json={"kind": "note", "title": "Dépistage VIH", "body": "Résultat positif"})
    client.get(N.format(pid=world.patient.id) + "/entries", headers=headers)
    assert "VIH" not in caplog.text and "positif" not in caplog.text and "confidentiel" not in caplog.text
    assert db.session.scalar(sa.select(sa.func.count(AccessLogEntry.id))) == 2


def test_blood_pressure_entry_round_trips_and_shows_in_both_series(client, world, bearer):
    headers = bearer(world.users["patient"])
    measured_at = past(1).replace(microsecond=0)
    created = client.post(N.format(pid=world.patient.id) + "/entries", headers=headers, json={
        "kind": "measurement", "data": {"type": "blood_pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg",
                                        "measured_at": measured_at.isoformat()}})
    assert created.status_code == 201, created.json
    assert created.json["data"] == {"type": "blood_pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg",
                                    "measured_at": measured_at.astimezone(dt.UTC).isoformat()}
    assert created.json["title"] == "Tension artérielle"
    series = client.get(A.format(pid=world.patient.id) + "/measurements?type=blood_pressure", headers=headers).json
    assert sorted((item["type"], item["value"], item["entry_id"]) for item in series["items"]) == [
        ("blood_pressure_diastolic", 82, created.json["id"]), ("blood_pressure_systolic", 128, created.json["id"])]
    systolic = client.get(A.format(pid=world.patient.id) + "/measurements?type=blood_pressure_systolic",
                          headers=headers).json
    assert [item["value"] for item in systolic["items"]] == [128]


@pytest.mark.parametrize(("data", "field"), [
    ({"systolic": 80, "diastolic": 80}, "data.diastolic"),
    ({"systolic": 120, "diastolic": 130}, "data.diastolic"),
    ({"systolic": 120}, "data.diastolic"),
    ({"systolic": "cent vingt", "diastolic": 80}, "data.systolic"),
    ({"systolic": 120.5, "diastolic": 80}, "data.systolic"),
    ({"systolic": 400, "diastolic": 80}, "data.systolic"),
    ({"systolic": 120, "diastolic": 80, "unit": "kg"}, "data.unit"),
    ({"systolic": 120, "diastolic": 80, "value": 120}, "data.value"),
])
def test_a_bad_blood_pressure_entry_is_refused(client, world, bearer, data, field):
    response = client.post(N.format(pid=world.patient.id) + "/entries", headers=bearer(world.users["patient"]),
                           json={"kind": "measurement", "data": {"type": "blood_pressure", **data}})
    assert response.status_code == 422 and field in response.json["error"]["fields"]


def test_the_separate_blood_pressure_types_are_still_accepted(client, world, bearer):
    response = client.post(N.format(pid=world.patient.id) + "/entries", headers=bearer(world.users["patient"]),
                           json={"kind": "measurement", "data": {"type": "blood_pressure_systolic", "value": 131,
                                                                 "unit": "mmHg"}})
    assert response.status_code == 201 and response.json["data"]["value"] == 131
