"""Several web nodes on one PostgreSQL and one Redis: bookings never overlap,
a session and a rate limit hold across nodes, two schedulers send each
message once. Each test seeds its own rows (tables are emptied after each)."""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_visit_reason, open_practice
from tests.conftest import csrf_token_of
from tests.multinode.conftest import MAIL_FROM
from webapp.accounts.api_tokens import issue_api_token
from webapp.booking.models import Appointment
from webapp.extensions import db
from webapp.notifications.models import Category, Channel, Notification, NotificationStatus
from webapp.notifications.sender import message_id
from webapp.notifications.services import enqueue_email
from webapp.scheduler import JobRun
from webapp.transaction import transaction

pytestmark = pytest.mark.postgres_only

TIMEOUT = 30  # seconds per request; the cores are shared
OUTBOX_DEADLINE = 60  # the outbox job runs every 15 s: at most a few runs


def bearer(user) -> str:
    """A real API token, issued without the token endpoint's rate limit."""
    raw, _ = issue_api_token(user)
    db.session.commit()
    return f"Bearer {raw}"


def client_address(n: int) -> dict:
    """The client's address as the load balancer forwards it (rate limits key on it)."""
    return {"X-Forwarded-For": f"198.51.100.{n}"}


def test_bookings_sent_to_both_nodes_never_overlap(cluster):
    practitioner, _ = open_practice(slot_step_minutes=30)
    hour_long = make_visit_reason(practitioner, label="Bilan", duration_minutes=60)
    # Three contested hours; in each, starts at :00 and :30 for an hour overlap each other.
    groups = [(local_start(days, hour), local_start(days, hour, 30)) for days, hour in ((3, 10), (3, 14), (4, 10))]
    attempts = [(group, start) for group, starts in enumerate(groups) for start in starts for _ in range(3)]
    headers = [{"Authorization": bearer(factories.make_patient().account), **client_address(index + 1)}
               for index in range(len(attempts))]
    bodies = [{"practitioner_id": practitioner.id, "visit_reason_id": hour_long.id, "start": start.isoformat()}
              for _, start in attempts]
    barrier = threading.Barrier(len(attempts))

    def book(index: int) -> tuple[int, dict]:
        barrier.wait()
        response = requests.post(f"{cluster.nodes[index % 2]}/api/v1/appointments", json=bodies[index],
                                 headers=headers[index], timeout=TIMEOUT)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        results = list(pool.map(book, range(len(attempts))))

    for group in range(len(groups)):
        answers = sorted(status for (status, _), (g, _) in zip(results, attempts, strict=True) if g == group)
        assert answers == [201] + [409] * 5, results
    assert all(body["error"]["code"] == "slot_unavailable" for status, body in results if status == 409), results
    db.session.expire_all()
    booked = db.session.scalars(sa.select(Appointment).where(Appointment.practitioner_id == practitioner.id)).all()
    active = [a for a in booked if a.status.occupies_time]
    assert len(active) == len(groups)
    for first, second in itertools.combinations(active, 2):
        assert first.end_at <= second.start_at or second.end_at <= first.start_at, (first, second)


def test_a_session_opened_on_one_node_works_on_the_other(cluster):
    node_a, node_b = cluster.nodes
    user = factories.make_practitioner().user
    with requests.Session() as browser:
        browser.headers.update(client_address(200))
        # Password on node A, TOTP code on node B: the half-open login lives in the cookie.
        token = csrf_token_of(browser.get(f"{node_a}/login", timeout=TIMEOUT).text)
        response = browser.post(f"{node_a}/login", data={"email": user.email, "password": factories.PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302 and response.headers["Location"].endswith("/login/code"), response.text
        token = csrf_token_of(browser.get(f"{node_b}/login/code", timeout=TIMEOUT).text)
        response = browser.post(f"{node_b}/login/code", data={"code": factories.totp_now(user), "csrf_token": token},
                                allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302 and "/login" not in response.headers["Location"], response.text
        cookie = browser.cookies.get("session")
        assert cookie

    for node in (node_b, node_a):
        page = requests.get(f"{node}/account", cookies={"session": cookie}, headers=client_address(200),
                            allow_redirects=False, timeout=TIMEOUT)
        assert page.status_code == 200 and user.email in page.text, (node, page.status_code)
    anonymous = requests.get(f"{node_b}/account", headers=client_address(200), allow_redirects=False, timeout=TIMEOUT)
    assert anonymous.status_code == 302  # the page does need the session


def test_a_rate_limit_reached_on_one_node_holds_on_the_other(cluster):
    node_a, node_b = cluster.nodes
    limit = 10  # the login form: 10 POSTs per minute per client address

    def attempt(node: str, address: int) -> int:
        with requests.Session() as browser:
            browser.headers.update(client_address(address))
            token = csrf_token_of(browser.get(f"{node}/login", timeout=TIMEOUT).text)
            return browser.post(f"{node}/login", data={"email": "nobody@example.com", "password": "wrong-password",
                                                       "csrf_token": token}, timeout=TIMEOUT).status_code

    answers = [attempt(node_a, 201) for _ in range(limit + 1)]
    assert answers == [200] * limit + [429], answers
    assert attempt(node_b, 201) == 429
    assert attempt(node_b, 202) == 200  # another client is not limited


def test_two_schedulers_send_each_due_notification_once(cluster):
    keys = [f"multinode:{n}" for n in range(12)]
    with transaction():
        for key in keys:
            enqueue_email(key=key, to=f"{key.replace(':', '-')}@example.com", template="notebook_entry",
                          category=Category.NOTEBOOK,
                          context={"practitioner_name": "Dr Martin", "notebook_url": "http://carnet.test/notebook"})
    rows = db.session.execute(sa.select(Notification.id, Notification.key).where(Notification.key.in_(keys))).all()
    expected = {message_id(id_, Channel.EMAIL, key, MAIL_FROM) for id_, key in rows}
    assert len(expected) == len(keys)

    def unsent() -> int:
        db.session.rollback()  # a fresh snapshot at each look
        return db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.key.in_(keys), Notification.status != NotificationStatus.SENT))

    def runs_in_progress() -> int:
        db.session.rollback()
        return db.session.scalar(sa.select(sa.func.count()).select_from(JobRun).where(
            JobRun.job_id == "notifications.send_outbox", JobRun.finished_at.is_(None)))

    deadline = time.monotonic() + OUTBOX_DEADLINE
    # Sent, and no run still going that could send something a second time.
    while unsent() or runs_in_progress():
        assert time.monotonic() < deadline, f"{unsent()} notification(s) unsent\n{cluster.scheduler_output()}"
        time.sleep(0.2)

    counts = dict(cluster.sink.counts)
    assert {mid: counts.get(mid, 0) for mid in expected} == dict.fromkeys(expected, 1)
    assert [mid for mid, times in counts.items() if times > 1] == []  # nor anything else twice
    assert all(process.poll() is None for process in cluster.schedulers), cluster.scheduler_output()
