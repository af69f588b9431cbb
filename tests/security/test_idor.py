"""IDOR and privilege escalation: every route taking an id, walked from `app.url_map`.

Another patient (and a practitioner who never treated the victim) asks for
the victim's appointment, notebook, entry, attachment, relatives, token, and
the victim's practitioner's invoice, absence, visit reason and agenda, with
every method, through the API and the pages. Each answer must be a refusal
(403 for a role that has no business there, else 404) that looks exactly like
the answer for an id that does not exist, must not carry the victim's data,
and the victim's data must be unchanged afterwards. A new id-taking route
fails `test_every_id_route_is_classified` until it is listed here.
"""

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.billing.factories import make_invoice, make_subscription
from tests.booking.factories import local_start, make_appointment, open_practice
from tests.conftest import csrf_token_of
from tests.notebook.factories import make_attachment, make_entry, past
from webapp.accounts.api_tokens import issue_api_token
from webapp.accounts.models import ApiToken, PatientProxy, User
from webapp.billing.models import Invoice, Payment, SubscriptionStatus
from webapp.booking.models import Absence, Appointment, AppointmentStatus, WaitlistEntry
from webapp.extensions import db
from webapp.notebook.models import EntryMask, NotebookEntry, Revocation

# Routes whose ids name public things (the directory) or the caller's own choice.
PUBLIC = {
    "booking_api.practitioner_detail", "booking_api.practitioner_slots", "booking.practitioner_page",
    "booking.book", "booking.join_waitlist", "site.set_language", "api_docs.static", "booking.hold_slot",
}
# Routes keyed by a secret token rather than an id: tested below with guessed tokens.
SECRET_TOKEN = {"accounts.confirm_email", "accounts.confirm_email_change", "accounts.reset_password",
                "booking.calendar_feed",
                "invitations.claim", "invitations.claim_as_relative",
                # A slot hold opens only with its holder's secret, kept in the signed session
                # (tests/booking/test_journey_views.py: another visitor is sent back as for an unknown id).
                "booking.confirm_hold", "booking.confirm_hold_login", "booking.confirm_hold_signup"}
# Break-glass: any practitioner may ask for emergency access to a notebook, for any id (the form shows
# nothing); it opens only to the person's identity and a fresh code (tests/notebook/test_emergency.py).
EMERGENCY = {"notebook_api.emergency_access", "notebook.emergency_access"}
UNKNOWN_ID = 987654
# A valid query, so that the answer is about the id rather than a missing parameter.
AGENDA_QUERY = {"from": "2026-01-05", "to": "2026-01-11"}
VICTIM_FIRST_NAME = "Victorine"


@dataclass
class Victim:
    ids: dict
    waitlist_id: int


@pytest.fixture
def victim() -> Victim:
    patient = factories.make_patient(first_name=VICTIM_FIRST_NAME, last_name="Cible")
    relative = factories.make_relative(patient.account, first_name=VICTIM_FIRST_NAME)
    practitioner, reason = open_practice()
    upcoming = make_appointment(practitioner, patient, local_start(3), reason=reason)
    make_appointment(practitioner, patient, past(20), reason=reason, status=AppointmentStatus.COMPLETED)
    entry = make_entry(patient, title="Secret de Victorine")
    attachment = make_attachment(entry)
    _, token = issue_api_token(patient.account)
    absence = Absence(practitioner_id=practitioner.id, start_at=local_start(9), end_at=local_start(10))
    waitlist = WaitlistEntry(practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
                             before_at=local_start(30), created_by_user_id=patient.account.id)
    db.session.add_all([absence, waitlist])
    db.session.commit()
    invoice = make_invoice(make_subscription(practitioner, status=SubscriptionStatus.ACTIVE))
    ids = {"appointment_id": upcoming.id, "patient_id": relative.id, "entry_id": entry.id,
           "attachment_id": attachment.id, "token_id": token.id, "invoice_id": invoice.id,
           "absence_id": absence.id, "reason_id": reason.id, "practitioner_id": practitioner.id,
           "account_id": patient.account.id,  # the account acting for the relative (its proxy)
           "subscription_id": invoice.subscription_id}
    # The notebook routes are also walked with the victim's own profile below.
    ids["own_patient_id"] = patient.id
    return Victim(ids, waitlist.id)


