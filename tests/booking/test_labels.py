"""What leaves Carnet: a visit reason reaches mails, SMS and calendars only when the practitioner shows it;
the practitioner's feed names patients by their initials unless asked for names."""

import html

import icalendar
import pytest

from tests import factories
from tests.booking.factories import local_start, make_appointment, make_visit_reason, open_practice
from tests.notifications.factories import outbox
from webapp.booking import appointments, calendar_feed, labels, settings
from webapp.errors import Forbidden
from webapp.notifications.models import Channel
from webapp.notifications.services import open_email, open_sms
from webapp.transaction import transaction

SENSITIVE = "Suivi psychiatrique"


def sensitive_practice(*, shown: bool = False):
    return open_practice(reason_overrides={"label": SENSITIVE, "shown_in_messages": shown})


def ics_texts(data: bytes) -> list[str]:
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return [str(event["summary"]), str(event["description"])]


def book_through_api(client, api_token, practitioner, reason, patient):
    response = client.post("/api/v1/appointments", headers=api_token(patient.account), json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "start": local_start(5, 10).isoformat()})
    assert response.status_code == 201, response.json
    return response.json["id"]


def everything_sent_to_the_patient() -> list[str]:
    """Subject, text and HTML of every mail, the text of every SMS, the summary and description of each `.ics`."""
    texts = []
    for row in outbox(channel=Channel.EMAIL):
        content = open_email(row)
        texts += [content.subject, content.text, html.unescape(content.html)]
        for attachment in content.attachments:
            texts += ics_texts(attachment.data)
    texts += [open_sms(row).text for row in outbox(channel=Channel.SMS)]
    return texts


def test_a_reason_not_shown_leaves_as_a_neutral_label_in_mails_sms_and_calendar_files(client, api_token):
    practitioner, reason = sensitive_practice()
    patient = factories.make_patient(phone="+33612345678")
    appointment_id = book_through_api(client, api_token, practitioner, reason, patient)
    sent = everything_sent_to_the_patient()
    keys = {row.key for row in outbox()}
    assert {f"booking-confirmed:{appointment_id}", f"reminder:appointment:{appointment_id}:48h"} <= keys
    assert len(outbox(channel=Channel.SMS)) == 2  # the 48 h and 2 h reminders

    neutral = f"Rendez-vous avec {practitioner.full_name}"
    assert not [text for text in sent if "psychiatrique" in text.lower()]
    confirmation = open_email(outbox(key=f"booking-confirmed:{appointment_id}")[0])
    assert neutral in confirmation.text and neutral in html.unescape(confirmation.html)
    assert neutral in open_email(outbox(key=f"reminder:appointment:{appointment_id}:48h",
                                        channel=Channel.EMAIL)[0]).text
    assert all(neutral in open_sms(row).text for row in outbox(channel=Channel.SMS))
    assert ics_texts(confirmation.attachments[0].data)[0] == neutral

    api_ics = client.get(f"/api/v1/appointments/{appointment_id}/ics", headers=api_token(patient.account))
    assert api_ics.status_code == 200
    summary, description = ics_texts(api_ics.data)
    assert summary == neutral and "psychiatrique" not in description.lower()


def test_a_reason_shown_in_messages_appears_as_before(client, api_token):
    practitioner, reason = sensitive_practice(shown=True)
    patient = factories.make_patient(phone="+33612345678")
    appointment_id = book_through_api(client, api_token, practitioner, reason, patient)
    titled = f"{SENSITIVE} avec {practitioner.full_name}"
    confirmation = open_email(outbox(key=f"booking-confirmed:{appointment_id}")[0])
    assert titled in confirmation.text
    summary, description = ics_texts(confirmation.attachments[0].data)
    assert summary == titled and f"Motif de consultation : {SENSITIVE}" in description
    assert all(titled in open_sms(row).text for row in outbox(channel=Channel.SMS))


def test_the_label_follows_the_recipient_s_language(app):
    practitioner, reason = sensitive_practice()
    parent = factories.make_user(locale="en")
    child = factories.make_relative(parent)
    with app.test_request_context(), transaction():
        appointment = appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                                start_at=local_start(5, 10), by=parent, patient_id=child.id)
    content = open_email(outbox(key=f"booking-confirmed:{appointment.id}")[0])
    assert f"What: Appointment with {practitioner.full_name}" in content.text
    assert ics_texts(content.attachments[0].data)[0] == f"Appointment with {practitioner.full_name}"


def test_a_rescheduled_appointment_keeps_the_neutral_label(app):
    practitioner, reason = sensitive_practice()
    patient = factories.make_patient()
    with app.test_request_context():
        with transaction():
            appointment = appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                                    start_at=local_start(5, 10), by=patient.account)
        with transaction():
            appointments.reschedule_appointment(appointment.id, new_start_at=local_start(6, 10), by=patient.account)
    [moved] = [row for row in outbox(channel=Channel.EMAIL) if row.key.startswith("booking-rescheduled:")]
    content = open_email(moved)
    assert f"Rendez-vous avec {practitioner.full_name}" in content.text
    assert "psychiatrique" not in content.text.lower() + ics_texts(content.attachments[0].data)[0].lower()


