"""Slot holds: kept from everyone else like a booking, by the database; expire by time; become bookings."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import User
from webapp.booking import appointments, availability, holds
from webapp.booking.errors import HoldNotFound, NotASlotBoundary, NotBookableOnline, SlotUnavailable
from webapp.booking.models import Appointment, AppointmentStatus, OccupiedCell, SlotHold
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.transaction import transaction

ALICE, BOB = "alice-secret", "bob-secret"


pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


def hold(practice, start, holder=ALICE, **kwargs):
    practitioner, reason = practice
    with transaction():
        return holds.hold_slot(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                               holder=holder, **kwargs)


def book(practice, start, by):
    practitioner, reason = practice
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                         by=by)


def free_starts(practice, day_offset=3):
    practitioner, reason = practice
    day = local_start(day_offset).date()
    return {slot.start_at for slot in availability.available_slots(practitioner.id, reason.id, day, day)}


def test_a_hold_lasts_the_configured_minutes_and_stores_only_a_digest(app, practice, frozen_clock):
    held = hold(practice, local_start(3, 10))
    assert held.expires_at == frozen_clock.now + dt.timedelta(minutes=app.config["CARNET_HOLD_MINUTES"]) \
        == frozen_clock.now + dt.timedelta(minutes=5)
    assert held.holder_key != ALICE and len(held.holder_key) == 64
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OccupiedCell)
                             .where(OccupiedCell.hold_id == held.id)) == 6


def test_other_visitors_do_not_see_a_held_slot_as_free(practice, frozen_clock):
    start = local_start(3, 10)
    assert start in free_starts(practice)
    hold(practice, start)
    assert start not in free_starts(practice)
    practitioner, _ = practice
    next_start = availability.next_available_starts([practitioner.id])[practitioner.id]
    assert next_start != start


def test_a_held_slot_cannot_be_booked_or_held_by_someone_else(practice, frozen_clock):
    start = local_start(3, 10)
    hold(practice, start)
    with pytest.raises(SlotUnavailable):
        book(practice, start, factories.make_patient().account)
    with pytest.raises(SlotUnavailable):
        hold(practice, start, holder=BOB)


def test_a_booked_slot_cannot_be_held(practice, frozen_clock):
    practitioner, reason = practice
    make_appointment(practitioner, factories.make_patient(), local_start(3, 10), reason=reason)
    with pytest.raises(SlotUnavailable):
        hold(practice, local_start(3, 10))


def test_the_database_refuses_an_appointment_over_a_hold_and_a_hold_over_an_appointment(practice, frozen_clock):
    """Past the Python checks (two requests racing), the cells' primary key decides."""
    practitioner, reason = practice
    patient = factories.make_patient()
    held = hold(practice, local_start(3, 10))
    db.session.commit()
    intruder = Appointment(practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
                           start_at=local_start(3, 10, 15), end_at=local_start(3, 10, 45))
    intruder.cells = appointments.occupied_cells_for(practitioner.id, intruder.start_at, intruder.end_at)
    db.session.add(intruder)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()

    make_appointment(practitioner, patient, local_start(3, 14), reason=reason)
    other = SlotHold(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=local_start(3, 14),
                     end_at=local_start(3, 14, 30), expires_at=frozen_clock.now + dt.timedelta(minutes=5),
                     holder_key="x" * 64)
    other.cells = appointments.occupied_cells_for(practitioner.id, other.start_at, other.end_at)
    db.session.add(other)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(SlotHold, held.id) is not None


def test_a_cell_belongs_to_exactly_one_owner(practice):
    practitioner, _ = practice
    db.session.add(OccupiedCell(practitioner_id=practitioner.id, cell_start_at=local_start(3, 10)))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_an_expired_hold_blocks_nothing_without_any_cleanup(practice, frozen_clock):
    start = local_start(3, 10)
    hold(practice, start)
    frozen_clock.advance(minutes=4, seconds=59)
    assert start not in free_starts(practice)
    with pytest.raises(SlotUnavailable):
        hold(practice, start, holder=BOB)
    frozen_clock.advance(seconds=1)
    assert start in free_starts(practice)
    # Another visitor holds it, then books it: the expired hold's cells were given back on the way.
    bob_hold = hold(practice, start, holder=BOB)
    patient = factories.make_patient()
    with transaction():
        appointment = holds.book_hold(bob_hold.id, holder=BOB, by=patient.account)
    assert appointment.start_at == start and appointment.status is AppointmentStatus.BOOKED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlotHold)) == 0


def test_a_booking_goes_through_an_expired_hold(practice, frozen_clock):
    start = local_start(3, 10)
    hold(practice, start)
    frozen_clock.advance(minutes=6)
    appointment = book(practice, start, factories.make_patient().account)
    assert appointment.start_at == start
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlotHold)) == 0


def test_a_booking_beside_an_expired_hold_leaves_it_and_asks_nothing_of_the_holds(practice, frozen_clock,
                                                                                    count_queries):
    beside = hold(practice, local_start(3, 10))
    frozen_clock.advance(minutes=6)
    with count_queries() as statements:
        book(practice, local_start(3, 10, 30), factories.make_patient().account)
    assert [text for text in statements if text.startswith("SELECT slot_holds")] == []
    assert db.session.get(SlotHold, beside.id) is not None
    assert local_start(3, 10) in free_starts(practice)


