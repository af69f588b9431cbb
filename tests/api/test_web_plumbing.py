"""The shared web plumbing: form actions, page numbers, the role decorator."""

import pytest
import sqlalchemy as sa
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from tests import factories
from webapp.accounts.errors import InvalidCredentials
from webapp.audit.models import AuditEvent
from webapp.audit.services import record_event
from webapp.errors import InvalidInput, NotFound
from webapp.extensions import db
from webapp.paging import MAX_PAGE, page_number
from webapp.transaction import transaction
from webapp.web import domain_errors, form_action


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


def test_without_a_form_the_error_is_flashed_with_what_it_says_of_each_field(app):
    with app.test_request_context(method="POST"):
        with form_action() as action:
            record_event("test.refused")
            raise InvalidInput("Refused.", fields={"before": ["Choose a later date."]})
        assert not action.succeeded and isinstance(action.error, InvalidInput)
        assert get_flashed_messages(with_categories=True) == [("error", "Refused. Choose a later date.")]
    assert events() == []


def test_domain_errors_places_the_error_of_a_block_that_runs_its_own_transactions(form):
    with domain_errors(form) as action:
        with transaction():
            record_event("test.first_unit")
        raise InvalidInput(fields={"name": ["Refused by the remote service."]})
    assert not action.succeeded and form.name.errors == ["Refused by the remote service."]
    assert events() == ["test.first_unit"]  # the unit that had committed stays


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
