"""Revision 0004 rewrites the phones the desk kept as typed in E.164, and leaves any other as it was."""

import flask_migrate
import sqlalchemy as sa

from webapp import create_app
from webapp.extensions import db


def test_desk_phones_typed_before_are_rewritten_in_e164(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'before.db'}", "CARNET_SCHEDULER": "off"})
    with app.app_context():
        flask_migrate.upgrade(revision="0003")
        db.session.execute(sa.text(
            "INSERT INTO patient_profiles (id, first_name, last_name, birth_date, phone, created_at) VALUES "
            "(1, 'Louise', 'Martin', '1980-01-01', '06 12 34 56 78', '2026-01-01 00:00:00'), "
            "(2, 'Paul', 'Martin', '1982-02-02', 'le portable de sa fille', '2026-01-01 00:00:00'), "
            "(3, 'Anne', 'Martin', '1984-03-03', '+33712345678', '2026-01-01 00:00:00'), "
            "(4, 'Marc', 'Martin', '1986-04-04', NULL, '2026-01-01 00:00:00')"))
        db.session.commit()
        flask_migrate.upgrade()
        phones = dict(db.session.execute(sa.text("SELECT id, phone FROM patient_profiles")).all())
        db.engine.dispose()
    assert phones == {1: "+33612345678", 2: "le portable de sa fille", 3: "+33712345678", 4: None}
