"""Patient pages: a confirmation step before a move (warning inside the
no-cancellation window) and before a cancellation (optional reason), without JavaScript."""

import datetime as dt
import re

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.extensions import db


def html(response) -> str:
    return response.get_data(as_text=True)


def reload(appointment_id: int) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment_id)


def confirm_links(page: str) -> list[str]:
    """The slots of the move picker: GET forms to the confirmation step."""
    return re.findall(r'<form method="get" action="(/appointments/\d+/reschedule/confirm)">\s*'
                      r'<input type="hidden" name="start" value="([^"]+)">', page)


def quoted(start) -> str:
    return start.isoformat().replace("+", "%2B")


def test_a_move_goes_through_a_confirmation_step(client, log_in, form_post):
    practitioner, reason = open_practice(factories.make_practitioner(phone="+33142000000"),
                                         cancellation_deadline_hours=24)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(5), reason=reason)
    log_in(patient.account)
    picker = html(client.get(f"/appointments/{appointment.id}/reschedule?week={local_start(5).date().isoformat()}"))
    slots = confirm_links(picker)
    assert slots and 'method="post"' not in picker.split("slot-week", 1)[1]
    new_start = local_start(5, 15)
    url = f"/appointments/{appointment.id}/reschedule/confirm?start={quoted(new_start)}"
    assert (url.split("?")[0], new_start) in [(action, dt.datetime.fromisoformat(start)) for action, start in slots]
    page = html(client.get(url))
    assert "Confirmer le déplacement" in page and "Nouvel horaire" in page
    assert "Vous pourrez encore l'annuler ou le déplacer en ligne jusqu'au" in page
    assert 'id="window-warning"' not in page
    assert reload(appointment.id).start_at == local_start(5)  # nothing moves on the confirmation page
    start = re.search(r'name="start" type="hidden" value="([^"]+)"', page).group(1)
    response = form_post(f"/appointments/{appointment.id}/reschedule", {"start": start}, page=url,
                         follow_redirects=True)
    assert "Votre rendez-vous est déplacé" in html(response)
    assert reload(appointment.id).start_at == new_start


def test_moving_into_the_no_cancellation_window_warns_clearly(client, log_in):
    practitioner, reason = open_practice(factories.make_practitioner(phone="+33142000000"),
                                         cancellation_deadline_hours=48)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(6), reason=reason)
    log_in(patient.account)
    picker = html(client.get(f"/appointments/{appointment.id}/reschedule"))
    assert "non annulable en ligne" in picker and "moins de 48 heures" in picker
    soon = local_start(1, 11)
    page = html(client.get(f"/appointments/{appointment.id}/reschedule/confirm?start={quoted(soon)}"))
    assert 'id="window-warning"' in page and 'role="alert"' in page
    assert "Attention : après ce déplacement, vous ne pourrez plus annuler ni déplacer ce rendez-vous en ligne" in page
    assert "jusqu'à 48 heures avant" in page
    assert "appelez le cabinet : 01 42 00 00 00" in page
    assert "Confirmer le déplacement" in page  # still allowed, knowingly
    assert reload(appointment.id).start_at == local_start(6)


def test_a_taken_or_malformed_new_time_goes_back_to_the_picker(client, log_in):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(5), reason=reason)
    make_appointment(practitioner, factories.make_patient(), local_start(4), reason=reason)
    log_in(patient.account)
    taken = client.get(f"/appointments/{appointment.id}/reschedule/confirm?start={quoted(local_start(4))}")
    assert taken.status_code == 302 and f"/appointments/{appointment.id}/reschedule?week=" in taken.headers["Location"]
    for bad in ("tomorrow", "2030-01-01T10:00:00", ""):
        response = client.get(f"/appointments/{appointment.id}/reschedule/confirm?start={bad}")
        assert response.status_code == 302 and response.headers["Location"].endswith(
            f"/appointments/{appointment.id}/reschedule")


def test_past_the_deadline_the_move_page_says_whom_to_call(client, log_in):
    practitioner, reason = open_practice(factories.make_practitioner(phone="+33142000000"),
                                         cancellation_deadline_hours=24 * 10)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    log_in(patient.account)
    page = html(client.get(f"/appointments/{appointment.id}/reschedule/confirm?start={quoted(local_start(4))}"))
    assert "ne peut plus être déplacé en ligne" in page and "01 42 00 00 00" in page
    assert "Confirmer le déplacement</button>" not in page


def test_a_cancellation_goes_through_a_confirmation_step_with_an_optional_reason(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(5), reason=reason)
    log_in(patient.account)
    detail = html(client.get(f"/appointments/{appointment.id}"))
    confirm_url = f"/appointments/{appointment.id}/cancel/confirm"
    assert f'href="{confirm_url}"' in detail and "data-confirm" not in detail
    assert f'href="{confirm_url}"' in html(client.get("/appointments"))
    page = html(client.get(confirm_url))
    assert "Annuler le rendez-vous ?" in page and "Garder le rendez-vous" in page and "Facultatif" in page
    assert f'action="/appointments/{appointment.id}/cancel"' in page
    assert reload(appointment.id).status is AppointmentStatus.BOOKED
    response = form_post(f"/appointments/{appointment.id}/cancel", {"reason": ""}, page=confirm_url,
                         follow_redirects=True)
    assert "Votre rendez-vous est annulé" in html(response)
    assert reload(appointment.id).status is AppointmentStatus.CANCELLED


def test_past_the_deadline_the_cancel_page_offers_no_button(client, log_in):
    practitioner, reason = open_practice(factories.make_practitioner(phone="+33142000000"),
                                         cancellation_deadline_hours=24 * 10)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    log_in(patient.account)
    page = html(client.get(f"/appointments/{appointment.id}/cancel/confirm"))
    assert "ne peut plus être annulé en ligne" in page and "Appelez le cabinet : 01 42 00 00 00" in page
    assert "Confirmer l'annulation" not in page and 'name="reason"' not in page


def test_strangers_get_404_on_the_confirmation_steps(client, log_in):
    practitioner, reason = open_practice()
    appointment = make_appointment(practitioner, factories.make_patient(), local_start(5), reason=reason)
    log_in(factories.make_patient().account)
    assert client.get(f"/appointments/{appointment.id}/cancel/confirm").status_code == 404
    assert client.get(f"/appointments/{appointment.id}/reschedule/confirm?start="
                      f"{quoted(local_start(5, 15))}").status_code == 404


def test_the_practice_is_sent_to_its_agenda_page(client, log_in):
    practitioner, reason = open_practice()
    appointment = make_appointment(practitioner, factories.make_patient(), local_start(5), reason=reason)
    log_in(practitioner.user)
    response = client.get(f"/appointments/{appointment.id}/cancel/confirm")
    assert response.status_code == 302 and f"/agenda/appointments/{appointment.id}" in response.headers["Location"]
