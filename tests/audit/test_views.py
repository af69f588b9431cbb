"""The audit page: admins only, filters, escaping, bad input."""

import pytest

from tests import factories
from tests.audit.factories import log_in, make_events, recorded_events
from webapp.accounts.models import Role
from webapp.audit.services import record_event
from webapp.extensions import db


@pytest.fixture
def admin():
    return factories.make_staff(role=Role.ADMIN)


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("make_user", [
    lambda: factories.make_patient().account,
    lambda: factories.make_practitioner().user,
    lambda: factories.make_staff(),
], ids=["patient", "practitioner", "staff"])
def test_other_roles_are_refused(client, form_post, make_user):
    make_events(1)
    log_in(form_post, make_user())
    response = client.get("/admin/audit")
    assert response.status_code == 403
    assert "test.event" not in response.get_data(as_text=True)
    assert recorded_events("audit.viewed") == []


def test_admin_sees_events_newest_first_and_the_menu_entry(client, form_post, admin):
    make_events(3)
    log_in(form_post, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Journal d'audit" in html and 'href="/admin/audit"' in html
    assert html.index("login.success") < html.index("test.event")  # the admin's login is the newest
    assert len(recorded_events("audit.viewed")) == 1


def test_menu_entry_is_hidden_from_other_roles(client, form_post):
    log_in(form_post, factories.make_staff())
    assert 'href="/admin/audit"' not in client.get("/account").get_data(as_text=True)


def test_filters_narrow_the_list(client, form_post, admin):
    patient = factories.make_patient().account
    record_event("token.created", actor=patient, target_type="api_token", target_id=77)
    db.session.commit()
    log_in(form_post, admin)
    html = client.get(f"/admin/audit?action=token&actor_id={patient.id}&target_type=api_token&target_id=77"
                      "&since=2000-01-01&until=2999-12-31").get_data(as_text=True)
    assert "1 événement" in html and "token.created" in html and "login.success" not in html


@pytest.mark.parametrize("query", [
    "actor_id=abc", "since=yesterday", "action=<script>", "target_type=a%20b", "actor_id=-3",
])
def test_bad_filters_show_a_message_not_a_500(client, form_post, admin, query):
    log_in(form_post, admin)
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["page=abc", "page=-1", "page=99999999999", "_external=1&_scheme=javascript"])
def test_odd_query_strings_are_harmless(client, form_post, admin, query):
    make_events(60)
    log_in(form_post, admin)
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert 'href="javascript' not in response.get_data(as_text=True)
    assert "page=2" in response.get_data(as_text=True) or "page=" not in query


def test_pages_link_to_older_events_keeping_filters(client, form_post, admin):
    make_events(60)
    log_in(form_post, admin)
    html = client.get("/admin/audit?action=test").get_data(as_text=True)
    assert "Page 1 sur 2" in html and "action=test" in html and "page=2" in html
    second = client.get("/admin/audit?action=test&page=2").get_data(as_text=True)
    assert "Page 2 sur 2" in second


def test_user_agent_is_rendered_escaped(client, form_post, admin):
    with client.application.test_request_context("/", headers={"User-Agent": "<img src=x onerror=alert(1)>"}):
        record_event("login.failure", details={"reason": "unknown_account"})
        db.session.commit()
    log_in(form_post, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
