"""The desk's pages: "Patient arrived" on the agenda, walk-ins, the identity search's limit, the
patient's choice to share the notebook at booking, and the pages refused to a clinic accountant."""

import datetime as dt
import re

import pytest

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import ClinicRole
from webapp.booking.models import Appointment
from webapp.extensions import db


def html(response) -> str:
    return response.get_data(as_text=True)


def reload(appointment_id) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment_id)


@pytest.fixture
def practice(clinic):
    return open_practice(factories.make_practitioner(clinic=clinic), hours=("00:00", "23:55"))


def test_the_agenda_marks_a_patient_arrived(client, log_in, form_post, clinic, practice):
    practitioner, reason = practice
    now = dt.datetime.now(dt.UTC)
    soon = make_appointment(practitioner, factories.make_patient(last_name="Arrivant"),
                            now.replace(second=0, microsecond=0, minute=0) + dt.timedelta(hours=1), reason=reason)
    log_in(factories.make_staff(clinic=clinic))
    day = soon.start_at.astimezone(local_start(0).tzinfo).date().isoformat()
    agenda = f"/agenda?practitioner={practitioner.id}&day={day}"
    page = html(client.get(agenda))
    assert "Patient arrivé" in page and f"/agenda/appointments/{soon.id}/arrived" in page
    response = form_post(f"/agenda/appointments/{soon.id}/arrived", {"return_to": "agenda"}, page=agenda)
    assert response.status_code == 302 and response.headers["Location"].startswith("/agenda?")
    assert reload(soon.id).arrived_at is not None
    page = html(client.get(agenda))
    assert "Arrivé à" in page and f"/agenda/appointments/{soon.id}/arrived" not in page
    detail = html(client.get(f"/agenda/appointments/{soon.id}"))
    assert "Marquer comme non honoré" not in detail and "Marquer comme effectué" in detail


def test_the_desk_records_a_walk_in_from_the_agenda(client, log_in, form_post, practice):
    practitioner, reason = practice
    stranger = factories.make_patient(first_name="Hélène", last_name="Le Gall", birth_date=dt.date(1961, 7, 8))
    log_in(practitioner.user)
    assert f'href="/agenda/book?practitioner={practitioner.id}&amp;walk_in=1"' in html(client.get("/agenda"))
    found = html(client.get(f"/agenda/book?practitioner={practitioner.id}&walk_in=1&q=Hélène+Le+Gall"
                            f"&born={stranger.birth_date}"))
    assert "Patient sans rendez-vous" in found
    link = re.search(rf'href="(/agenda/book\?[^"]*patient={stranger.id}[^"]*)"', found).group(1).replace("&amp;", "&")
    assert "walk_in=1" in link
    page_url = f"/agenda/book?practitioner={practitioner.id}&patient={stranger.id}&reason={reason.id}&walk_in=1"
    page = html(client.get(page_url))
    assert "Enregistrer le passage de Hélène Le Gall" in page
    response = form_post(f"/agenda/walk-in?practitioner={practitioner.id}",
                         {"patient_id": stranger.id, "visit_reason_id": reason.id}, page=page_url)
    assert response.status_code == 302
    appointment = db.session.query(Appointment).one()
    assert appointment.is_walk_in and appointment.arrived_at is not None and appointment.patient_id == stranger.id
    assert "sans rendez-vous" in html(client.get(response.headers["Location"]))


def test_a_walk_in_without_an_identified_patient_is_refused(client, log_in, form_post, practice):
    practitioner, reason = practice
    stranger = factories.make_patient()
    log_in(practitioner.user)
    response = form_post(f"/agenda/walk-in?practitioner={practitioner.id}",
                         {"patient_id": stranger.id, "visit_reason_id": reason.id},
                         page=f"/agenda/book?practitioner={practitioner.id}&walk_in=1", follow_redirects=True)
    assert "Patient introuvable" in html(response)
    assert not db.session.query(Appointment).count()


def test_the_identity_search_is_limited_after_failures(app, monkeypatch, client, log_in, practice):
    monkeypatch.setitem(app.config, "CARNET_DESK_IDENTIFICATION_MAX_FAILURES", 2)
    practitioner, _ = practice
    stranger = factories.make_patient(first_name="Hélène", last_name="Le Gall", birth_date=dt.date(1961, 7, 8))
    log_in(practitioner.user)
    for day in (9, 10):
        page = html(client.get(f"/agenda/book?q=Hélène+Le+Gall&born=1961-07-{day:02d}"))
        assert "Aucun patient trouvé" in page
    limited = html(client.get(f"/agenda/book?q=Hélène+Le+Gall&born={stranger.birth_date}"))
    assert f"patient={stranger.id}" not in limited and "Trop d&#39;identifications" in limited


def test_the_patient_chooses_to_share_the_notebook_when_booking(client, log_in, form_post, practice):
    practitioner, reason = practice
    patient = factories.make_patient()
    log_in(patient.account)
    for days, choice in ((3, {"share_notebook_ahead": "y"}), (4, {})):
        start = local_start(days, 10)
        url = f"/book/{practitioner.id}?reason={reason.id}&start={start.isoformat().replace('+', '%2B')}"
        page = html(client.get(url))
        box = re.search(r'<input[^>]*name="share_notebook_ahead"[^>]*>', page).group(0)
        assert "checked" not in box  # off unless the patient ticks it
        response = form_post(url, {"visit_reason_id": reason.id, "start": start.isoformat(), "patient_id": patient.id,
                                   **choice})
        assert response.status_code == 302
        booked = db.session.query(Appointment).filter(Appointment.start_at == start).one()
        assert booked.shares_notebook_ahead is bool(choice)


def test_a_clinic_accountant_has_no_agenda_pages(client, log_in, form_post, clinic, practice):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, factories.make_patient(), local_start(2), reason=reason)
    log_in(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    menu = html(client.get("/account"))
    assert 'href="/agenda"' not in menu and 'href="/agenda/book"' not in menu
    for url in ("/agenda", "/agenda/book", f"/agenda/book?walk_in=1&practitioner={practitioner.id}",
                "/agenda/patients/new"):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/agenda/appointments/{appointment.id}").status_code == 404
