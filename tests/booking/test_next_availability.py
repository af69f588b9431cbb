"""The stored next availability: kept by each change, refreshed by the job, verified by search,
and never left stale by two transactions booking a practitioner's last slots."""

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import PARIS, make_schedule, make_visit_reason, make_weekly_hours, open_practice
from webapp.accounts.models import User
from webapp.booking import appointments, holds, next_availability, search
from webapp.booking.models import Absence
from webapp.booking.next_availability import NextAvailability
from webapp.extensions import db
from webapp.jobs import JOBS
from webapp.transaction import transaction

# A Wednesday morning in Paris, far from any clock change.
NOW = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC)  # 07:00 in Paris


@pytest.fixture(autouse=True)
def _request(app, frozen_clock):
    frozen_clock.set(NOW)
    with app.test_request_context():
        yield


def stored_start(practitioner) -> dt.datetime | None:
    return next_availability.stored([practitioner.id])[practitioner.id].next_start_at


def soonest_page(specialty: str, per_page: int = 2, page: int = 1) -> dict:
    statement = search.search_practitioners(specialty=specialty)
    return search.search_page_by_next_available(statement, page=page, per_page=per_page)


def at(hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
    """A Paris wall-clock time `days` after NOW's day, in UTC."""
    return dt.datetime(2026, 6, 10 + days, hour, minute, tzinfo=PARIS).astimezone(dt.UTC)


def test_a_booking_moves_the_stored_value_in_its_own_transaction():
    practitioner, reason = open_practice(hours=("10:00", "11:00"))
    assert stored_start(practitioner) == at(10)
    patient = factories.make_patient()
    with transaction():
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=at(10),
                                      by=patient.account)
    assert stored_start(practitioner) == at(10, 30)


def stored_starts(practitioner) -> list[dt.datetime]:
    row = next_availability.stored([practitioner.id])[practitioner.id]
    return [next_availability.FreeStart.decoded(values).start_at for values in row.free_starts]


def test_a_booking_of_a_stored_start_drops_it_without_computing_again(count_queries):
    practitioner, reason = open_practice(hours=("10:00", "12:00"))
    assert stored_starts(practitioner) == [at(10), at(10, 30), at(11), at(11, 30), *(
        at(hour, minute, days=1) for hour in (10, 11) for minute in (0, 30))]
    patient = factories.make_patient()
    with count_queries() as statements, transaction():
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=at(10),
                                      by=patient.account)
    after_lock = statements[[index for index, text in enumerate(statements)
                             if text.startswith("SELECT next_availabilities")][0] + 1:]
    assert [text.split(" SET ")[0] for text in after_lock] == ["UPDATE next_availabilities"]
    assert stored_starts(practitioner)[:2] == [at(10, 30), at(11)]
    assert len(stored_starts(practitioner)) == next_availability.KEPT_STARTS - 1


def test_a_booking_takes_the_stored_starts_its_buffer_reaches():
    practitioner, reason = open_practice(hours=("10:00", "12:00"), buffer_minutes=10)
    make_visit_reason(practitioner, duration_minutes=15)
    patient = factories.make_patient()
    assert stored_starts(practitioner)[:4] == [at(10), at(10, 15), at(10, 30), at(10, 45)]
    with transaction():
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                      start_at=at(10, 30), by=patient.account)
    # 10:00 keeps a 15-minute visit and its buffer clear of 10:30; 10:15 and 10:45 do not, nor 11:00.
    assert stored_starts(practitioner)[:2] == [at(10), at(11, 15)]


def test_the_value_is_computed_again_when_bookings_took_every_stored_start():
    practitioner, reason = open_practice(hours=("10:00", "11:00"))
    row = db.session.get(NextAvailability, practitioner.id)
    row.free_starts = row.free_starts[:1]  # as left by earlier bookings, or a row written before the starts were kept
    db.session.commit()
    with transaction():
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=at(10),
                                      by=factories.make_patient().account)
    assert stored_starts(practitioner)[:2] == [at(10, 30), at(10, days=1)]


def test_a_refused_booking_leaves_the_stored_value_alone():
    practitioner, reason = open_practice(hours=("10:00", "11:00"))
    patient = factories.make_patient()
    with pytest.raises(Exception), transaction():  # noqa: B017 - any refusal rolls back
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=at(10),
                                      by=patient.account)
        raise RuntimeError("refused after the write")
    assert stored_start(practitioner) == at(10)


def test_a_hold_leaves_the_stored_value_but_search_shows_the_next_free_slot():
    practitioner, reason = open_practice(hours=("10:00", "11:00"))
    with transaction():
        holds.hold_slot(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=at(10), holder="alice")
    assert stored_start(practitioner) == at(10)  # a lower bound: the hold expires by time alone
    page = soonest_page(practitioner.specialty, per_page=1)
    assert page["next_available"] == {practitioner.id: at(10, 30)}


