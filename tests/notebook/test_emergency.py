"""Emergency access ("bris de glace"): who may ask, naming the person, a fresh code,
the patient's lock, the daily limit, and what a grant leaves behind; at the
service level, then through the API and the pages."""

import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.conftest import csrf_token_of
from tests.notebook.factories import EMERGENCY_REASON, emergency_json, emergency_request, revoke
from tests.notifications.factories import outbox
from webapp.accounts import authentication, totp
from webapp.accounts.errors import TotpRequired
from webapp.accounts.models import Role, User
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook import controls, emergency, reading, writing
from webapp.notebook.errors import (
    AlreadyHasAccess,
    EmergencyAccessLimitReached,
    EmergencyAccessLocked,
    EmergencyPatientNotFound,
    InvalidEntry,
    PatientSideOnly,
    ReadOnlyAccess,
)
from webapp.notebook.models import AccessAction, AccessLogEntry, EmergencyAccess
from webapp.notifications.models import Category
from webapp.notifications.services import open_email
from webapp.transaction import transaction

N = "/api/v1/patients/{pid}/notebook"
P = "/patients/{pid}/notebook"


@pytest.fixture(autouse=True)
def _request(app):
    # Mail is rendered when it is queued, in the recipient's language.
    with app.test_request_context():
        yield


def _grant(user, patient_id: int, request: dict, *, now=None) -> EmergencyAccess:
    with transaction():
        return emergency.grant_emergency_access(user, patient_id, **request, now=now)


def _code_at(user, moment: dt.datetime) -> str:
    return pyotp.TOTP(user.totp_secret).at(moment)


def _wrong_code(user) -> str:
    """A code that is none of the account's codes around now."""
    return next(code for code in (f"{n:06d}" for n in range(1_000_000))
                if totp.matching_step(user.totp_secret, code, now_utc().timestamp()) is None)


def _grants() -> list[EmergencyAccess]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(EmergencyAccess).order_by(EmergencyAccess.id)))


def _refusal_reasons() -> list[str]:
    return [event.details["reason"] for event in recorded_events("notebook.emergency_access_refused")]


def _error(error) -> tuple:
    return error.status, error.code, error.message, error.fields


# --- the service --------------------------------------------------------------

def test_a_grant_is_audited_logged_told_and_read_only(world):
    user = world.users["unrelated"]
    grant = _grant(user, world.patient.id, emergency_request(world.patient, user, reason=f"  {EMERGENCY_REASON}  "))
    assert grant.stated_reason == EMERGENCY_REASON and grant.practitioner_id == world.unrelated.id
    [event] = recorded_events("notebook.emergency_access")
    assert (event.actor_id, event.target_type, event.target_id) == (user.id, "patient_profile", str(world.patient.id))
    assert event.details == {"grant_id": grant.id, "practitioner_id": world.unrelated.id}
    assert recorded_events("reauth.success")[-1].details == {"purpose": "emergency_access"}
    [line] = db.session.scalars(sa.select(AccessLogEntry)).all()
    assert (line.action, line.emergency, line.actor_user_id) == (AccessAction.EMERGENCY_ACCESS, True, user.id)
    [mail] = outbox(category=Category.SECURITY)
    assert mail.key == f"emergency-access:{grant.id}:{world.patient.account.id}"
    assert reading.list_entries(user, world.patient.id)["total"] == 2
    with pytest.raises(ReadOnlyAccess):
        writing.add_entry(user, world.patient.id, kind="note", title="x", body="")


def test_a_grant_lasts_the_configured_minutes_on_an_injected_clock(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "CARNET_NOTEBOOK_EMERGENCY_MINUTES", 30)
    user = world.users["unrelated"]
    opened_31_minutes_ago = now_utc() - dt.timedelta(minutes=31)
    old = _grant(user, world.patient.id, emergency_request(world.patient, user, totp=_code_at(
        user, opened_31_minutes_ago)), now=opened_31_minutes_ago)
    assert old.expires_at - old.granted_at == dt.timedelta(minutes=30)
    with pytest.raises(NotFound):
        reading.list_entries(user, world.patient.id)
    opened_29_minutes_ago = now_utc() - dt.timedelta(minutes=29)
    _grant(user, world.patient.id, emergency_request(world.patient, user, totp=_code_at(
        user, opened_29_minutes_ago)), now=opened_29_minutes_ago)
    assert reading.list_entries(user, world.patient.id)["total"] == 2


