"""Invitation pages: the desk's invite page (roles, forms, CSRF) and the patient's claim page."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.invitations.factories import STRONG, claim, invite
from tests.notifications.factories import outbox
from webapp.accounts.models import PatientProfile
from webapp.extensions import db
from webapp.notifications.sender import send_due_notifications


def _invite_url(desk) -> str:
    return (f"/agenda/patients/{desk.patient.id}/invite?practitioner={desk.practitioner.id}"
            f"&appointment={desk.appointment.id}")


def _profile_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(PatientProfile.id)))


def _claim_data(**overrides) -> dict:
    return {"email": "lea.martin@example.org", "password": STRONG, "accept_terms": "y"} | overrides


# --- The desk ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["practitioner", "staff"])
def test_the_appointment_page_offers_the_invitation_to_the_desk(client, form_post, desk, role):
    log_in(form_post, desk.users[role])
    page = client.get(f"/agenda/appointments/{desk.appointment.id}").get_data(as_text=True)
    assert "Inviter le patient sur Carnet" in page and _invite_url(desk).replace("&", "&amp;") in page


def test_the_appointment_page_offers_no_invitation_once_the_patient_has_an_account(client, form_post, desk):
    desk.patient.account = factories.make_user()
    db.session.commit()
    log_in(form_post, desk.practitioner.user)
    assert "Inviter le patient" not in client.get(f"/agenda/appointments/{desk.appointment.id}").get_data(as_text=True)


def test_the_desk_confirms_the_address_and_sends_the_invitation(client, form_post, desk):
    log_in(form_post, desk.staff)
    page = client.get(_invite_url(desk)).get_data(as_text=True)
    assert 'value="lea.martin@example.org"' in page and "Envoyer l’invitation" in page
    response = form_post(_invite_url(desk), {"email": "lea.m@example.org"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "L’invitation est envoyée à lea.m@example.org." in page and "Renvoyer l’invitation" in page
    assert [row.key.split(":")[0] for row in outbox()] == ["patient-invitation"]


def test_a_bad_address_is_shown_next_to_the_field(client, form_post, desk):
    log_in(form_post, desk.practitioner.user)
    response = form_post(_invite_url(desk), {"email": "pas-une-adresse"})
    assert response.status_code == 200 and 'id="email-error"' in response.get_data(as_text=True)
    assert outbox() == []


def test_the_invite_form_needs_its_csrf_token(client, form_post, desk):
    log_in(form_post, desk.practitioner.user)
    assert client.post(_invite_url(desk), data={"email": "lea.martin@example.org"}).status_code == 400
    assert outbox() == []


@pytest.mark.parametrize(("role", "status"), [
    ("untreating", 404), ("other_staff", 404), ("patient", 403), ("admin", 403), ("anonymous", 302),
])
def test_the_invite_page_is_refused_to_anyone_else(client, form_post, desk, role, status):
    if role != "anonymous":
        log_in(form_post, desk.users[role])
    assert client.get(_invite_url(desk)).status_code == status
    assert client.post(_invite_url(desk), data={"email": "x@example.org"}).status_code in {status, 400}
    assert outbox() == []


# --- The patient ------------------------------------------------------------------------------

def test_the_claim_page_shows_the_practice_and_the_first_name_only(client, desk):
    token = invite(desk)
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Bonjour Léa" in page and "Centre médical vous invite sur Carnet" in page
    assert 'value="lea.martin@example.org"' in page
    assert desk.patient.last_name not in page and "1970" not in page


def test_claiming_logs_the_patient_in_on_their_own_profile(client, form_post, desk):
    token = invite(desk)
    profiles_before = _profile_count()
    response = form_post(f"/invitation/{token}", _claim_data())
    assert response.status_code == 302
    db.session.expire_all()
    assert desk.patient.account is not None and desk.patient.account.email == "lea.martin@example.org"
    assert _profile_count() == profiles_before  # the account got the desk's profile, no new one
    assert client.get("/appointments").status_code == 200
    assert client.get(f"/patients/{desk.patient.id}/notebook").status_code == 200


@pytest.mark.parametrize(("data", "field"), [
    ({"password": "court"}, "password"),
    ({"accept_terms": ""}, "accept_terms"),
    ({"email": "pas-une-adresse"}, "email"),
])
def test_claim_errors_are_shown_next_to_their_field(form_post, desk, data, field):
    response = form_post(f"/invitation/{invite(desk)}", _claim_data(**data))
    assert response.status_code == 200 and f'id="{field}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert desk.patient.account_id is None


def test_an_address_with_an_account_is_told_to_log_in_first(form_post, desk):
    existing = factories.make_patient().account
    response = form_post(f"/invitation/{invite(desk)}", _claim_data(email=existing.email))
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and "Connectez-vous, puis rouvrez ce lien." in page


def test_the_claim_form_needs_its_csrf_token(client, desk):
    response = client.post(f"/invitation/{invite(desk)}", data=_claim_data())
    assert response.status_code == 400
    db.session.expire_all()
    assert desk.patient.account_id is None


@pytest.mark.parametrize(("case", "status", "message"), [
    ("tampered", 404, "n’est pas valide"),
    ("used", 409, "déjà été utilisée"),
    ("replaced", 410, "invitation plus récente"),
])
def test_unusable_links_get_a_clear_page(client, form_post, desk, case, status, message):
    token = invite(desk)
    if case == "tampered":
        token = token[:-3] + "abc"
    elif case == "used":
        claim(token)
    else:
        invite(desk)
    for response in (client.get(f"/invitation/{token}"), client.post(f"/invitation/{token}", data=_claim_data())):
        assert response.status_code in {status, 400}
    page = client.get(f"/invitation/{token}")
    assert page.status_code == status and message in page.get_data(as_text=True)


def test_a_signed_in_parent_adds_the_child_from_the_link(client, form_post, desk):
    parent = factories.make_patient(user_overrides={"email": "parent@example.org"}, birth_date=dt.date(1980, 5, 1))
    token = invite(desk, email="parent@example.org")
    log_in(form_post, parent.account)
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Ajouter Léa à mon compte" in page
    response = form_post(f"/invitation/{token}/add", {}, page=f"/invitation/{token}")
    assert response.headers["Location"].endswith(f"/patients/{desk.patient.id}/notebook")
    assert client.get(f"/patients/{desk.patient.id}/notebook").status_code == 200


def test_the_claim_is_rate_limited(form_post, desk):
    token = invite(desk)
    statuses = [form_post(f"/invitation/{token}", _claim_data(password="court")).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_the_link_mailed_over_smtp_claims_the_profile(client, form_post, desk, smtp):
    invite(desk)
    assert send_due_notifications().sent == 1
    [message] = smtp.messages
    assert message["To"] == "lea.martin@example.org" and message["Subject"] == "Centre médical vous invite sur Carnet"
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://carnet\.test(/invitation/\S+)", text).group(1)
    assert link in message.get_body(("html",)).get_content()
    assert form_post(link, _claim_data()).status_code == 302
    db.session.expire_all()
    assert desk.patient.account_id is not None


def test_a_signed_in_practitioner_is_told_the_link_is_for_a_patient(client, form_post, desk):
    token = invite(desk)
    log_in(form_post, desk.practitioner.user)
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Cette invitation est destinée à un compte patient." in page and "Ajouter Léa" not in page
    assert form_post(f"/invitation/{token}/add", {}, page=f"/invitation/{token}").status_code == 403
