"""The demo world fills the notebooks it documents, through the notebook services."""

import sqlalchemy as sa

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
