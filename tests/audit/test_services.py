"""The audit trail: what a row holds, what it refuses, and the hash chain."""

import threading

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import make_events, recorded_events
from webapp.accounts.models import Role
from webapp.audit import services
from webapp.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.transaction import transaction


def test_event_records_actor_role_target_time_and_request_origin(app):
    practitioner = factories.make_practitioner().user
    with app.test_request_context("/", headers={"User-Agent": "Firefox/140"},
                                  environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        with transaction():
            services.record_event("notebook.read", actor=practitioner, target_type="patient_profile", target_id=42,
                                  details={"entry_id": 7, "emergency": False})
    [event] = recorded_events()
    assert (event.actor_id, event.actor_role, event.action) == (practitioner.id, "practitioner", "notebook.read")
    assert (event.target_type, event.target_id) == ("patient_profile", "42")
    assert (event.ip, event.user_agent) == ("203.0.113.7", "Firefox/140")
    assert event.details == {"entry_id": 7, "emergency": False}
    assert event.occurred_at.tzinfo is not None


def test_event_outside_a_request_is_anonymous_without_origin():
    with transaction():
        services.record_event("audit.exported", details={"format": "csv"})
    [event] = recorded_events()
    assert event.actor_id is None and event.actor_role is None and event.ip is None and event.user_agent is None


def test_event_is_rolled_back_with_the_action_it_describes():
    with pytest.raises(RuntimeError):
        with transaction():
            services.record_event("token.created", target_type="api_token", target_id=1)
            raise RuntimeError("the action failed")
    assert recorded_events() == []
    with transaction():
        services.record_event("token.created", target_type="api_token", target_id=2)
    [event] = recorded_events()
    assert event.id == 1 and event.prev_hash == GENESIS_HASH  # the rolled-back position is reused


@pytest.mark.parametrize("details", [
    {"note": "Patient complains of chest pain"},  # free text
    {"email": "marie@example.com"},
    {"Reason": "x"},  # keys are codes too
    {"ids": [1, "two"]},
    {"data": {"nested": 1}},
    {"value": 3.5},
])
def test_details_refuse_anything_but_ids_and_codes(details):
    with pytest.raises(ValueError):
        services.record_event("notebook.read", details=details)


@pytest.mark.parametrize("action", ["login", "Login.Success", "login success", "login.", ""])
def test_action_must_be_a_dotted_code(action):
    with pytest.raises(ValueError):
        services.record_event(action)


def test_target_type_must_be_a_code():
    with pytest.raises(ValueError):
        services.record_event("notebook.read", target_type="Patient Profile")


def test_long_user_agent_is_cut_to_the_column(app):
    with app.test_request_context("/", headers={"User-Agent": "A" * 1000}):
        with transaction():
            services.record_event("login.success")
    assert len(recorded_events()[0].user_agent) == 255


def test_chain_links_each_row_to_the_one_before():
    events = make_events(3)
    assert [event.id for event in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert all(services.event_hash(event) == event.hash for event in events)
    head = db.session.get(AuditChainHead, 1)
    assert (head.last_event_id, head.last_hash) == (3, events[2].hash)


def test_verify_accepts_an_intact_chain_and_an_empty_one():
    assert services.verify_chain().is_intact
    make_events(5)
    report = services.verify_chain(batch_size=2)
    assert report.is_intact and report.checked == 5


def test_missing_chain_head_with_events_refuses_to_fork(owner_engine):
    make_events(2)
    with owner_engine.begin() as connection:  # an intruder who owns the database, past the triggers
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.delete(AuditChainHead))
    with pytest.raises(services.AuditChainBroken):
        services.record_event("login.success")
    db.session.rollback()
    assert not services.verify_chain().is_intact


def test_search_is_for_admins_only_and_is_itself_audited(app):
    admin = factories.make_staff(role=Role.ADMIN)
    make_events(3)
    for role_user in (None, factories.make_patient().account, factories.make_practitioner().user,
                      factories.make_staff()):
        with app.test_request_context(), pytest.raises(Forbidden):
            services.search_events(role_user, services.EventFilters())
    with transaction():
        items, total = services.search_events(admin, services.EventFilters(action="test"), per_page=2)
    assert total == 3 and [event.id for event in items] == [3, 2]
    viewed = recorded_events("audit.viewed")
    assert len(viewed) == 1 and viewed[0].actor_id == admin.id


def test_search_filters_by_action_family_actor_target_and_time():
    patient = factories.make_patient().account
    with transaction():
        services.record_event("login.success", actor=patient, target_type="user", target_id=patient.id)
        services.record_event("login.failure", target_type="user", target_id=patient.id)
        services.record_event("loginx.other", target_type="thing", target_id=1)
    admin = factories.make_staff(role=Role.ADMIN)
    Filters = services.EventFilters

    def ids(filters):
        return [event.action for event in services.search_events(admin, filters)[0]]

    assert ids(Filters(action="login")) == ["login.failure", "login.success"]
    assert ids(Filters(action="login.success")) == ["login.success"]
    assert ids(Filters(actor_id=patient.id)) == ["login.success"]
    assert ids(Filters(target_type="user", target_id=str(patient.id))) == ["login.failure", "login.success"]
    first = recorded_events()[0].occurred_at
    assert ids(Filters(action="login", until=first)) == []
    assert len(ids(Filters(action="login", since=first))) == 2


@pytest.mark.postgres_only
def test_postgresql_refuses_update_and_delete_of_events():
    make_events(2)
    for statement in ("UPDATE audit_events SET action = 'login.success' WHERE id = 1",
                      "DELETE FROM audit_events WHERE id = 2"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(sa.text(statement))
    assert services.verify_chain().is_intact and services.verify_chain().checked == 2


@pytest.mark.postgres_only
def test_postgresql_chain_head_only_moves_forward():
    events = make_events(2)
    refused = [
        "DELETE FROM audit_chain_heads",
        "UPDATE audit_chain_heads SET last_event_id = 1",
        "UPDATE audit_chain_heads SET last_hash = 'forged'",
    ]
    for statement in refused:
        with pytest.raises(sa.exc.DBAPIError, match="only moves forward"):
            with db.engine.begin() as connection:
                connection.execute(sa.text(statement))
    assert db.session.get(AuditChainHead, 1).last_hash == events[1].hash


def _append_concurrently(app, threads: int, events_each: int) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(events_each):
                    with transaction():
                        services.record_event("test.concurrent", target_type="thing", target_id=n * 100 + i)
        except BaseException as error:  # reported to the test thread
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    db.engine.dispose()  # close the threads' connections now, not at interpreter exit
    return errors


def test_concurrent_appends_never_fork_the_chain(app):
    errors = _append_concurrently(app, threads=8, events_each=10)
    assert errors == []
    report = services.verify_chain()
    assert report.is_intact and report.checked == 80
    prev_hashes = db.session.scalars(sa.select(AuditEvent.prev_hash)).all()
    assert len(set(prev_hashes)) == 80  # no two rows extend the same predecessor


@pytest.mark.postgres_only
def test_second_appender_waits_for_the_first_to_commit(app):
    first_recorded, release_first = threading.Event(), threading.Event()
    second_done = threading.Event()

    def first() -> None:
        with app.app_context(), transaction():
            services.record_event("test.first")
            first_recorded.set()
            release_first.wait(5)

    def second() -> None:
        with app.app_context(), transaction():
            services.record_event("test.second")
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_recorded.wait(5)
    threads[1].start()
    assert not second_done.wait(0.5)  # blocked on the chain head
    release_first.set()
    for thread in threads:
        thread.join(5)
    db.engine.dispose()
    first_event, second_event = recorded_events()
    assert (first_event.action, second_event.action) == ("test.first", "test.second")
    assert second_event.prev_hash == first_event.hash and services.verify_chain().is_intact
