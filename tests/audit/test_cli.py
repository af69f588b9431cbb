"""`flask audit verify` and `flask audit export`, run through Flask's CLI runner."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from tests.audit.factories import make_events, recorded_events
from webapp.audit.models import AuditChainHead, AuditEvent
from webapp.audit.services import event_hash
from webapp.extensions import db


@pytest.fixture
def run_cli(app):
    runner = app.test_cli_runner()

    def run(*args):
        return runner.invoke(args=list(args))

    return run


@pytest.fixture
def tamper(owner_engine):
    """Change the trail behind the application's back, as an intruder who owns
    the database would (on PostgreSQL, past the append-only triggers)."""

    def change(*statements) -> None:
        db.session.rollback()  # the test's own session holds no lock meanwhile
        with owner_engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                connection.execute(statement)
        db.session.expire_all()

    return change


def test_verify_reports_an_intact_trail(run_cli):
    events = make_events(4)
    result = run_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "4 events" in result.output and events[-1].hash in result.output


def test_verify_detects_a_changed_row(run_cli, tamper):
    make_events(5)
    tamper(sa.update(AuditEvent).where(AuditEvent.id == 3).values(actor_id=999))
    result = run_cli("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at event 3" in result.output and "changed" in result.output


def test_verify_detects_a_changed_row_whose_hash_was_recomputed(run_cli, tamper):
    events = make_events(5)
    forged = AuditEvent(**{column: getattr(events[2], column) for column in AuditEvent.__table__.columns.keys()})
    forged.action = "login.success"
    tamper(sa.update(AuditEvent).where(AuditEvent.id == 3).values(action="login.success", hash=event_hash(forged)))
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 4" in result.output  # the next row no longer links to it


def test_verify_detects_a_removed_row(run_cli, tamper):
    make_events(5)
    tamper(sa.delete(AuditEvent).where(AuditEvent.id == 2))
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 2" in result.output and "missing" in result.output


def test_verify_detects_a_removed_last_row(run_cli, tamper):
    make_events(5)
    tamper(sa.delete(AuditEvent).where(AuditEvent.id == 5))
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 5" in result.output


def test_verify_detects_a_removed_and_renumbered_tail(run_cli, tamper):
    events = make_events(5)
    # Remove event 3 and shift the later ones down to hide the gap.
    tamper(
        sa.delete(AuditEvent).where(AuditEvent.id == 3),
        sa.update(AuditEvent).where(AuditEvent.id == 4).values(id=3),
        sa.update(AuditEvent).where(AuditEvent.id == 5).values(id=4),
        sa.update(AuditChainHead).values(last_event_id=4, last_hash=events[4].hash),
    )
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 3" in result.output


def _forged_row(event_id: int, prev_hash: str) -> AuditEvent:
    row = AuditEvent(id=event_id, occurred_at=recorded_events()[0].occurred_at, action="login.success",
                     actor_id=1, actor_role="admin", details={}, prev_hash=prev_hash)
    row.hash = event_hash(row)
    return row


def _insert(row: AuditEvent):
    return sa.insert(AuditEvent).values({column: getattr(row, column)
                                         for column in AuditEvent.__table__.columns.keys()})


def test_verify_detects_an_inserted_row_at_the_end(run_cli, tamper):
    events = make_events(3)
    tamper(_insert(_forged_row(4, events[-1].hash)))  # perfectly chained, but the head does not know it
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 4" in result.output


def test_verify_detects_an_inserted_row_in_the_middle(run_cli, tamper):
    events = make_events(4)
    # Shift events 3 and 4 up to make room, then slip a forged event 3 in.
    tamper(
        sa.update(AuditEvent).where(AuditEvent.id == 4).values(id=5),
        sa.update(AuditEvent).where(AuditEvent.id == 3).values(id=4),
        _insert(_forged_row(3, events[1].hash)),
        sa.update(AuditChainHead).values(last_event_id=5),
    )
    result = run_cli("audit", "verify")
    assert result.exit_code == 1 and "BROKEN at event 4" in result.output


def test_export_writes_json_lines_oldest_first_and_is_audited(run_cli, tmp_path):
    make_events(3)
    target = tmp_path / "trail.jsonl"
    result = run_cli("audit", "export", "--format", "jsonl", "--output", str(target))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert rows[0]["details"] == {"n": 0} and rows[1]["prev_hash"] == rows[0]["hash"]
    exported = recorded_events("audit.exported")
    assert len(exported) == 1 and exported[0].details == {"format": "jsonl", "rows": 3}
    assert run_cli("audit", "verify").exit_code == 0


def test_export_csv_neutralises_spreadsheet_formulas(run_cli, app):
    from webapp.audit.services import record_event

    with app.test_request_context("/", headers={"User-Agent": "=HYPERLINK(\"http://evil.example\")"}):
        record_event("login.failure", details={"reason": "bad_password"})
        db.session.commit()
    result = run_cli("audit", "export", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["user_agent"].startswith("'=HYPERLINK")
    assert json.loads(rows[0]["details"]) == {"reason": "bad_password"}


def test_export_filters_by_action_and_day(run_cli):
    make_events(2)
    assert "0 events exported" in run_cli("audit", "export", "--action", "login").output
    assert "2 events exported" in run_cli("audit", "export", "--action", "test", "--since", "2000-01-01").output
    assert "0 events exported" in run_cli("audit", "export", "--until", "2000-01-01").output


@pytest.mark.parametrize("value", ["yesterday", "2026-11-23T08:00:00"])
def test_export_refuses_bad_dates_clearly(run_cli, value):
    result = run_cli("audit", "export", "--since", value)
    assert result.exit_code == 2 and "Invalid value" in result.output
