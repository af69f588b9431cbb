"""The demo world fills the notebooks it documents, through the notebook services."""

import sqlalchemy as sa

from webapp.booking.visits import has_begun_visit
from webapp.extensions import db
from webapp.notebook.models import EntryKind, NotebookEntry


def test_seed_demo_fills_jean_girards_notebook(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(
        sa.select(NotebookEntry.kind, sa.func.count()).group_by(NotebookEntry.kind)).all())
    assert kinds[EntryKind.MEASUREMENT] == 35 and kinds[EntryKind.REPORT] == 1
    report = db.session.scalar(sa.select(NotebookEntry).where(NotebookEntry.kind == EntryKind.REPORT))
    assert report.appointment_id is not None and report.author_practitioner.full_name == "Claire Martin"
    assert report.appointment.patient_id == report.patient_id


def test_demo_notebooks_were_opened_by_past_visits_of_their_practitioners(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    written = db.session.execute(sa.select(NotebookEntry.author_practitioner_id, NotebookEntry.patient_id).where(
        NotebookEntry.author_practitioner_id.is_not(None)).distinct()).all()
    assert written
    for practitioner_id, patient_id in written:
        assert has_begun_visit(practitioner_id, patient_id)