def test_a_visit_moves_through_an_expired_hold(practice, frozen_clock):
    patient = factories.make_patient()
    appointment = book(practice, local_start(3, 9), patient.account)
    hold(practice, local_start(3, 10), holder=BOB)
    frozen_clock.advance(minutes=6)
    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=local_start(3, 10), by=patient.account)
    assert db.session.get(Appointment, appointment.id).start_at == local_start(3, 10)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlotHold)) == 0


def test_the_holder_turns_the_hold_into_a_booking(practice, frozen_clock):
    start = local_start(3, 10)
    held = hold(practice, start)
    patient = factories.make_patient()
    with transaction():
        appointment = holds.book_hold(held.id, holder=ALICE, by=patient.account, message="Première fois")
    db.session.expire_all()
    assert appointment.patient_id == patient.id and appointment.message == "Première fois"
    assert db.session.get(SlotHold, held.id) is None
    cells = db.session.scalars(sa.select(OccupiedCell)).all()
    assert len(cells) == 6 and {cell.appointment_id for cell in cells} == {appointment.id}


def test_an_expired_hold_still_books_while_the_slot_is_free_but_not_once_taken(practice, frozen_clock):
    start = local_start(3, 10)
    mine = hold(practice, start)
    frozen_clock.advance(minutes=10)
    patient = factories.make_patient()
    with transaction():
        appointment = holds.book_hold(mine.id, holder=ALICE, by=patient.account)
    assert appointment.start_at == start

    later = local_start(3, 11)
    mine = hold(practice, later)
    frozen_clock.advance(minutes=10)
    book(practice, later, factories.make_patient().account)  # gives the expired hold's time back
    with pytest.raises(HoldNotFound):
        with transaction():
            holds.book_hold(mine.id, holder=ALICE, by=patient.account)


def test_only_the_holder_books_a_hold(practice, frozen_clock):
    held = hold(practice, local_start(3, 10))
    with pytest.raises(HoldNotFound):
        with transaction():
            holds.book_hold(held.id, holder=BOB, by=factories.make_patient().account)
    with pytest.raises(HoldNotFound):
        holds.hold_of(held.id + 1000, ALICE)
    assert db.session.get(SlotHold, held.id) is not None


def test_a_holder_keeps_one_slot_at_a_time(practice, frozen_clock):
    hold(practice, local_start(3, 10))
    hold(practice, local_start(3, 11))
    assert db.session.scalars(sa.select(SlotHold.start_at)).all() == [local_start(3, 11)]
    assert local_start(3, 10) in free_starts(practice)
    # Holding the same slot again just renews it.
    frozen_clock.advance(minutes=3)
    again = hold(practice, local_start(3, 11))
    assert again.expires_at == frozen_clock.now + dt.timedelta(minutes=5)


def test_a_hold_follows_the_booking_rules(practice, frozen_clock):
    practitioner, reason = practice
    with pytest.raises(NotASlotBoundary):
        hold(practice, local_start(3, 10, 10))
    with pytest.raises(SlotUnavailable):
        hold(practice, local_start(-1, 10))
    pending = factories.make_practitioner(verification="pending")
    with pytest.raises(NotFound):
        hold((pending, reason), local_start(3, 10))


def test_no_hold_with_a_practitioner_not_bookable_online(frozen_clock):
    from tests.billing.factories import make_subscription
    from webapp.billing.models import SubscriptionStatus
    practitioner, reason = open_practice()
    make_subscription(practitioner, status=SubscriptionStatus.SUSPENDED)
    with pytest.raises(NotBookableOnline):
        hold((practitioner, reason), local_start(3, 10))


def test_old_holds_are_deleted_by_housekeeping(practice, frozen_clock):
    hold(practice, local_start(3, 10))
    hold(practice, local_start(3, 11), holder=BOB)
    frozen_clock.advance(days=1, minutes=6)
    with transaction():
        assert holds.delete_old_holds() == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OccupiedCell)) == 0


def test_the_daily_job_deletes_holds_expired_for_a_day_and_keeps_the_others(practice, frozen_clock):
    from webapp.jobs import JOBS
    from webapp.scheduler import run_job

    hold(practice, local_start(3, 10), now=frozen_clock.now - dt.timedelta(days=2))
    recent = hold(practice, local_start(3, 11), holder=BOB, now=frozen_clock.now - dt.timedelta(hours=1))
    job = next(job for job in JOBS if job.id == "booking.delete_old_holds")
    assert run_job(job, frozen_clock.now) is True
    db.session.expire_all()
    assert db.session.scalars(sa.select(SlotHold.id)).all() == [recent.id]


@pytest.mark.postgres_only
def test_simultaneous_holds_and_bookings_of_one_slot_let_exactly_one_through(app, practice):
    """Real concurrency: holds and bookings race for one slot; the cells' key lets one win."""
    import threading

    practitioner, reason = practice
    start = local_start(3, 10)
    patients = [factories.make_patient().account.id for _ in range(4)]
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(index: int) -> None:
        with app.app_context(), app.test_request_context():
            barrier.wait()
            try:
                with transaction():
                    if index % 2:
                        holds.hold_slot(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                        holder=f"visitor-{index}")
                    else:
                        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                                  start_at=start, by=db.session.get(User, patients[index // 2]))
                outcomes.append("won")
            except SlotUnavailable:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["won"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OccupiedCell)) == 6