def test_search_orders_by_verified_values_when_stored_ones_are_stale(frozen_clock):
    early, _ = open_practice(hours=("08:00", "09:00"))  # its slots pass first
    late, _ = open_practice(hours=("09:30", "10:00"))
    never = factories.make_practitioner()  # no hours: nothing free
    assert stored_start(early) < stored_start(late)
    frozen_clock.set(at(9, 15))  # early's slots of the day are gone, nothing written yet
    assert stored_start(early) == at(8)
    page = soonest_page(early.specialty, per_page=3)
    assert [item.id for item in page["items"]] == [late.id, early.id, never.id]
    assert page["next_available"] == {late.id: at(9, 30), early.id: at(8, days=1), never.id: None}
    assert page["total"] == 3


def test_search_pages_are_those_of_a_full_computation():
    practices = [open_practice(hours=(f"{8 + n:02d}:00", f"{9 + n:02d}:00"))[0] for n in range(5)]
    db.session.execute(sa.delete(NextAvailability).where(NextAvailability.practitioner_id == practices[2].id))
    db.session.commit()  # one never computed: it counts as "from now on" and is verified
    pages = [soonest_page(practices[0].specialty, page=number) for number in (1, 2, 3)]
    assert [item.id for page in pages for item in page["items"]] == [p.id for p in practices]


def test_the_job_refreshes_values_past_their_notice(frozen_clock):
    practitioner, _ = open_practice(hours=("10:00", "11:00"), min_notice_minutes=60)
    row = next_availability.stored([practitioner.id])[practitioner.id]
    assert row.next_start_at == at(10) and row.stale_at == at(9)
    frozen_clock.set(at(10, 5))  # today's last slot, 10:30, is now inside the notice
    assert next_availability.refresh_stale() == 1
    assert stored_start(practitioner) == at(10, days=1)
    assert next_availability.refresh_stale() == 0
    assert any(job.id == "booking.refresh_next_availability" for job in JOBS)


def test_the_job_refreshes_values_at_the_practitioners_midnight(frozen_clock):
    practitioner = factories.make_practitioner()
    make_schedule(practitioner, horizon_days=1, closed_on_public_holidays=False)
    make_weekly_hours(practitioner, [(4, "10:00", "11:00")])  # Fridays; it is Wednesday
    make_visit_reason(practitioner)
    row = next_availability.stored([practitioner.id])[practitioner.id]
    assert row.next_start_at is None and row.stale_at == at(0, days=1)
    frozen_clock.set(at(0, 5, days=1))  # Thursday: Friday enters the horizon
    next_availability.refresh_stale()
    assert stored_start(practitioner) == at(10, days=2)


def test_the_job_writes_practitioners_never_computed():
    practitioner, _ = open_practice(hours=("10:00", "11:00"))
    db.session.execute(sa.delete(NextAvailability))
    db.session.commit()
    assert next_availability.refresh_stale() == 1
    assert stored_start(practitioner) == at(10)


@pytest.mark.postgres_only
def test_two_bookings_of_the_last_two_slots_leave_no_stale_value(app, monkeypatch):
    """A books one slot and writes the value (the other still free), B books
    the other and commits while A has not committed yet. Without the row lock B
    would store A's slot, or A would store B's; with it B waits for A and sees both."""
    practitioner, reason = open_practice(hours=("10:00", "11:00"), horizon_days=1)
    factories_absence = Absence(practitioner_id=practitioner.id, start_at=at(11), end_at=at(0, days=5))
    db.session.add(factories_absence)
    db.session.commit()  # two slots left: 10:00 and 10:30 today
    first, second = factories.make_patient(), factories.make_patient()
    practitioner_id, reason_id = practitioner.id, reason.id
    accounts = {"A": first.account_id, "B": second.account_id}
    refreshed = threading.Event()
    b_done = threading.Event()
    real_refresh = next_availability.refresh
    errors = []

    def b_is_waiting_on_a_lock() -> bool:
        with db.engine.connect() as connection:
            return bool(connection.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")))

    def slow_refresh(*args, **kwargs):
        real_refresh(*args, **kwargs)
        if threading.current_thread().name == "A":
            refreshed.set()
            deadline = time.monotonic() + 10
            while not b_done.is_set() and not b_is_waiting_on_a_lock() and time.monotonic() < deadline:
                time.sleep(0.02)

    monkeypatch.setattr(next_availability, "refresh", slow_refresh)

    def book(name: str, start: dt.datetime) -> None:
        try:
            with app.app_context(), app.test_request_context():
                user = db.session.get(User, accounts[name])
                with transaction():
                    appointments.book_appointment(practitioner_id=practitioner_id, visit_reason_id=reason_id,
                                                  start_at=start, by=user)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            if name == "B":
                b_done.set()

    a = threading.Thread(target=book, args=("A", at(10)), name="A")
    a.start()
    assert refreshed.wait(10)
    b = threading.Thread(target=book, args=("B", at(10, 30)), name="B")
    b.start()
    a.join(20)
    b.join(20)
    assert errors == []
    db.session.expire_all()
    assert stored_start(practitioner) is None