def _snapshot() -> dict:
    db.session.expire_all()
    return {
        "appointments": sorted((a.id, a.status, a.start_at) for a in db.session.scalars(sa.select(Appointment))),
        "entries": db.session.scalar(sa.select(sa.func.count()).select_from(NotebookEntry)),
        "masks": db.session.scalar(sa.select(sa.func.count()).select_from(EntryMask)),
        "revocations": db.session.scalar(sa.select(sa.func.count()).select_from(Revocation)),
        "proxies": db.session.scalar(sa.select(sa.func.count()).select_from(PatientProxy)),
        "tokens": sorted((t.id, t.revoked_at is None) for t in db.session.scalars(sa.select(ApiToken))),
        "invoices": db.session.scalar(sa.select(sa.func.count()).select_from(Invoice)),
        "payments": db.session.scalar(sa.select(sa.func.count()).select_from(Payment)),
        "absences": db.session.scalar(sa.select(sa.func.count()).select_from(Absence)),
        "waitlist": [w.status for w in db.session.scalars(sa.select(WaitlistEntry))],
    }


def _id_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.arguments and rule.endpoint != "static"]


def _url(rule, values: dict) -> str:
    arguments = {}
    for name in rule.arguments:
        if name in values:
            arguments[name] = values[name]
        else:  # a choice among fixed words (`action`, `export_format`): the converter's first one
            converter = rule._converters[name]
            arguments[name] = sorted(converter.items)[0] if hasattr(converter, "items") else "x"
    return rule.build(arguments, append_unknown=False)[1]


def _values(victim: Victim, rule, *, unknown: bool, own_profile: bool = False) -> dict:
    values = dict(victim.ids)
    if own_profile:
        values["patient_id"] = values["own_patient_id"]
    if rule.endpoint == "booking.leave_waitlist":
        values["entry_id"] = victim.waitlist_id
    if unknown:
        values = {name: ("0" * 32 if name == "attachment_id" else UNKNOWN_ID) for name in values}
    return values


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _call(client, method: str, url: str, *, headers=None, csrf=None):
    if url.startswith("/api/"):
        query = AGENDA_QUERY if url.endswith("/agenda") else None
        return client.open(url, method=method, headers=headers, query_string=query,
                           json={} if method != "GET" else None)
    return client.open(url, method=method, data={"csrf_token": csrf} if method != "GET" else None)


def _answer(response) -> tuple:
    code = response.json["error"]["code"] if response.is_json and "error" in (response.json or {}) else None
    return response.status_code, code


def test_every_id_route_is_classified(app, victim):
    known = set(victim.ids) | {"own_patient_id", "action", "export_format"}
    for rule in _id_rules(app):
        if rule.endpoint in PUBLIC | SECRET_TOKEN:
            continue
        assert set(rule.arguments) <= known, f"{rule.rule}: classify its ids in tests/security/test_idor.py"


def _attack(app, client, victim: Victim, *, headers=None, csrf=None, practitioner: bool):
    before = _snapshot()
    checked = 0
    for rule in _id_rules(app):
        if rule.endpoint in PUBLIC | SECRET_TOKEN or (rule.rule.startswith("/api/") != (headers is not None)):
            continue
        for own_profile in ((False, True) if "patient_id" in rule.arguments else (False,)):
            url = _url(rule, _values(victim, rule, unknown=False, own_profile=own_profile))
            unknown_url = _url(rule, _values(victim, rule, unknown=True))
            for method in _methods(rule):
                response = _call(client, method, url, headers=headers, csrf=csrf)
                body = response.get_data(as_text=True)
                assert VICTIM_FIRST_NAME not in body and "Secret de Victorine" not in body, (method, url)
                if practitioner and rule.endpoint in EMERGENCY:
                    continue  # break-glass is open to practitioners by design; no data before it is granted
                if method == "GET":
                    assert response.status_code in (403, 404), (method, url, response.status_code)
                else:  # a form refused before the id is looked at sends back to a page that is itself a 404
                    assert response.status_code in (302, 403, 404, 422), (method, url, response.status_code)
                if set(rule.arguments) - {"practitioner_id"}:  # practitioners are public: their ids are no secret
                    unknown = _call(client, method, unknown_url, headers=headers, csrf=csrf)
                    assert _answer(response) == _answer(unknown), (method, url, _answer(response), _answer(unknown))
                checked += 1
    assert _snapshot() == before
    return checked


