"""Notebook pages: the authorization matrix of every page, then the timeline, forms, charts and queries."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import make_appointment
from tests.conftest import csrf_token_of
from tests.notebook.conftest import ACTORS
from tests.notebook.factories import PDF_BYTES, emergency_json, make_entry, make_measurement, mask_entry, past
from webapp.booking.models import AppointmentStatus
from webapp.extensions import db
from webapp.notebook import models
from webapp.notebook.models import AccessLogEntry, NotebookEntry

P = "/patients/{pid}/notebook"
OK_ALL = {"patient": 200, "proxy": 200, "treating": 200, "masked": 200}
ENTRY = {"patient": 200, "proxy": 200, "treating": 200, "masked": 404}
PATIENT_SIDE_GET = {"patient": 200, "proxy": 200, "treating": 403, "masked": 403}
PATIENT_SIDE_POST = {"patient": 302, "proxy": 302, "treating": 403, "masked": 403}
# The patient side is asked to confirm its credentials before an export (see the matrix after re-authentication).
ASKS_THE_PASSWORD_AGAIN = {"patient": 302, "proxy": 302, "treating": 403, "masked": 403}
# (method, path, form data, expected status per actor); forms are posted with their CSRF token.
PAGES = [
    ("GET", P, None, OK_ALL),
    ("GET", P + "?kind=measurement", None, OK_ALL),
    ("GET", P + "/measurements", None, OK_ALL),
    ("GET", P + "/new?kind=allergy", None, OK_ALL),
    ("POST", P + "/new?kind=note", {"title": "Suivi", "body": "RAS"}, {"patient": 302, "proxy": 302, "treating": 302,
                                                                      "masked": 302}),
    ("GET", P + "/entries/{eid}", None, ENTRY),
    ("GET", P + "/entries/{eid}/supersede", None, {"patient": 200, "proxy": 200, "treating": 403, "masked": 404}),
    ("POST", P + "/entries/{eid}/supersede", {"title": "Corrigé", "body": "Texte"},
     {"patient": 302, "proxy": 302, "treating": 403, "masked": 404}),
    ("POST", P + "/entries/{eid}/attachments", "upload",
     {"patient": 302, "proxy": 302, "treating": 403, "masked": 404}),
    ("GET", P + "/entries/{eid}/attachments/{aid}", None, ENTRY),
    ("POST", P + "/entries/{eid}/masking", {}, PATIENT_SIDE_POST),
    ("GET", P + "/sharing", None, PATIENT_SIDE_GET),
    ("POST", P + "/sharing", {}, PATIENT_SIDE_POST),
    ("GET", P + "/access-log", None, PATIENT_SIDE_GET),
    ("GET", P + "/export.pdf", None, ASKS_THE_PASSWORD_AGAIN),
    ("GET", P + "/export.fhir", None, ASKS_THE_PASSWORD_AGAIN),
    # Names the patient, with a fresh code of the caller (see test_emergency.py for every refusal).
    ("POST", P + "/emergency", "emergency",
     {"patient": 404, "proxy": 404, "treating": 200, "masked": 200, "unrelated": 302, "staff": 404,
      "other_patient": 404}),
]
REFUSED = {"revoked": 404, "unrelated": 404, "staff": 404, "other_patient": 404, "anonymous": 302}
# A page that carries the CSRF token for each posted form.
FORM_PAGE = {"/entries/{eid}/attachments": "/entries/{eid}", "/entries/{eid}/masking": "/entries/{eid}"}


def _csrf(client, login_page: str) -> str:
    return csrf_token_of(client.get(login_page).get_data(as_text=True))


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("method", "path", "form", "allowed"), PAGES,
                         ids=[f"{method} {path}" for method, path, _, _ in PAGES])
def test_page_authorization_matrix(client, world, login, actor, method, path, form, allowed):
    expected = (REFUSED | allowed)[actor]
    user = world.users[actor]
    login(user)
    url = path.format(pid=world.patient.id, eid=world.entry.id, aid=world.attachment.id)
    if method == "GET":
        response = client.get(url)
    else:
        # The token comes from any page of the session: the login page works for everyone.
        if form == "upload":
            data = {"file": (io.BytesIO(PDF_BYTES), "scan.pdf")}
        elif form == "emergency":
            data = emergency_json(world.patient, user)
        else:
            data = dict(form)
        response = client.post(url, data={**data, "csrf_token": _csrf(client, "/login")},
                               content_type="multipart/form-data")
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if expected == 302 and actor == "anonymous":
        assert "/login" in response.headers["Location"]
    if allowed is ASKS_THE_PASSWORD_AGAIN and expected == 302 and actor != "anonymous":
        assert response.headers["Location"].startswith("/account/confirm?next=")
    if expected in (403, 404):
        assert "confidentiel" not in response.get_data(as_text=True)


@pytest.mark.parametrize("actor", [actor for actor in ACTORS if actor != "anonymous"])
@pytest.mark.parametrize("export_format", ["pdf", "fhir"])
def test_export_once_reauthenticated_follows_the_patient_side_rule(client, world, login, form_post, actor,
                                                                     export_format):
    user = world.users[actor]
    login(user)
    export_url = P.format(pid=world.patient.id) + f"/export.{export_format}"
    confirmation = {"password": factories.PASSWORD} | (
        {"code": factories.totp_now(user)} if user.role.requires_totp else {})
    assert form_post(f"/account/confirm?next={export_url}", confirmation).headers["Location"] == export_url
    response = client.get(export_url)
    assert response.status_code == (REFUSED | PATIENT_SIDE_GET)[actor]
    if response.status_code == 200:
        assert response.headers["Cache-Control"].startswith("private")


def test_my_notebook_goes_to_the_only_notebook_or_lists_them(client, world, login):
    login(world.users["patient"])
    response = client.get("/notebook")
    assert response.status_code == 302 and response.headers["Location"].endswith(P.format(pid=world.patient.id))
    client.post("/logout", data={"csrf_token": _csrf(client, "/notebook/../login")})
    login(world.users["proxy"])
    page = client.get("/notebook").get_data(as_text=True)
    assert world.patient.full_name in page and world.users["proxy"].patient_profile.full_name in page


def test_menu_entries_per_role(client, world, login):
    login(world.users["patient"])
    assert "Mon carnet de santé" in client.get("/").get_data(as_text=True)


def test_practitioner_patient_list_links_to_notebooks(client, world, login):
    login(world.users["treating"])
    page = client.get("/practitioner/patients").get_data(as_text=True)
    assert "Mes patients" in page and P.format(pid=world.patient.id) in page
    client.post("/logout", data={"csrf_token": _csrf(client, "/login")})
    login(world.users["revoked"])
    assert P.format(pid=world.patient.id) not in client.get("/practitioner/patients").get_data(as_text=True)


def test_patient_list_is_not_for_patients(client, world, login):
    login(world.users["patient"])
    assert client.get("/practitioner/patients").status_code == 403


def test_timeline_shows_summary_charts_and_entries_in_french(client, world, login):
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Pénicilline", "reaction": "Urticaire",
                                                               "severity": "severe"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Metformine", "dosage": "500 mg matin et soir",
                                                                 "start": "2025-01-10"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Amoxicilline", "dosage": "1 g x3",
                                                                 "start": "2025-01-01", "end": "2025-01-07"})
    make_entry(world.patient, kind="vaccination", title="", data={"vaccine": "Grippe", "lot": "AB12",
                                                                   "date": "2025-10-15"})
    for days, (systolic, diastolic) in enumerate([(152, 95), (145, 92), (138, 88)]):
        make_measurement(world.patient, "blood_pressure_systolic", systolic, "mmHg", days_ago=30 - days * 10)
        make_measurement(world.patient, "blood_pressure_diastolic", diastolic, "mmHg", days_ago=30 - days * 10)
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id)).get_data(as_text=True)
    assert "Carnet de santé de" in page and "Situation actuelle" in page
    assert "Pénicilline" in page and "Metformine" in page and "Grippe" in page
    summary = page.split('id="summary-title"')[1].split("</section>")[0]
    assert "Amoxicilline" not in summary  # its end date is past
    assert 'role="img"' in page and "<title id=\"chart-blood_pressure-title\">" in page
    assert "<desc id=\"chart-blood_pressure-desc\">" in page and "Pression artérielle systolique" in page
    assert "<table>" in page.split('id="chart-blood_pressure"')[1]
    assert "Journal des accès" in page


def test_timeline_filter_by_kind(client, world, login):
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Arachide", "severity": "moderate"})
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id) + "?kind=note").get_data(as_text=True)
    timeline = page.split('id="timeline-title"')[1]
    assert "Résultats sensibles" in timeline and "Arachide" not in timeline
    assert client.get(P.format(pid=world.patient.id) + "?kind=gossip").status_code == 404


def test_practitioner_page_shows_no_patient_controls_and_is_logged(client, world, login):
    login(world.users["treating"])
    page = client.get(P.format(pid=world.patient.id)).get_data(as_text=True)
    assert "Journal des accès" not in page and "Partage" not in page and "Ajouter une entrée" in page
    actions = db.session.scalars(sa.select(AccessLogEntry.action)).all()
    assert actions == ["view_notebook"]


def test_add_measurement_form_validates_range_next_to_the_field(client, world, login, form_post):
    login(world.users["patient"])
    url = P.format(pid=world.patient.id) + "/new?kind=measurement"
    response = form_post(url, {"measurement_type": "weight", "value": "900", "unit": "kg", "measured_at": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "n&#39;est pas plausible" in page and 'id="value-error"' in page
    good = form_post(url, {"measurement_type": "weight", "value": "82.4", "unit": "kg",
                           "measured_at": "2025-06-01T08:30"})
    assert good.status_code == 302
    entry = db.session.scalar(sa.select(NotebookEntry).order_by(NotebookEntry.id.desc()))
    assert entry.data == {"type": "weight", "value": 82.4, "unit": "kg", "measured_at": "2025-06-01T06:30:00+00:00"}
    assert entry.title == "Poids"


def test_wrong_unit_is_shown_on_the_unit_field(client, world, login, form_post):
    login(world.users["patient"])
    response = form_post(P.format(pid=world.patient.id) + "/new?kind=measurement",
                         {"measurement_type": "weight", "value": "80", "unit": "mmHg"})
    assert 'id="unit-error"' in response.get_data(as_text=True)


def test_practitioner_writes_during_the_visit(client, world, login, form_post):
    visit = make_appointment(world.treating, world.patient, past(0) - dt.timedelta(hours=1))
    login(world.users["treating"])
    url = P.format(pid=world.patient.id) + f"/new?kind=report&appointment_id={visit.id}"
    assert "Cette entrée sera rattachée à la consultation." in client.get(url).get_data(as_text=True)
    response = form_post(url, {"title": "Compte rendu de consultation", "body": "Tension mieux contrôlée."})
    assert response.status_code == 302
    entry = db.session.scalar(sa.select(NotebookEntry).order_by(NotebookEntry.id.desc()))
    assert entry.appointment_id == visit.id and entry.author_practitioner_id == world.treating.id


def _agenda_page(client, appointment) -> str:
    response = client.get(f"/agenda/appointments/{appointment.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_agenda_appointment_page_links_to_writing_once_the_visit_has_begun(client, world, login):
    visit = make_appointment(world.treating, world.patient, past(0) - dt.timedelta(minutes=10))
    upcoming = make_appointment(world.treating, world.patient, past(0) + dt.timedelta(days=3))
    login(world.users["treating"])
    page = _agenda_page(client, visit)
    write_url = P.format(pid=world.patient.id) + f"/new?appointment_id={visit.id}"
    assert f'href="{write_url}">Écrire dans le carnet</a>' in page
    assert f'href="{P.format(pid=world.patient.id)}">Ouvrir le carnet</a>' in page
    assert "Cette entrée sera rattachée à la consultation." in client.get(write_url).get_data(as_text=True)
    later = _agenda_page(client, upcoming)
    assert "Ouvrir le carnet" in later and "Écrire dans le carnet" not in later


def test_agenda_offers_no_notebook_to_a_revoked_practitioner(client, world, login):
    visit = make_appointment(world.revoked, world.patient, past(0) - dt.timedelta(minutes=10))
    login(world.users["revoked"])
    assert "le carnet" not in _agenda_page(client, visit)


def test_agenda_offers_no_notebook_to_clinic_staff(client, world, login):
    clinic = factories.make_clinic()
    visit = make_appointment(factories.make_practitioner(clinic=clinic), world.patient,
                             past(0) - dt.timedelta(minutes=10))
    login(factories.make_staff(clinic=clinic))
    assert "le carnet" not in _agenda_page(client, visit)


def test_writing_for_another_practitioners_visit_is_refused_on_the_form(client, world, login, form_post):
    other_visit = make_appointment(world.masked, world.patient, past(3), status=AppointmentStatus.COMPLETED)
    login(world.users["treating"])
    response = form_post(P.format(pid=world.patient.id) + f"/new?kind=note&appointment_id={other_visit.id}",
                         {"title": "Note", "body": ""})
    assert response.status_code == 200
    assert "n&#39;est pas une consultation de ce patient avec vous" in response.get_data(as_text=True)


def test_correction_form_starts_from_the_entry_and_keeps_history(client, world, login, form_post):
    allergy = make_entry(world.patient, kind="allergy", title="", data={"substance": "Iode", "severity": "mild"})
    login(world.users["patient"])
    url = P.format(pid=world.patient.id) + f"/entries/{allergy.id}/supersede"
    assert 'value="Iode"' in client.get(url).get_data(as_text=True)
    response = form_post(url, {"substance": "Iode", "reaction": "Œdème", "severity": "severe", "status": "active",
                               "title": "", "body": ""})
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Historique de cette entrée" in detail and "Œdème" in detail and f"n° {allergy.id}" in detail


def test_upload_errors_are_flashed(client, world, login):
    login(world.users["patient"])
    detail = P.format(pid=world.patient.id) + f"/entries/{world.entry.id}"
    token = csrf_token_of(client.get(detail).get_data(as_text=True))
    response = client.post(detail + "/attachments", data={"file": (io.BytesIO(b"GIF89a..."), "image.gif"),
                                                          "csrf_token": token},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "Seuls les fichiers PDF, PNG et JPEG sont acceptés." in response.get_data(as_text=True)


def test_masking_and_sharing_pages_change_access(client, world, login, form_post):
    login(world.users["patient"])
    detail = P.format(pid=world.patient.id) + f"/entries/{world.entry.id}"
    page = client.get(detail).get_data(as_text=True)
    assert world.treating.full_name in page and world.masked.full_name in page
    form_post(detail + "/masking", {"hidden_from": [str(world.treating.id)]}, page=detail)
    db.session.expire_all()
    assert [mask.practitioner_id for mask in db.session.get(NotebookEntry, world.entry.id).masks] == [world.treating.id]
    sharing = P.format(pid=world.patient.id) + "/sharing"
    assert world.revoked.full_name in client.get(sharing).get_data(as_text=True)
    form_post(sharing, {"revoked": [str(world.treating.id), str(world.revoked.id)]})
    client.post("/logout", data={"csrf_token": _csrf(client, "/login")})
    login(world.users["treating"])
    assert client.get(P.format(pid=world.patient.id)).status_code == 404


def test_the_entry_page_names_whom_it_is_hidden_from_and_never_offers_its_author(client, world, login, form_post):
    own = make_entry(world.patient, author=world.treating.user, title="Compte rendu")
    login(world.users["patient"])
    detail = P.format(pid=world.patient.id) + f"/entries/{own.id}"
    page = client.get(detail).get_data(as_text=True)
    assert f'value="{world.treating.id}"' not in page and f'value="{world.masked.id}"' in page
    assert "L'auteur d'une entrée la voit toujours" in page
    refused = form_post(detail + "/masking", {"hidden_from": [str(world.treating.id)]}, page=detail,
                        follow_redirects=True).get_data(as_text=True)
    assert "ne peut pas lui être masquée" in refused and "La visibilité de cette entrée est mise à jour" not in refused
    form_post(detail + "/masking", {"hidden_from": [str(world.masked.id)]}, page=detail)
    assert f"Masquée pour : {world.masked.full_name}." in client.get(detail).get_data(as_text=True)


def test_bad_ids_in_forms_are_a_400(client, world, login, form_post):
    login(world.users["patient"])
    response = form_post(P.format(pid=world.patient.id) + "/sharing", {"revoked": ["abc"]})
    assert response.status_code == 400


def test_emergency_page_opens_read_only_access(client, world, login, form_post):
    user = world.users["unrelated"]
    login(user)
    url = P.format(pid=world.patient.id) + "/emergency"
    assert "bris de glace" in client.get(url).get_data(as_text=True)
    too_short = form_post(url, emergency_json(world.patient, user, reason="vite"))
    assert too_short.status_code == 200 and 'id="reason-error"' in too_short.get_data(as_text=True)
    assert form_post(url, emergency_json(world.patient, user)).status_code == 302
    page = client.get(P.format(pid=world.patient.id)).get_data(as_text=True)
    assert "Accès en bris de glace : lecture seule" in page and "Ajouter une entrée" not in page
    assert client.get(P.format(pid=world.patient.id) + "/new").status_code == 403


def test_patient_sees_the_access_log_and_emergency_reasons(client, world, login, form_post):
    login(world.users["unrelated"])
    form_post(P.format(pid=world.patient.id) + "/emergency",
              emergency_json(world.patient, world.users["unrelated"], reason="Malaise dans la salle d'attente"))
    client.post("/logout", data={"csrf_token": _csrf(client, "/login")})
    login(world.users["patient"])
    log = client.get(P.format(pid=world.patient.id) + "/access-log").get_data(as_text=True)
    assert world.unrelated.full_name in log and "a ouvert un accès en bris de glace" in log and "log-emergency" in log
    sharing = client.get(P.format(pid=world.patient.id) + "/sharing").get_data(as_text=True)
    assert "Malaise dans la salle d&#39;attente" in sharing


def _statements_for(client, url: str, engine, headers=None) -> int:
    count = 0

    def count_statement(*args):
        nonlocal count
        count += 1

    sa.event.listen(engine, "before_cursor_execute", count_statement)
    try:
        assert client.get(url, headers=headers).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count_statement)
    return count


@pytest.mark.parametrize("actor", ["patient", "treating"])
def test_timeline_uses_a_constant_number_of_queries(client, world, login, actor):
    def add_batch(size: int) -> None:
        author = world.treating.user
        for index in range(size):
            entry = make_entry(world.patient, author=author, title=f"Note {index}")
            make_entry(world.patient, kind="allergy", title="", data={"substance": f"S{index}", "severity": "mild"})
            make_measurement(world.patient, "weight", 70 + index % 10, "kg", days_ago=index)
            make_entry(world.patient, author=author, title="Corrigée", supersedes_id=entry.id)

    login(world.users[actor])
    url = P.format(pid=world.patient.id)
    add_batch(3)
    few = _statements_for(client, url, db.engine)
    add_batch(25)
    many = _statements_for(client, url, db.engine)
    assert few == many


@pytest.mark.parametrize("actor", ["patient", "treating"])
@pytest.mark.parametrize("path", ["/patients/{pid}/notebook/measurements", "/api/v1/patients/{pid}/measurements",
                                  "/api/v1/patients/{pid}/notebook/entries"])
def test_series_and_api_timeline_use_a_constant_number_of_queries(client, world, login, bearer, actor, path):
    def add_batch(size: int) -> None:
        for index in range(size):
            entry = make_entry(world.patient, author=world.treating.user, title=f"Note {index}")
            make_entry(world.patient, author=world.treating.user, title="Corrigée", supersedes_id=entry.id)
            make_measurement(world.patient, "weight", 70 + index % 10, "kg", days_ago=index)
            mask_entry(make_measurement(world.patient, "heart_rate", 60 + index, "bpm", days_ago=index),
                       world.treating)

    url = path.format(pid=world.patient.id)
    headers = bearer(world.users[actor]) if url.startswith("/api/") else None
    if headers is None:
        login(world.users[actor])
    add_batch(3)
    _statements_for(client, url, db.engine, headers)  # builds the digest
    few = _statements_for(client, url, db.engine, headers)
    add_batch(25)
    _statements_for(client, url, db.engine, headers)  # rebuilds it: the entries were written straight to the table
    assert _statements_for(client, url, db.engine, headers) == few


def test_timeline_charts_the_latest_points_and_the_measurements_page_all(client, world, login):
    for days in range(40):
        make_measurement(world.patient, "weight", 60 + days / 10, "kg", days_ago=days + 10)
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id)).get_data(as_text=True)
    charts = page.split('id="charts-title"')[1].split('id="timeline-title"')[0]
    assert charts.count('class="chart-point') == 30 and "Toutes les mesures" in charts
    every = client.get(P.format(pid=world.patient.id) + "/measurements").get_data(as_text=True)
    assert every.count('class="chart-point') == 41 and "Mesures de" in every
    assert "63,9 kg" in every and "63,9 kg" not in charts  # the oldest point


def test_measurements_page_is_logged_for_practitioners(client, world, login):
    login(world.users["treating"])
    assert client.get(P.format(pid=world.patient.id) + "/measurements").status_code == 200
    actions = db.session.scalars(sa.select(AccessLogEntry.action).where(AccessLogEntry.patient_id == world.patient.id))
    assert models.AccessAction.VIEW_MEASUREMENTS in list(actions)


def test_timeline_decrypts_only_what_it_shows(client, world, login, monkeypatch):
    for index in range(40):
        make_entry(world.patient, title=f"Note {index}")
    login(world.users["patient"])
    calls = []
    real_decrypt = models.decrypt
    monkeypatch.setattr(models, "decrypt", lambda token: calls.append(token) or real_decrypt(token))
    assert client.get(P.format(pid=world.patient.id)).status_code == 200
    # The 20 newest notes of the first page and, to build the digest of the summary
    # and charts, the one measurement; not the 21 older entries (nor the file name
    # of the one on page 2).
    assert len(calls) == 20 + 1
    for index in range(30):
        make_measurement(world.patient, "weight", 70 + index / 10, "kg", days_ago=index + 40)
    client.get(P.format(pid=world.patient.id))
    calls.clear()
    assert client.get(P.format(pid=world.patient.id)).status_code == 200
    # Then the 20 notes and the digest only, however many measurements the charts draw.
    assert len(calls) == 20 + 1


def test_pages_are_responsive_and_script_free(client, world, login):
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id)).get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page
    assert "css/notebook.css" in page


def test_blood_pressure_form_makes_one_entry_with_both_values(client, world, login, form_post):
    login(world.users["patient"])
    url = P.format(pid=world.patient.id) + "/new?kind=measurement"
    form = client.get(url).get_data(as_text=True)
    assert 'value="blood_pressure"' in form and 'value="blood_pressure_systolic"' not in form
    missing = form_post(url, {"measurement_type": "blood_pressure", "systolic": "128", "unit": "mmHg"})
    assert missing.status_code == 200 and 'id="diastolic-error"' in missing.get_data(as_text=True)
    inverted = form_post(url, {"measurement_type": "blood_pressure", "systolic": "80", "diastolic": "120",
                               "unit": "mmHg"})
    assert 'id="diastolic-error"' in inverted.get_data(as_text=True)
    good = form_post(url, {"measurement_type": "blood_pressure", "systolic": "128", "diastolic": "82",
                           "unit": "mmHg", "measured_at": "2025-06-01T08:30"})
    assert good.status_code == 302
    entry = db.session.scalar(sa.select(NotebookEntry).order_by(NotebookEntry.id.desc()))
    assert entry.data == {"type": "blood_pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg",
                          "measured_at": "2025-06-01T06:30:00+00:00"}
    assert entry.title == "Tension artérielle"
    page = client.get(P.format(pid=world.patient.id) + "/measurements").get_data(as_text=True)
    assert "Pression artérielle systolique" in page and "Pression artérielle diastolique" in page
    assert "128 mmHg" in page and "82 mmHg" in page


def test_after_confirming_the_password_the_export_downloads_from_the_notebook(client, world, login, form_post):
    login(world.users["patient"])
    notebook = P.format(pid=world.patient.id)
    asked = client.get(notebook + "/export.pdf")
    confirm_url = asked.headers["Location"]
    assert confirm_url == f"/account/confirm?next={notebook}/export.pdf/ready"
    ready = form_post(confirm_url, {"password": factories.PASSWORD})
    assert ready.headers["Location"] == f"{notebook}/export.pdf/ready"
    back = client.get(ready.headers["Location"])
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{notebook}?download=")
    # The page ends on the notebook; it starts the download itself (no script) and offers its link.
    page = client.get(back.headers["Location"]).get_data(as_text=True)
    assert f'<meta http-equiv="refresh" content="0; url={notebook}/export.pdf">' in page
    assert f'<a href="{notebook}/export.pdf" download>' in page and "Votre export est prêt" in page
    download = client.get(f"{notebook}/export.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment")
    # Once: a reload of the notebook does not download again.
    again = client.get(back.headers["Location"]).get_data(as_text=True)
    assert "http-equiv" not in again and "Votre export est prêt" not in again


def test_the_download_link_of_the_notebook_needs_its_own_token(client, world, login, form_post):
    login(world.users["patient"])
    notebook = P.format(pid=world.patient.id)
    form_post(f"/account/confirm?next={notebook}", {"password": factories.PASSWORD})
    client.get(f"{notebook}/export.fhir/ready")
    assert "http-equiv" not in client.get(f"{notebook}?download=guessed").get_data(as_text=True)


def test_the_ready_step_asks_the_password_when_it_was_not_confirmed(client, world, login):
    login(world.users["patient"])
    response = client.get(P.format(pid=world.patient.id) + "/export.fhir/ready")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/confirm?next=")
    login(world.users["treating"])
    assert client.get(P.format(pid=world.patient.id) + "/export.fhir/ready").status_code == 403
