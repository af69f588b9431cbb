"""Lists cost a constant number of SQL statements, whatever their size (no N+1)."""

import datetime as dt

from tests import factories
from tests.booking.factories import local_start, make_appointment, make_visit_reason, open_practice


def _statements(count_queries, client, url, headers=None) -> int:
    with count_queries() as statements:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(statements)


def _open_practices(count: int, city: str):
    for _ in range(count):
        practitioner, _ = open_practice(factories.make_practitioner(city=city))
        make_visit_reason(practitioner, label="Suivi", duration_minutes=15)


def test_search_api_and_page_cost_the_same_for_2_or_12_results(client, count_queries):
    _open_practices(2, "Lyon")
    _open_practices(12, "Nantes")
    for url in ("/api/v1/practitioners?city={city}", "/search?place={city}"):
        few = _statements(count_queries, client, url.format(city="Lyon"))
        many = _statements(count_queries, client, url.format(city="Nantes"))
        assert few == many, url
        assert many <= 12


def test_search_costs_the_same_for_any_page_size_and_either_order(client, count_queries):
    _open_practices(12, "Nantes")
    for order in ("name", "next_available"):
        url = f"/api/v1/practitioners?city=Nantes&sort={order}&per_page={{}}"
        assert _statements(count_queries, client, url.format(2)) == _statements(count_queries, client, url.format(20))
    # Soonest first computes everyone's availability, still in the same few queries.
    _open_practices(12, "Nancy")
    url = "/api/v1/practitioners?city={city}&sort=next_available&per_page=5"
    assert _statements(count_queries, client, url.format(city="Nantes")) == \
        _statements(count_queries, client, url.format(city="Nan"))


def test_slots_cost_the_same_for_an_empty_or_a_busy_agenda(client, count_queries):
    quiet, quiet_reason = open_practice()
    busy, busy_reason = open_practice()
    for hour in range(8, 19):
        make_appointment(busy, factories.make_patient(), local_start(2, hour), reason=busy_reason)
    first, last = dt.date.today(), dt.date.today() + dt.timedelta(days=30)
    url = "/api/v1/practitioners/{}/slots?visit_reason_id={}&from={}&to={}"
    assert (_statements(count_queries, client, url.format(quiet.id, quiet_reason.id, first, last))
            == _statements(count_queries, client, url.format(busy.id, busy_reason.id, first, last)))
    assert _statements(count_queries, client, f"/practitioners/{busy.id}?reason={busy_reason.id}") == \
        _statements(count_queries, client, f"/practitioners/{quiet.id}?reason={quiet_reason.id}")


def test_agenda_costs_the_same_for_1_or_10_appointments(client, count_queries, api_token, log_in):
    few, few_reason = open_practice()
    many, many_reason = open_practice()
    make_appointment(few, factories.make_patient(), local_start(2, 9), reason=few_reason)
    for hour in range(8, 18):
        make_appointment(many, factories.make_patient(), local_start(2, hour), reason=many_reason)
    day = local_start(2).date()
    url = f"/api/v1/practitioners/me/agenda?from={day}&to={day + dt.timedelta(days=6)}"
    few_headers, many_headers = api_token(few.user), api_token(many.user)
    assert _statements(count_queries, client, url, few_headers) == _statements(count_queries, client, url, many_headers)
    page = f"/agenda?view=week&day={day}"
    log_in(few.user)
    few_page = _statements(count_queries, client, page)
    log_in(many.user)
    assert _statements(count_queries, client, page) == few_page


def test_appointment_lists_cost_the_same_for_1_or_8_appointments(client, count_queries, api_token):
    practitioner, reason = open_practice()
    one, eight = factories.make_patient(), factories.make_patient()
    make_appointment(practitioner, one, local_start(2, 8), reason=reason)
    for hour in range(9, 17):
        make_appointment(open_practice()[0] if hour % 2 else practitioner, eight, local_start(3, hour),
                         reason=None if hour % 2 else reason)
    url = "/api/v1/appointments?scope=upcoming"
    assert _statements(count_queries, client, url, api_token(one.account)) == \
        _statements(count_queries, client, url, api_token(eight.account))