@pytest.mark.parametrize("wrong", [
    {"first_name": "Marine"}, {"last_name": "Martin"}, {"birth_date": dt.date(1985, 3, 15)}, {"first_name": ""},
    "swapped names",
])
def test_an_identity_that_does_not_match_is_refused_like_an_unknown_id(world, wrong):
    user = world.users["unrelated"]
    if wrong == "swapped names":
        wrong = {"first_name": world.patient.last_name, "last_name": world.patient.first_name}
    with pytest.raises(NotFound) as mismatch:
        _grant(user, world.patient.id, emergency_request(world.patient, user, **wrong))
    with pytest.raises(NotFound) as unknown:
        _grant(user, 999_999, emergency_request(world.patient, user))
    assert type(mismatch.value) is type(unknown.value) is EmergencyPatientNotFound
    assert _error(mismatch.value) == _error(unknown.value) == _error(NotFound())
    assert _refusal_reasons() == ["no_match", "no_match"] and _grants() == []
    assert outbox(category=Category.SECURITY) == []


def test_names_match_whatever_their_case_accents_hyphens_and_apostrophes(world):
    patient = factories.make_patient(first_name="Jean-Émile", last_name="D'Arçy")
    user = world.users["unrelated"]
    _grant(user, patient.id, emergency_request(patient, user, first_name=" JEAN EMILE ", last_name="d’arcy"))
    assert len(_grants()) == 1


def test_a_code_opens_one_action(world):
    user = world.users["unrelated"]
    login_code = factories.totp_now(user)
    with transaction():
        authentication.check_second_factor(user, login_code)
    with pytest.raises(TotpRequired):
        _grant(user, world.patient.id, emergency_request(world.patient, user, totp=login_code))
    code = factories.totp_now(user)
    _grant(user, world.patient.id, emergency_request(world.patient, user, totp=code))
    other = factories.make_patient()
    with pytest.raises(TotpRequired) as reused:
        _grant(user, other.id, emergency_request(other, user, totp=code))
    assert reused.value.fields == {"totp": [str(TotpRequired.default_message)]}
    assert len(_grants()) == 1 and _refusal_reasons() == ["bad_totp", "bad_totp"]


def test_a_wrong_code_is_refused_audited_and_counted_towards_the_lock_out(world):
    user = world.users["unrelated"]
    for code in (_wrong_code(user), "", None):
        with pytest.raises(TotpRequired):
            _grant(user, world.patient.id, emergency_request(world.patient, user, totp=code))
    assert _grants() == [] and _refusal_reasons() == ["bad_totp"] * 3
    assert [event.details for event in recorded_events("reauth.failure")] == [{"reason": "bad_totp"}] * 3
    assert db.session.get(User, user.id).failed_login_count == 3


def test_a_locked_notebook_refuses_only_once_the_identity_matched(world):
    patient_side, user = world.users["proxy"], world.users["unrelated"]
    with transaction():
        locked = controls.set_sharing(patient_side, world.patient.id, [world.revoked.id], emergency_access="locked")
    assert locked == controls.Sharing([world.revoked.id], "locked")
    assert controls.get_sharing(world.users["patient"], world.patient.id).emergency_access == "locked"
    assert recorded_events("notebook.sharing_changed")[-1].details == {
        "revoked_practitioner_ids": [world.revoked.id], "emergency_access": "locked"}
    with pytest.raises(EmergencyAccessLocked) as refused:
        _grant(user, world.patient.id, emergency_request(world.patient, user))
    assert (refused.value.status, refused.value.code) == (403, "emergency_access_locked")
    with pytest.raises(EmergencyPatientNotFound):
        _grant(user, world.patient.id, emergency_request(world.patient, user, first_name="Marine"))
    assert _refusal_reasons() == ["locked", "no_match"] and _grants() == []
    with transaction():  # the revocations stay as they are when only the setting changes
        assert controls.set_sharing(patient_side, world.patient.id, [world.revoked.id],
                                    emergency_access="allowed").emergency_access == "allowed"
    _grant(user, world.patient.id, emergency_request(world.patient, user))
    assert len(_grants()) == 1


def test_only_the_patient_side_locks(world):
    for actor in ("treating", "masked"):
        with pytest.raises(PatientSideOnly):
            controls.set_sharing(world.users[actor], world.patient.id, [], emergency_access="locked")
    for actor in ("unrelated", "staff", "other_patient"):
        with pytest.raises(NotFound):
            controls.set_sharing(world.users[actor], world.patient.id, [], emergency_access="locked")
    with pytest.raises(InvalidEntry):
        controls.set_sharing(world.users["patient"], world.patient.id, [], emergency_access="closed")
    assert not controls.is_emergency_access_locked(world.patient.id)


