"""Each booking limit has one home (webapp.booking.rules): the API, the settings
form, the service and the database's CHECK accept its bounds and refuse one
step past them."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.test_api import SCHEDULE
from webapp.booking import settings
from webapp.booking.errors import InvalidBookingData
from webapp.booking.models import PractitionerSchedule
from webapp.booking.rules import CELL_MINUTES, MAX_VISIT_MINUTES, SCHEDULE_DEFAULTS, SCHEDULE_LIMITS
from webapp.extensions import db

RULES = sorted(SCHEDULE_LIMITS)


@pytest.mark.parametrize("name", RULES)
def test_the_api_takes_each_rules_bounds_and_refuses_past_them(client, api_token, name):
    headers = api_token(factories.make_practitioner().user)
    low, high = SCHEDULE_LIMITS[name]
    for value in (low, high):
        response = client.put("/api/v1/practitioners/me/schedule", headers=headers, json=SCHEDULE | {name: value})
        assert response.status_code == 200, response.get_data(as_text=True)
    for value in (low - 1, high + 1):
        response = client.put("/api/v1/practitioners/me/schedule", headers=headers, json=SCHEDULE | {name: value})
        assert response.status_code == 422 and name in response.json["error"]["fields"]


@pytest.mark.parametrize("name", RULES)
def test_the_service_refuses_past_the_bounds(app, name):
    user = factories.make_practitioner().user
    low, high = SCHEDULE_LIMITS[name]
    for value in (low - 1, high + 1):
        with pytest.raises(InvalidBookingData) as refused:
            settings.update_schedule(user, weekly=[], **(SCHEDULE_DEFAULTS | {name: value}))
        assert name in refused.value.fields
    db.session.rollback()


def test_the_database_refuses_a_horizon_past_the_bound(app):
    practitioner = factories.make_practitioner()
    low, high = SCHEDULE_LIMITS["horizon_days"]
    for value in (low - 1, high + 1):
        db.session.add(PractitionerSchedule(practitioner_id=practitioner.id, **(SCHEDULE_DEFAULTS | {
            "horizon_days": value})))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize(("minutes", "accepted"), [
    (CELL_MINUTES, True), (MAX_VISIT_MINUTES, True), (MAX_VISIT_MINUTES + CELL_MINUTES, False),
    (CELL_MINUTES + 1, False), (0, False),
])
def test_a_visit_reasons_duration_follows_the_rules_in_the_api(client, api_token, minutes, accepted):
    headers = api_token(factories.make_practitioner().user)
    response = client.post("/api/v1/practitioners/me/visit-reasons", headers=headers, json={
        "label": "Consultation", "duration_minutes": minutes, "price_cents": 3000})
    assert response.status_code == (201 if accepted else 422), response.get_data(as_text=True)


def test_the_settings_form_says_the_visit_length_rule(client, log_in, form_post):
    log_in(factories.make_practitioner().user)
    page = form_post("/settings/visit-reasons", {"label": "Consultation", "duration_minutes": "7",
                                                 "price_euros": "30"}).get_data(as_text=True)
    assert f"{CELL_MINUTES} minutes" in page
