"""The shared web plumbing: form actions, page numbers, the role decorator."""

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import StringField

from tests import factories
from webapp.accounts.errors import InvalidCredentials
from webapp.audit.models import AuditEvent
from webapp.audit.services import record_event
from webapp.errors import InvalidInput, NotFound
from webapp.extensions import db
from webapp.paging import MAX_PAGE, page_number
from webapp.web import form_action


class NameForm(FlaskForm):
    name = StringField()


@pytest.fixture
def form(app):
    with app.test_request_context(method="POST"):
        yield NameForm(meta={"csrf": False})


def events() -> list[str]:
    db.session.rollback()  # what the next request would see
    return list(db.session.scalars(sa.select(AuditEvent.action)))


def test_a_form_action_commits_what_the_block_wrote(form):
    with form_action(form) as action:
        record_event("test.done")
    assert action.succeeded and events() == ["test.done"]


def test_a_field_error_goes_next_to_its_field_and_nothing_is_written(form):
    with form_action(form) as action:
        record_event("test.refused")
        raise InvalidInput(fields={"name": ["Too long."]})
    assert not action.succeeded
    assert form.name.errors == ["Too long."] and form.form_errors == []
    assert events() == []


def test_an_error_naming_no_field_of_the_form_goes_above_it(form):
    with form_action(form) as action:
        raise InvalidInput("Refused.", fields={"other": ["x"]})
    assert not action.succeeded and form.form_errors == ["Refused."]


def test_an_error_that_keeps_writes_keeps_them_on_the_form_too(form):
    with form_action(form):
        record_event("login.failed")
        raise InvalidCredentials()
    assert form.form_errors == ["E-mail ou mot de passe incorrect."]
    assert events() == ["login.failed"]


def test_passed_statuses_reach_the_error_page(form):
    with pytest.raises(NotFound):
        with form_action(form, passes=(403, 404)):
            raise NotFound()
    assert form.form_errors == []


@pytest.mark.parametrize(("query", "expected"), [
    ("", 1), ("?page=3", 3), ("?page=0", 1), ("?page=-2", 1), ("?page=abc", 1), ("?page=2.5", 1),
    (f"?page={MAX_PAGE}", MAX_PAGE), (f"?page={MAX_PAGE + 1}", 1),
])
def test_page_number_has_one_set_of_bounds(app, query, expected):
    with app.test_request_context("/" + query):
        assert page_number() == expected


def test_the_roles_decorator_sends_visitors_to_log_in_and_refuses_other_roles(client, log_in, form_post):
    assert client.get("/account/notifications").status_code == 302
    log_in(factories.make_practitioner().user)
    assert client.get("/account/notifications").status_code == 403
    form_post("/logout", {}, page="/account")
    log_in(factories.make_patient().account)
    assert client.get("/account/notifications").status_code == 200


def test_the_api_page_parameter_has_the_same_bound(client, api_token):
    headers = api_token(factories.make_patient().account)
    assert client.get(f"/api/v1/me/tokens?page={MAX_PAGE}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/me/tokens?page={MAX_PAGE + 1}", headers=headers).status_code == 422
