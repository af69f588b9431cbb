"""Verification of practitioners, service level: the rule's one home and the back office's decisions."""

import pytest

from tests import factories
from tests.audit.factories import recorded_events
from tests.notifications.factories import outbox
from webapp.accounts import registration
from webapp.accounts.directory import import_directory
from webapp.accounts.errors import DirectoryMismatch, InvalidAccountData
from webapp.accounts.models import Role, Verification, VerificationMethod
from webapp.accounts.verification import (
    PractitionerNotVerified,
    reject_practitioner,
    require_verified,
    verify_practitioner,
)
from webapp.demo import DIRECTORY_SAMPLE
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.transaction import transaction


@pytest.fixture
def admin():
    return factories.make_staff(role=Role.ADMIN)


@pytest.fixture
def directory():
    with transaction():
        import_directory(DIRECTORY_SAMPLE)


def _pending(**overrides):
    return factories.make_practitioner(verification="pending", **overrides)


def test_sign_up_makes_a_pending_practitioner(app):
    with transaction():
        user = registration.register_practitioner(
            email="lucie@example.com", password="une-phrase-2026", first_name="Lucie", last_name="Moreau",
            rpps=factories.valid_rpps(4242), specialty="general_practitioner", address="1 rue de Paris",
            postcode="75001", city="Paris")
    profile = user.practitioner_profile
    assert profile.verification is Verification.PENDING and not profile.is_verified
    assert profile.verified_at is None and profile.verification_method is None


def test_require_verified_refuses_pending_and_rejected_practitioners_only(app):
    verified = factories.make_practitioner()
    require_verified(verified)
    require_verified(verified.user)
    for state in ("pending", "rejected"):
        profile = factories.make_practitioner(verification=state)
        for subject in (profile, profile.user):
            with pytest.raises(PractitionerNotVerified) as refused:
                require_verified(subject)
            assert (refused.value.status, refused.value.code) == (403, "practitioner_not_verified")
    # The rule is only about practitioners.
    for other in (factories.make_patient().account, factories.make_staff(), factories.make_staff(role=Role.ADMIN)):
        require_verified(other)


def test_verify_by_documents_audits_and_tells_the_practitioner(app, admin):
    profile = _pending()
    with transaction():
        verify_practitioner(profile, method=VerificationMethod.DOCUMENT, by=admin, note="Carte CPS vue")
    assert profile.is_verified and profile.verification_method is VerificationMethod.DOCUMENT
    assert profile.verified_at is not None and profile.verification_note == "Carte CPS vue"
    [event] = recorded_events("practitioner.verified")
    assert (event.actor_id, event.target_type, event.target_id) == (admin.id, "practitioner_profile", str(profile.id))
    assert event.details == {"method": "document", "previous": "pending", "user_id": profile.user_id}
    [mail] = outbox(user_id=profile.user_id)
    assert mail.key.startswith(f"practitioner-verified:{profile.id}:")


def test_verify_by_directory_needs_rpps_and_names_to_match_an_active_entry(app, admin, directory):
    haddad = _pending(first_name="NADIA", last_name="haddad", rpps="99700001003")
    lemoine = _pending(first_name="Bastien", last_name="Lemoine", rpps="99700001011")
    absent = _pending()
    with transaction():
        verify_practitioner(haddad, method=VerificationMethod.DIRECTORY, by=admin)
    assert haddad.is_verified
    for profile in (lemoine, absent):
        with pytest.raises(DirectoryMismatch) as refused, transaction():
            verify_practitioner(profile, method=VerificationMethod.DIRECTORY, by=admin)
        assert (refused.value.status, refused.value.code) == (409, "directory_mismatch")
        db.session.refresh(profile)
        assert profile.verification is Verification.PENDING
    assert len(recorded_events("practitioner.verified")) == 1


def test_reject_needs_a_reason_keeps_it_out_of_the_audit_and_mails_it(app, admin):
    profile = _pending()
    with pytest.raises(InvalidAccountData) as refused:
        reject_practitioner(profile, by=admin, reason="   ")
    assert "reason" in refused.value.fields
    with transaction():
        reject_practitioner(profile, by=admin, reason="Ce RPPS appartient à une autre personne.")
    assert profile.verification is Verification.REJECTED and not profile.is_verified
    assert profile.rejection_reason == "Ce RPPS appartient à une autre personne."
    [event] = recorded_events("practitioner.rejected")
    assert event.details == {"previous": "pending", "user_id": profile.user_id}
    [mail] = outbox(user_id=profile.user_id)
    assert mail.key.startswith(f"practitioner-rejected:{profile.id}:")


def test_a_rejected_practitioner_can_be_verified_later_and_a_verified_one_rejected(app, admin):
    profile = factories.make_practitioner(verification="rejected")
    with transaction():
        verify_practitioner(profile, method=VerificationMethod.DOCUMENT, by=admin)
    assert profile.is_verified and profile.rejection_reason is None and profile.rejected_at is None
    with transaction():
        reject_practitioner(profile, by=admin, reason="Radié du tableau de l'Ordre.")
    assert profile.verification is Verification.REJECTED and profile.verified_at is None
    assert [e.details["previous"] for e in recorded_events("practitioner.rejected")] == ["verified"]


def test_deciding_again_the_same_way_changes_nothing(app, admin):
    profile = factories.make_practitioner()
    verified_at = profile.verified_at
    with transaction():
        verify_practitioner(profile, method=VerificationMethod.DIRECTORY, by=admin)
    assert profile.verified_at == verified_at and profile.verification_method is VerificationMethod.DOCUMENT
    rejected = factories.make_practitioner(verification="rejected")
    with transaction():
        reject_practitioner(rejected, by=admin, reason="Autre raison")
    assert rejected.rejection_reason != "Autre raison"
    assert recorded_events("practitioner.verified") == recorded_events("practitioner.rejected") == []
    assert outbox() == []


@pytest.mark.parametrize("role", [Role.PATIENT, Role.PRACTITIONER, Role.STAFF])
def test_only_the_back_office_decides(app, role):
    user = {Role.PATIENT: lambda: factories.make_patient().account,
            Role.PRACTITIONER: lambda: factories.make_practitioner().user,
            Role.STAFF: lambda: factories.make_staff(clinic=factories.make_clinic())}[role]()
    profile = _pending()
    with pytest.raises(Forbidden):
        verify_practitioner(profile, method=VerificationMethod.DOCUMENT, by=user)
    with pytest.raises(Forbidden):
        verify_practitioner(profile, method=VerificationMethod.DOCUMENT, by=None)
    with pytest.raises(Forbidden):
        reject_practitioner(profile, by=user, reason="Non")
    assert profile.verification is Verification.PENDING


def test_pro_sante_connect_verifies_without_a_back_office_actor(app):
    profile = _pending()
    with transaction():
        verify_practitioner(profile, method=VerificationMethod.PRO_SANTE_CONNECT, by=None)
    assert profile.is_verified and profile.verification_method is VerificationMethod.PRO_SANTE_CONNECT
    [event] = recorded_events("practitioner.verified")
    assert event.actor_id is None and event.details["method"] == "pro_sante_connect"