def test_the_fourth_emergency_in_24_hours_is_refused_and_the_operator_alerted(world):
    admin = factories.make_staff(role=Role.ADMIN)
    factories.make_staff(role=Role.ADMIN, is_active_account=False)
    user = world.users["unrelated"]
    for patient in [factories.make_patient() for _ in range(3)]:
        _grant(user, patient.id, emergency_request(patient, user))
    with pytest.raises(EmergencyAccessLimitReached) as refused:
        _grant(user, world.patient.id, emergency_request(world.patient, user))
    assert (refused.value.status, refused.value.code) == (429, "emergency_access_limit")
    # Beyond the limit, an identity that does not match is refused the same way: nothing is learnt.
    with pytest.raises(EmergencyAccessLimitReached):
        _grant(user, world.patient.id, emergency_request(world.patient, user, first_name="Marine"))
    assert len(_grants()) == 3 and _refusal_reasons() == ["daily_limit", "daily_limit"]
    [alert] = [row for row in outbox(category=Category.SECURITY) if row.key.startswith("emergency-access-limit:")]
    mail = open_email(alert)
    assert mail.to == admin.email and world.unrelated.rpps in mail.text
    assert f"http://carnet.test/admin/audit?actor_id={user.id}" in mail.text
    assert "Un praticien a atteint la limite des accès en urgence" in mail.subject


def test_the_limit_counts_the_last_24_hours_and_alerts_the_operator_mailbox(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "CARNET_OPERATOR_EMAIL", "securite@carnet.test")
    factories.make_staff(role=Role.ADMIN)
    user = world.users["unrelated"]
    day_before = now_utc() - dt.timedelta(hours=25)
    for minute in range(3):
        patient = factories.make_patient()
        moment = day_before + dt.timedelta(minutes=minute)
        _grant(user, patient.id, emergency_request(patient, user, totp=_code_at(user, moment)), now=moment)
    _grant(user, world.patient.id, emergency_request(world.patient, user))
    for patient in [factories.make_patient() for _ in range(2)]:
        _grant(user, patient.id, emergency_request(patient, user))
    with pytest.raises(EmergencyAccessLimitReached):
        _grant(user, world.patient.id, emergency_request(world.patient, user))
    alerts = [open_email(row) for row in outbox(category=Category.SECURITY)
              if row.key.startswith("emergency-access-limit:")]
    assert [mail.to for mail in alerts] == ["securite@carnet.test"]


def test_who_may_ask(world):
    request = emergency_request(world.patient)
    for actor in ("patient", "proxy", "staff", "other_patient"):
        with pytest.raises(Forbidden):
            _grant(world.users[actor], world.patient.id, request)
    with pytest.raises(Forbidden):
        _grant(factories.make_staff(role=Role.ADMIN), world.patient.id, request)
    with pytest.raises(AlreadyHasAccess):
        _grant(world.users["treating"], world.patient.id, emergency_request(world.patient, world.users["treating"]))
    with pytest.raises(EmergencyPatientNotFound):  # the patient withdrew this practitioner: as an unknown id
        _grant(world.users["revoked"], world.patient.id, emergency_request(world.patient, world.users["revoked"]))
    with pytest.raises(InvalidEntry):
        _grant(world.users["unrelated"], world.patient.id,
               emergency_request(world.patient, world.users["unrelated"], reason="vite"))
    assert _grants() == [] and _refusal_reasons() == ["revoked"]


def test_revoking_ends_a_running_emergency_access(world):
    user = world.users["unrelated"]
    _grant(user, world.patient.id, emergency_request(world.patient, user))
    revoke(world.patient, world.unrelated)
    with pytest.raises(NotFound):
        reading.list_entries(user, world.patient.id)


# --- the API ------------------------------------------------------------------

