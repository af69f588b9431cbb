"""Invitations never hand a profile over behind the back of the people who act for it."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.booking.factories import local_start, make_appointment
from tests.conftest import csrf_token_of
from tests.invitations.factories import STRONG, claim, invitations_of, invite, make_desk
from tests.notifications.factories import outbox
from webapp.accounts.models import PatientProxy
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.invitations import services
from webapp.invitations.errors import (
    InvitationPending,
    InvitationRefused,
    ProfileAlreadyClaimed,
    ProfileHasProxy,
)
from webapp.notebook.models import AccessAction, AccessLogEntry, Revocation
from webapp.notifications.services import open_email
from webapp.transaction import transaction


def _add_proxy(desk, email="parent@example.org"):
    parent = factories.make_patient(user_overrides={"email": email}, birth_date=dt.date(1980, 5, 1)).account
    db.session.add(PatientProxy(user_id=parent.id, patient_id=desk.patient.id))
    db.session.commit()
    return parent


def _proxy_ids(patient) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(PatientProxy.user_id).where(PatientProxy.patient_id == patient.id)))


# --- Who the desk may invite ------------------------------------------------------------------

def test_a_secretary_cannot_invite_a_child_someone_acts_for(desk):
    desk.patient.birth_date = dt.date(2016, 4, 2)
    _add_proxy(desk)
    with pytest.raises(ProfileHasProxy):
        invite(desk, by=desk.staff, email="secretariat@example.org")
    assert invitations_of(desk.patient) == [] and outbox() == []
    assert not services.can_invite(desk.staff, desk.patient, desk.practitioner.id)


def test_the_invite_page_refuses_a_profile_someone_acts_for(client, form_post, desk):
    _add_proxy(desk)
    log_in(form_post, desk.staff)
    url = f"/agenda/patients/{desk.patient.id}/invite?practitioner={desk.practitioner.id}"
    response = form_post(url, {"email": "secretariat@example.org"})
    assert response.status_code == 200 and "Quelqu’un agit déjà pour ce patient" in response.get_data(as_text=True)
    assert invitations_of(desk.patient) == []
    page = client.get(f"/agenda/appointments/{desk.appointment.id}").get_data(as_text=True)
    assert "Inviter le patient" not in page


@pytest.mark.parametrize("created_at", ["another_desk", "nowhere"])
def test_a_profile_not_created_at_the_desk_cannot_be_invited(desk, created_at):
    other = factories.make_practitioner()
    desk.patient.desk_practitioner_id = other.id if created_at == "another_desk" else None
    db.session.commit()
    for by in (desk.staff, desk.practitioner.user):
        with pytest.raises(NotFound):
            invite(desk, by=by, email="secretariat@example.org")
    assert invitations_of(desk.patient) == []


def test_a_patient_who_revoked_the_practitioner_cannot_be_invited_by_that_desk(desk):
    db.session.add(Revocation(patient_id=desk.patient.id, practitioner_id=desk.practitioner.id))
    db.session.commit()
    with pytest.raises(NotFound):
        invite(desk, by=desk.staff)
    assert not services.can_invite(desk.staff, desk.patient, desk.practitioner.id)


# --- The address ---------------------------------------------------------------------------------

def test_the_desk_cannot_change_the_address_while_an_invitation_is_pending(desk, frozen_clock, app):
    invite(desk)
    with pytest.raises(InvitationPending) as refused:
        invite(desk, by=desk.staff, email="secretariat@example.org")
    assert "email" in refused.value.fields
    db.session.expire_all()
    assert desk.patient.email == "lea.martin@example.org"
    invite(desk, by=desk.staff)  # sending again to the same address is fine
    frozen_clock.advance(days=app.config["CARNET_INVITATION_DAYS"], seconds=1)
    invite(desk, email="lea.nouvelle@example.org")  # an expired invitation locks nothing
    db.session.expire_all()
    assert desk.patient.email == "lea.nouvelle@example.org"


@pytest.mark.parametrize(("holder", "error"), [("account", ProfileAlreadyClaimed), ("proxy", ProfileHasProxy)])
def test_the_desk_cannot_change_the_address_of_a_profile_with_an_account_or_a_proxy(desk, holder, error):
    if holder == "account":
        desk.patient.account = factories.make_user()
        db.session.commit()
    else:
        _add_proxy(desk)
    previous = desk.patient.email
    with pytest.raises(error):
        invite(desk, email="secretariat@example.org")
    db.session.expire_all()
    assert desk.patient.email == previous


# --- A claim is seen ---------------------------------------------------------------------------------

def test_a_claim_is_in_the_access_log_and_the_previous_address_is_told(desk):
    user = claim(invite(desk), email="lea.perso@example.org")
    [line] = db.session.scalars(sa.select(AccessLogEntry).where(AccessLogEntry.patient_id == desk.patient.id)).all()
    assert line.action is AccessAction.PROFILE_CLAIMED and line.actor_user_id == user.id
    [told] = [row for row in outbox() if row.key.startswith("profile-claimed:")]
    mail = open_email(told)
    assert mail.to == "lea.martin@example.org" and "Léa" in mail.subject


# --- "Give Léo his own account" ---------------------------------------------------------------------

def _proxied_relative(birth_date: dt.date):
    parent = factories.make_patient(user_overrides={"email": "parent@example.org"}, birth_date=dt.date(1975, 1, 1))
    other_parent = factories.make_patient(user_overrides={"email": "autre.parent@example.org"}).account
    leo = factories.make_relative(parent.account, first_name="Léo", birth_date=birth_date)
    db.session.add(PatientProxy(user_id=other_parent.id, patient_id=leo.id))
    db.session.commit()
    return parent.account, other_parent, leo


def _invite_relative(parent, leo, email="leo@example.org") -> str:
    with transaction():
        invitation = services.invite_relative(patient_id=leo.id, email=email, by=parent)
    return services.invitation_token(invitation)


def _claim_relative(token, *, keep=()):
    with transaction():
        return services.claim_with_new_account(token, email="leo@example.org", password=STRONG, accepted_terms=True,
                                               keep_proxy_ids=keep)


def test_an_adult_claiming_keeps_no_proxy_by_default_and_they_are_told(frozen_clock):
    parent, other_parent, leo = _proxied_relative(dt.date(2000, 1, 1))
    token = _invite_relative(parent, leo)
    user = _claim_relative(token)
    db.session.expire_all()
    assert leo.account_id == user.id and _proxy_ids(leo) == set()
    removed = {open_email(row).to for row in outbox() if row.key.startswith("proxy-removed:")}
    assert removed == {"parent@example.org", "autre.parent@example.org"}


def test_an_adult_claiming_keeps_the_proxies_they_tick():
    parent, other_parent, leo = _proxied_relative(dt.date(2000, 1, 1))
    _claim_relative(_invite_relative(parent, leo), keep=[other_parent.id, 999])
    assert _proxy_ids(leo) == {other_parent.id}


def test_a_childs_proxies_keep_acting_after_the_child_claims(frozen_clock):
    parent, other_parent, leo = _proxied_relative(dt.date(2012, 1, 1))
    user = _claim_relative(_invite_relative(parent, leo))
    assert _proxy_ids(leo) == {parent.id, other_parent.id}
    told = {open_email(row).to for row in outbox() if row.key.startswith("profile-claimed:")}
    assert told == {"parent@example.org", "autre.parent@example.org"}
    assert leo.account_id == user.id


def test_only_an_account_acting_for_the_profile_gives_it_its_own_account():
    parent, other_parent, leo = _proxied_relative(dt.date(2000, 1, 1))
    stranger = factories.make_patient().account
    with pytest.raises(NotFound):
        _invite_relative(stranger, leo)
    desk = make_desk()
    make_appointment(desk.practitioner, leo, local_start(4))
    with pytest.raises(NotFound):
        _invite_relative(desk.staff, leo)


def test_a_proxy_invitation_cannot_be_added_to_another_account():
    parent, other_parent, leo = _proxied_relative(dt.date(2000, 1, 1))
    token = _invite_relative(parent, leo, email="autre.parent@example.org")
    with pytest.raises(InvitationRefused), transaction():
        services.claim_as_relative(token, by=other_parent)


def test_the_claim_page_offers_an_adult_the_proxies_to_keep(client):
    parent, other_parent, leo = _proxied_relative(dt.date(2000, 1, 1))
    token = _invite_relative(parent, leo)
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Qui continue d’agir pour vous" in page
    assert 'type="checkbox"' in page and f'value="{other_parent.id}"' in page
    response = client.post(f"/invitation/{token}", data={
        "csrf_token": csrf_token_of(page), "email": "leo@example.org", "password": STRONG, "accept_terms": "y",
        "keep_proxies": str(other_parent.id)})
    assert response.status_code == 302 and _proxy_ids(leo) == {other_parent.id}


def test_the_claim_page_tells_a_child_their_proxies_stay(client):
    parent, other_parent, leo = _proxied_relative(dt.date(2014, 1, 1))
    page = client.get(f"/invitation/{_invite_relative(parent, leo)}").get_data(as_text=True)
    assert 'type="checkbox"' not in page.split("accept_terms")[0] and "Jusqu’à vos 18 ans" in page
