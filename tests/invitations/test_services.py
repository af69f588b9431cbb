"""Invitation rules: who invites, the outbox row, single use, expiry, one profile per patient."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import local_start, make_appointment
from tests.invitations.factories import claim, invitations_of, invite, make_desk
from tests.notifications.factories import outbox
from webapp.accounts.errors import EmailTaken
from webapp.accounts.models import PatientProfile, PatientProxy, User
from webapp.accounts.relatives import acting_patient_ids
from webapp.booking.models import AppointmentStatus
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.invitations import services
from webapp.invitations.errors import (
    InvalidInvitation,
    InvalidInvitationData,
    InvitationExpired,
    InvitationRefused,
    InvitationReplaced,
    InvitationUsed,
    ProfileAlreadyClaimed,
)
from webapp.notifications.models import NotificationStatus
from webapp.notifications.services import open_email
from webapp.transaction import transaction

# --- Inviting ------------------------------------------------------------------------------

def test_practitioner_invites_and_the_email_is_queued_with_the_link(desk, frozen_clock):
    token = invite(desk)
    [invitation] = invitations_of(desk.patient)
    [row] = outbox(key=f"patient-invitation:{desk.patient.id}:{invitation.id}")
    mail = open_email(row)
    assert mail.to == "lea.martin@example.org" and f"/invitation/{token}" in mail.text
    assert "Léa" in mail.text and "Centre médical" in mail.subject and mail.locale == "fr"
    assert "Bonjour Léa" in mail.text and "Léa" in mail.html
    [event] = recorded_events("patient_profile.invited")
    assert event.target_id == str(desk.patient.id) and event.actor_id == desk.practitioner.user_id
    assert event.details == {"invitation_id": invitation.id, "practitioner_id": desk.practitioner.id}


def test_clinic_staff_invites_a_patient_of_their_practitioner(desk):
    invite(desk, by=desk.staff)
    [invitation] = invitations_of(desk.patient)
    assert invitation.invited_by_id == desk.staff.id and invitation.practitioner_id == desk.practitioner.id


@pytest.mark.parametrize(("role", "error"), [
    ("untreating", NotFound), ("other_staff", NotFound), ("accountant", NotFound), ("patient", Forbidden),
    ("admin", Forbidden),
])
def test_invitation_is_refused_to_anyone_else(desk, role, error):
    with pytest.raises(error):
        invite(desk, by=desk.users[role])
    assert invitations_of(desk.patient) == [] and outbox() == []


def test_a_cancelled_appointment_gives_no_right_to_invite(desk):
    desk.appointment.status = AppointmentStatus.CANCELLED
    db.session.commit()
    with pytest.raises(NotFound):
        invite(desk)


def test_a_profile_with_an_account_cannot_be_invited():
    practitioner = factories.make_practitioner()
    patient = factories.make_patient(desk_practitioner_id=practitioner.id)
    make_appointment(practitioner, patient, local_start(2))
    with pytest.raises(ProfileAlreadyClaimed), transaction():
        services.invite_patient(patient_id=patient.id, practitioner_id=practitioner.id, email="x@example.org",
                                by=practitioner.user)


def test_the_desk_confirms_or_corrects_the_address(desk):
    invite(desk, email=" Lea.Nouvelle@Example.org ")
    db.session.expire_all()
    assert desk.patient.email == "lea.nouvelle@example.org"
    assert outbox()[0].key.startswith("patient-invitation:")
    with pytest.raises(InvalidInvitationData) as refused:
        invite(desk, email="not an address")
    assert "email" in refused.value.fields


def test_a_rolled_back_invitation_leaves_no_email_and_no_invitation(desk):
    with pytest.raises(RuntimeError), transaction():
        services.invite_patient(patient_id=desk.patient.id, practitioner_id=desk.practitioner.id,
                                email="lea.martin@example.org", by=desk.practitioner.user)
        assert len(outbox()) == 1  # written in the same transaction...
        raise RuntimeError("the request failed after the invitation")
    assert outbox() == [] and invitations_of(desk.patient) == []  # ...and gone with it


def test_sending_again_replaces_the_earlier_link_and_withdraws_its_unsent_email(desk):
    first = invite(desk)
    second = invite(desk)
    old, new = outbox()
    assert old.status is NotificationStatus.CANCELLED and new.status is NotificationStatus.PENDING
    with pytest.raises(InvitationReplaced):
        services.open_invitation(first)
    assert services.open_invitation(second).patient_id == desk.patient.id


# --- Opening the link ---------------------------------------------------------------------------

def test_a_tampered_link_is_invalid(desk):
    token = invite(desk)
    for bad in (token[:-2] + "xx", "nonsense", token + "."):
        with pytest.raises(InvalidInvitation):
            services.open_invitation(bad)


def test_an_old_link_has_expired(desk, frozen_clock, app):
    token = invite(desk)
    assert app.config["CARNET_INVITATION_DAYS"] == 14
    frozen_clock.advance(days=14)
    services.open_invitation(token)
    frozen_clock.advance(seconds=1)
    with pytest.raises(InvitationExpired):
        services.open_invitation(token)


def test_a_link_dies_when_the_profile_address_changes(desk):
    token = invite(desk)
    desk.patient.email = "autre@example.org"
    db.session.commit()
    with pytest.raises(InvitationReplaced):
        services.open_invitation(token)


# --- Claiming with a new account -------------------------------------------------------------------

def test_claiming_gives_the_existing_profile_to_the_new_account(desk):
    token = invite(desk)
    profiles_before = db.session.scalar(sa.select(sa.func.count(PatientProfile.id)))
    user = claim(token)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(PatientProfile.id))) == profiles_before  # no duplicate
    assert desk.patient.account_id == user.id and user.patient_profile.id == desk.patient.id
    assert acting_patient_ids(user) == {desk.patient.id}  # the appointments and notebook are theirs
    assert user.email_confirmed_at is not None  # the link came to this address
    assert invitations_of(desk.patient)[0].claimed_by_id == user.id
    [event] = recorded_events("patient_profile.claimed")
    assert event.actor_id == user.id and event.target_id == str(desk.patient.id)
    assert set(event.details) == {"invitation_id", "account_id", "claimed_as"}


def test_a_link_is_used_once(desk):
    token = invite(desk)
    claim(token)
    with pytest.raises(InvitationUsed):
        claim(token, email="quelquun@example.org")
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "quelquun@example.org")) == 0


def test_claiming_with_another_address_asks_to_confirm_it(desk):
    user = claim(invite(desk), email="Lea.Perso@Example.org")
    db.session.expire_all()
    assert user.email == "lea.perso@example.org" and user.email_confirmed_at is None
    assert desk.patient.email == "lea.perso@example.org"
    assert [row.key.split(":")[0] for row in outbox(user_id=user.id)] == ["account-confirmation"]


def test_sign_up_rules_apply_and_every_problem_is_named(desk):
    token = invite(desk)
    with pytest.raises(InvalidInvitationData) as refused:
        claim(token, password="court", accepted_terms=False)
    assert set(refused.value.fields) == {"password", "accept_terms"}
    db.session.expire_all()
    assert desk.patient.account_id is None


def test_an_address_that_has_an_account_is_told_to_log_in(desk):
    token = invite(desk)
    existing = factories.make_patient().account
    with pytest.raises(EmailTaken) as refused:
        claim(token, email=existing.email)
    assert "Log in" in str(refused.value.fields["email"][0]) or "Connectez" in str(refused.value.fields["email"][0])
    db.session.expire_all()
    assert desk.patient.account_id is None and services.open_invitation(token)


# --- Claiming from an existing account ---------------------------------------------------------------

def test_a_signed_in_parent_adds_the_invited_child_as_a_relative():
    parent = factories.make_patient(user_overrides={"email": "parent@example.org"}, birth_date=dt.date(1980, 5, 1))
    desk = make_desk()
    desk.patient.birth_date = dt.date(2015, 9, 2)
    db.session.commit()
    token = invite(desk, email="parent@example.org")
    with transaction():
        services.claim_as_relative(token, by=parent.account)
    assert db.session.get(PatientProxy, (parent.account.id, desk.patient.id)) is not None
    assert desk.patient.account_id is None
    with pytest.raises(InvitationUsed):
        services.open_invitation(token)


@pytest.mark.parametrize("who", ["same_birth_date", "other_address", "practitioner"])
def test_adding_to_an_existing_account_is_refused(who):
    desk = make_desk()
    token = invite(desk, email="parent@example.org")
    if who == "practitioner":
        user = desk.practitioner.user
    else:
        email = "parent@example.org" if who == "same_birth_date" else "autre@example.org"
        user = factories.make_patient(user_overrides={"email": email}, birth_date=desk.patient.birth_date).account
    with pytest.raises(InvitationRefused), transaction():
        services.claim_as_relative(token, by=user)
    assert db.session.scalars(sa.select(PatientProxy).where(PatientProxy.patient_id == desk.patient.id)).all() == []
    assert recorded_events("patient_profile.claimed") == []