def test_api_grant_opens_reading_for_the_configured_time(client, world, bearer):
    user = world.users["unrelated"]
    headers, url = bearer(user), N.format(pid=world.patient.id)
    assert client.get(url + "/entries", headers=headers).status_code == 404
    short = client.post(url + "/emergency-access", headers=headers, json=emergency_json(world.patient, user,
                                                                                       reason="urgent"))
    assert short.status_code == 422 and "reason" in short.json["error"]["fields"]
    granted = client.post(url + "/emergency-access", headers=headers, json=emergency_json(world.patient, user))
    assert granted.status_code == 201, granted.json
    expires_at = dt.datetime.fromisoformat(granted.json["expires_at"])
    assert dt.timedelta(minutes=59) < expires_at - now_utc() <= dt.timedelta(minutes=60)
    assert client.get(url + "/entries", headers=headers).status_code == 200
    write = client.post(url + "/entries", headers=headers, json={"kind": "note", "title": "x"})
    assert write.status_code == 403 and write.json["error"]["code"] == "read_only_access"
    assert [event.action for event in recorded_events() if event.action.startswith("notebook.")] == [
        "notebook.emergency_access"]


def test_api_the_old_body_with_a_reason_only_is_refused(client, world, bearer):
    response = client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=bearer(
        world.users["unrelated"]), json={"reason": EMERGENCY_REASON})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"first_name", "last_name", "birth_date", "totp"}
    assert _grants() == []


def test_api_a_malformed_identity_is_a_422(client, world, bearer):
    user = world.users["unrelated"]
    malformed = emergency_json(world.patient, user, first_name="\x01\x02") | {"birth_date": "0478-05-01"}
    response = client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=bearer(user), json=malformed)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"first_name", "birth_date"}
    assert _grants() == []


def test_api_a_wrong_identity_answers_exactly_as_an_unknown_id(client, world, bearer):
    user = world.users["unrelated"]
    headers = bearer(user)
    answers = [
        client.post(N.format(pid=999_999) + "/emergency-access", headers=headers,
                    json=emergency_json(world.patient, user)),
        client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=headers,
                    json=emergency_json(world.patient, user, birth_date=dt.date(1985, 3, 13))),
        client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=headers,
                    json=emergency_json(world.patient, user, last_name="Inconnu")),
        client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=bearer(world.users["revoked"]),
                    json=emergency_json(world.patient, world.users["revoked"])),
        client.get(N.format(pid=world.patient.id) + "/entries", headers=headers),
    ]
    assert {(answer.status_code, answer.get_data(as_text=True)) for answer in answers} == {
        (404, answers[0].get_data(as_text=True))}
    assert answers[0].json == {"error": {"code": "not_found", "message": "Introuvable."}}


def test_api_the_code_of_a_login_or_of_an_emergency_does_not_open_another(client, world):
    user = world.users["unrelated"]
    code = factories.totp_now(user)
    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD,
                                                     "totp": code})
    headers = {"Authorization": f"Bearer {token.json['token']}"}
    url = N.format(pid=world.patient.id) + "/emergency-access"
    reused_login_code = client.post(url, headers=headers, json=emergency_json(world.patient, user, totp=code))
    assert reused_login_code.status_code == 401 and reused_login_code.json["error"]["code"] == "totp_required"
    code = factories.totp_now(user)
    assert client.post(url, headers=headers, json=emergency_json(world.patient, user, totp=code)).status_code == 201
    other = factories.make_patient()
    twice = client.post(N.format(pid=other.id) + "/emergency-access", headers=headers,
                        json=emergency_json(other, user, totp=code))
    assert twice.status_code == 401 and twice.json["error"]["code"] == "totp_required"
    wrong = client.post(N.format(pid=other.id) + "/emergency-access", headers=headers,
                        json=emergency_json(other, user, totp=_wrong_code(user)))
    assert wrong.status_code == 401 and "totp" in wrong.json["error"]["fields"]
    assert len(_grants()) == 1 and _refusal_reasons() == ["bad_totp"] * 3