def test_patient_initials():
    assert labels.patient_initials(factories.make_patient(first_name="Marie", last_name="Leroy")) == "M. L."
    assert labels.patient_initials(factories.make_patient(first_name="élise", last_name="d'Arc")) == "É. D."


def feed_summaries(client, practitioner) -> list[str]:
    with transaction():
        token = calendar_feed.rotate_calendar_feed(practitioner.user)
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    return sorted(str(event["summary"]) + "\n" + str(event["description"])
                  for event in icalendar.Calendar.from_ical(response.data).walk("VEVENT"))


def test_the_feed_shows_initials_and_no_hidden_reason_by_default(client):
    practitioner, reason = sensitive_practice()
    shown = make_visit_reason(practitioner, label="Vaccination", shown_in_messages=True)
    patient = factories.make_patient(first_name="Marie", last_name="Leroy")
    make_appointment(practitioner, patient, local_start(2), reason=reason)
    make_appointment(practitioner, patient, local_start(3), reason=shown)
    hidden_event, shown_event = feed_summaries(client, practitioner)
    assert hidden_event.startswith("M. L. · Rendez-vous\n") and "psychiatrique" not in hidden_event.lower()
    assert shown_event.startswith("M. L. · Vaccination\n")
    assert "Leroy" not in hidden_event + shown_event


def test_the_feed_shows_names_only_when_the_practitioner_asks(client, log_in, form_post):
    practitioner, reason = sensitive_practice()
    patient = factories.make_patient(first_name="Marie", last_name="Leroy")
    make_appointment(practitioner, patient, local_start(2), reason=reason)
    log_in(practitioner.user)
    page = client.get("/settings/booking").get_data(as_text=True)
    assert "Afficher le nom des patients dans mon flux d'agenda" in html.unescape(page)
    response = form_post("/settings/calendar-feed/names", {"show_names": "y"}, page="/settings/booking")
    assert response.status_code == 302
    [event] = feed_summaries(client, practitioner)
    assert event.startswith("Marie Leroy · Rendez-vous\n") and "psychiatrique" not in event.lower()
    form_post("/settings/calendar-feed/names", {}, page="/settings/booking")
    assert feed_summaries(client, practitioner)[0].startswith("M. L. · ")


def test_only_the_practitioner_sets_the_feed_names(client):
    patient = factories.make_patient()
    with pytest.raises(Forbidden), transaction():
        calendar_feed.set_feed_patient_names(patient.account, True)


def test_the_api_flag_round_trips_and_defaults_to_hidden(client, api_token):
    practitioner = factories.make_practitioner()
    headers = api_token(practitioner.user)
    base = "/api/v1/practitioners/me/visit-reasons"
    created = client.post(base, headers=headers, json={"label": SENSITIVE, "duration_minutes": 30,
                                                       "price_cents": 5000})
    assert created.status_code == 201 and created.json["shown_in_messages"] is False
    changed = client.patch(f"{base}/{created.json['id']}", headers=headers, json={"shown_in_messages": True})
    assert changed.status_code == 200 and changed.json["shown_in_messages"] is True
    kept = client.patch(f"{base}/{created.json['id']}", headers=headers, json={"label": "Suivi"})
    assert kept.json["shown_in_messages"] is True
    [listed] = client.get(base, headers=headers).json["items"]
    assert listed["shown_in_messages"] is True
    for wrong in ("yes", 1, None):
        refused = client.patch(f"{base}/{created.json['id']}", headers=headers, json={"shown_in_messages": wrong})
        assert refused.status_code == 422, (wrong, refused.json)
    [public] = client.get(f"/api/v1/practitioners/{practitioner.id}").json["visit_reasons"]
    assert "shown_in_messages" not in public  # the patients' view of a reason does not carry the setting


def test_the_settings_form_sets_the_flag(client, log_in, form_post):
    practitioner = factories.make_practitioner()
    log_in(practitioner.user)
    page = client.get("/settings/visit-reasons").get_data(as_text=True)
    assert "Montrer ce motif dans les e-mails, SMS et calendriers des patients" in page
    form_post("/settings/visit-reasons", {"label": "Vaccination", "duration_minutes": "30", "price_euros": "25",
                                          "new_patients": "y", "returning_patients": "y", "mode": "in_person",
                                          "shown_in_messages": "y"})
    form_post("/settings/visit-reasons", {"label": SENSITIVE, "duration_minutes": "30", "price_euros": "25",
                                          "new_patients": "y", "returning_patients": "y", "mode": "in_person"})
    flags = {r.label: r.shown_in_messages for r in settings.visit_reasons_of(practitioner.id)}
    assert flags == {"Vaccination": True, SENSITIVE: False}
