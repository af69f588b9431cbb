"""No double booking under real concurrency: a live server, many simultaneous bookings."""

import json
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests import factories
from tests.booking.factories import local_start, make_visit_reason, open_practice
from webapp.accounts.api_tokens import issue_api_token
from webapp.booking.models import Appointment, OccupiedCell
from webapp.extensions import db

CONCURRENT_BOOKINGS = 16


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def post_json(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def bearer(user) -> dict:
    """A real API token, issued without the login endpoint's rate limit."""
    raw, _ = issue_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.postgres_only
def test_simultaneous_overlapping_bookings_let_exactly_one_through(live_server):
    practitioner, _ = open_practice(slot_step_minutes=30)
    hour_long = make_visit_reason(practitioner, label="Bilan", duration_minutes=60)
    # Starts at 10:00 and 10:30 for an hour: every pair of requests overlaps.
    starts = [local_start(3, 10), local_start(3, 10, 30)]
    headers = [bearer(factories.make_patient().account) for _ in range(CONCURRENT_BOOKINGS)]
    bodies = [{"practitioner_id": practitioner.id, "visit_reason_id": hour_long.id,
               "start": starts[index % 2].isoformat()} for index in range(CONCURRENT_BOOKINGS)]
    barrier = threading.Barrier(CONCURRENT_BOOKINGS)
    results: list[tuple[int, dict]] = [(0, {})] * CONCURRENT_BOOKINGS

    def book(index: int) -> None:
        barrier.wait()
        results[index] = post_json(f"{live_server}/api/v1/appointments", bodies[index], headers[index])

    threads = [threading.Thread(target=book, args=(index,)) for index in range(CONCURRENT_BOOKINGS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (CONCURRENT_BOOKINGS - 1), results
    assert all(body["error"]["code"] == "slot_unavailable" for status, body in results if status == 409)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OccupiedCell)) == 12