def test_api_the_patient_side_locks_emergency_access(client, world, bearer):
    sharing = N.format(pid=world.patient.id) + "/sharing"
    patient = bearer(world.users["patient"])
    assert client.get(sharing, headers=patient).json == {"revoked_practitioner_ids": [world.revoked.id],
                                                         "emergency_access": "allowed"}
    locked = client.put(sharing, headers=patient, json={"revoked_practitioner_ids": [world.revoked.id],
                                                        "emergency_access": "locked"})
    assert locked.status_code == 200 and locked.json["emergency_access"] == "locked"
    unchanged = client.put(sharing, headers=patient, json={"revoked_practitioner_ids": [world.revoked.id]})
    assert unchanged.json == {"revoked_practitioner_ids": [world.revoked.id], "emergency_access": "locked"}
    assert client.put(sharing, headers=patient, json={"revoked_practitioner_ids": [],
                                                      "emergency_access": "closed"}).status_code == 422
    practitioner = bearer(world.users["treating"])
    refused = client.put(sharing, headers=practitioner, json={"revoked_practitioner_ids": [],
                                                              "emergency_access": "allowed"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "patient_side_only"
    user = world.users["unrelated"]
    response = client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=bearer(user),
                           json=emergency_json(world.patient, user))
    assert response.status_code == 403 and response.json["error"]["code"] == "emergency_access_locked"


def test_api_the_fourth_emergency_of_the_day_is_a_429_and_alerts_the_operator(client, world, bearer):
    admin = factories.make_staff(role=Role.ADMIN)
    user = world.users["unrelated"]
    headers = bearer(user)
    for patient in [factories.make_patient() for _ in range(3)]:
        granted = client.post(N.format(pid=patient.id) + "/emergency-access", headers=headers,
                              json=emergency_json(patient, user))
        assert granted.status_code == 201
    fourth = client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=headers,
                         json=emergency_json(world.patient, user))
    assert fourth.status_code == 429 and fourth.json["error"]["code"] == "emergency_access_limit"
    assert [open_email(row).to for row in outbox(category=Category.SECURITY)
            if row.key.startswith("emergency-access-limit:")] == [admin.email]


@pytest.mark.parametrize("actor", ["patient", "proxy", "staff", "other_patient"])
def test_api_only_practitioners_ask(client, world, bearer, actor):
    response = client.post(N.format(pid=world.patient.id) + "/emergency-access", headers=bearer(world.users[actor]),
                           json=emergency_json(world.patient, world.users[actor]))
    assert response.status_code == 403 and _grants() == []


def test_openapi_documents_the_request_and_the_setting(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/patients/{patient_id}/notebook/emergency-access"]["post"]
    assert {"401", "403", "404", "422", "429"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert set(schemas["EmergencyRequest"]["required"]) == {"reason", "first_name", "last_name", "birth_date", "totp"}
    assert schemas["Sharing"]["properties"]["emergency_access"]["enum"] == ["allowed", "locked"]


# --- the pages ----------------------------------------------------------------

def _without_csrf_tokens(page: str) -> str:
    """The page without its CSRF tokens, which carry the second they were made in."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def test_page_a_wrong_identity_is_the_page_of_an_unknown_id(client, world, login, form_post):
    user = world.users["unrelated"]
    login(user)
    unknown = form_post(P.format(pid=999_999) + "/emergency", emergency_json(world.patient, user))
    mismatch = form_post(P.format(pid=world.patient.id) + "/emergency",
                         emergency_json(world.patient, user, first_name="Marine"))
    assert unknown.status_code == mismatch.status_code == 404
    # The same page, but for its own address (in the language switch).
    own_address = mismatch.get_data(as_text=True).replace(P.format(pid=world.patient.id), P.format(pid=999_999))
    assert _without_csrf_tokens(unknown.get_data(as_text=True)) == _without_csrf_tokens(own_address)
    assert _grants() == []


def test_page_asks_the_identity_and_a_fresh_code(client, world, login, form_post):
    user = world.users["unrelated"]
    login(user)
    url = P.format(pid=world.patient.id) + "/emergency"
    page = client.get(url).get_data(as_text=True)
    for name in ("first_name", "last_name", "birth_date", "reason", "totp"):
        assert f'name="{name}"' in page
    assert 'autocomplete="one-time-code"' in page
    wrong = form_post(url, emergency_json(world.patient, user, totp=_wrong_code(user)))
    assert wrong.status_code == 200 and 'id="totp-error"' in wrong.get_data(as_text=True)
    assert form_post(url, emergency_json(world.patient, user)).status_code == 302
    assert len(_grants()) == 1


def test_page_a_locked_notebook_says_so(client, world, login, form_post):
    login(world.users["patient"])
    sharing = P.format(pid=world.patient.id) + "/sharing"
    assert form_post(sharing, {"revoked": [str(world.revoked.id)], "emergency_locked": "1"}).status_code == 302
    page = client.get(sharing).get_data(as_text=True)
    assert 'name="emergency_locked" value="1" aria-describedby="emergency-locked-hint" checked' in page
    assert controls.is_emergency_access_locked(world.patient.id)
    assert controls.revoked_practitioner_ids(world.patient.id) == [world.revoked.id]
    client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/login").get_data(as_text=True))})
    user = world.users["unrelated"]
    login(user)
    refused = form_post(P.format(pid=world.patient.id) + "/emergency", emergency_json(world.patient, user))
    assert refused.status_code == 200 and "verrouillé l&#39;accès en urgence" in refused.get_data(as_text=True)