def test_another_patient_gets_nothing_through_the_api(app, client, api_token, victim):
    attacker = factories.make_patient().account
    assert _attack(app, client, victim, headers=api_token(attacker), practitioner=False) > 30


def test_a_practitioner_who_never_treated_the_victim_gets_nothing_through_the_api(app, client, api_token, victim):
    stranger, _ = open_practice()
    assert _attack(app, client, victim, headers=api_token(stranger.user), practitioner=True) > 30


def test_another_patient_gets_nothing_through_the_pages(app, client, form_post, victim):
    attacker = factories.make_patient().account
    log_in(form_post, attacker)
    csrf = csrf_token_of(client.get("/account/notifications").get_data(as_text=True))
    assert _attack(app, client, victim, csrf=csrf, practitioner=False) > 30


def test_a_practitioner_who_never_treated_the_victim_gets_nothing_through_the_pages(app, client, form_post, victim):
    stranger, _ = open_practice()
    log_in(form_post, stranger.user)
    csrf = csrf_token_of(client.get("/settings/schedule").get_data(as_text=True))
    assert _attack(app, client, victim, csrf=csrf, practitioner=True) > 30


def test_a_guessed_invitation_token_opens_nothing(client, victim):
    for guess in ("a" * 43, "eyJpbnZpdGF0aW9uX2lkIjoxfQ.aaaa.bbbb", "..%2F..%2Fetc%2Fpasswd"):
        response = client.get("/invitation/" + guess)
        assert response.status_code == 404 and VICTIM_FIRST_NAME not in response.get_data(as_text=True)


def test_a_guessed_email_change_token_moves_no_account(client, form_post, victim):
    emails_before = set(db.session.scalars(sa.select(User.email)))
    for guess in ("a" * 43, "eyJ1c2VyX2lkIjoxLCJ0byI6Im1vaUBleGFtcGxlLmNvbSJ9.aaaa.bbbb"):
        response = form_post("/account/email/change/" + guess, {})
        assert response.status_code == 200 and "pas valide ou a expiré" in response.get_data(as_text=True)
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(User.email))) == emails_before


def test_a_guessed_calendar_feed_token_opens_nothing(client, victim):
    assert client.get("/calendar/" + "a" * 43 + ".ics").status_code == 404
    assert client.get("/calendar/..%2F..%2Fetc%2Fpasswd.ics").status_code == 404


# --- privilege escalation: a patient on practitioner, staff and back-office routes ---

ROLE_AREAS = re.compile(r"^/(api/v1/(practitioners/me|backoffice|billing/(subscription|checkout|portal))"
                        r"|agenda|settings|desk|backoffice|admin|billing)")


def test_a_patient_is_refused_every_practitioner_and_back_office_route(app, client, api_token, form_post):
    patient = factories.make_patient().account
    headers = api_token(patient)
    log_in(form_post, patient)
    csrf = csrf_token_of(client.get("/account/notifications").get_data(as_text=True))
    rules = [rule for rule in app.url_map.iter_rules() if ROLE_AREAS.match(rule.rule)
             and rule.endpoint not in {"billing.stripe_webhook"}]
    assert len(rules) > 15
    for rule in rules:
        url = _url(rule, {name: 1 for name in rule.arguments if not hasattr(rule._converters[name], "items")})
        for method in _methods(rule):
            response = _call(client, method, url, headers=headers if url.startswith("/api/") else None, csrf=csrf)
            assert response.status_code in (403, 404), (method, url, response.status_code)


def test_ids_beyond_a_database_integer_are_not_found(client, api_token):
    headers = api_token(factories.make_patient().account)
    huge = 2**63
    assert client.get(f"/api/v1/appointments/{huge}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/appointments/{huge - 1}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/appointments/{huge * 1000}/cancel", headers=headers, json={}).status_code == 404
