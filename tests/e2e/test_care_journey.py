"""A visit seen from both sides: the practitioner's agenda and note, the
patient's notebook, access log and masking."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import PARIS, local_start, make_appointment, open_practice
from tests.e2e.conftest import log_in
from tests.notebook.factories import make_entry
from webapp.extensions import db
from webapp.notebook.models import NotebookEntry

pytestmark = pytest.mark.browser


def _visit_in_progress(practitioner, patient, reason):
    """A visit that started a few minutes ago (a note may be linked to it)."""
    start = dt.datetime.now(PARIS).replace(second=0, microsecond=0) - dt.timedelta(minutes=5)
    return make_appointment(practitioner, patient, start, reason=reason)


def test_practitioner_writes_during_the_visit_and_the_patient_reads_masks_and_sees_the_log(open_visit, locale):
    practitioner, reason = open_practice(factories.make_practitioner(
        last_name="Rousseau", user_overrides={"locale": locale}), hours=("09:00", "12:00"))
    patient = factories.make_patient(first_name="Léa", last_name="Martin", user_overrides={"locale": locale})
    upcoming = make_appointment(practitioner, patient, local_start(3, 11), reason=reason)
    current = _visit_in_progress(practitioner, patient, reason)
    private = make_entry(patient, title="Suivi psychologique", body="Entre moi et mon psychologue.")

    doctor = open_visit()
    log_in(doctor, practitioner.user)
    page = doctor.page
    page.goto(f"/agenda?view=week&day={upcoming.start_at.astimezone(PARIS).date().isoformat()}")
    doctor.check("agenda-week")
    assert page.locator(f"a[href$='/agenda/appointments/{upcoming.id}']").inner_text() == patient.full_name

    page.goto(f"/agenda?day={current.start_at.astimezone(PARIS).date().isoformat()}")
    page.locator(f"form[action$='/agenda/appointments/{current.id}/arrived'] button").click()
    page.wait_for_url("**/agenda?*")
    assert doctor.t("The patient is marked arrived.") in page.locator(".flash").inner_text()
    doctor.check("agenda-arrived")
    page.locator(f"a[href$='/agenda/appointments/{current.id}']").click()
    page.wait_for_url(f"**/agenda/appointments/{current.id}")
    doctor.check("appointment")
    page.get_by_role("link", name=doctor.t("Write in the notebook")).click()
    page.wait_for_url(f"**/patients/{patient.id}/notebook/new?appointment_id={current.id}")
    doctor.check("write-note")
    page.fill("#title", "Consultation du jour")
    page.fill("#body", "Tension 13/8. Revoir dans trois mois.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/patients/{patient.id}/notebook/entries/*")
    assert doctor.t("The entry is added to the notebook.") in page.locator(".flash").inner_text()
    note = db_entry_titled("Consultation du jour")
    assert note.appointment_id == current.id and note.author_practitioner_id == practitioner.id
    page.goto(f"/patients/{patient.id}/notebook")
    doctor.check("notebook-practitioner")
    assert "Suivi psychologique" in page.locator("main").inner_text()

    me = open_visit()
    log_in(me, patient.account)
    page = me.page
    page.goto("/notebook")
    page.wait_for_url(f"**/patients/{patient.id}/notebook")
    me.check("notebook-patient")
    page.locator(f"a[href$='/notebook/entries/{note.id}']").first.click()
    assert "Tension 13/8. Revoir dans trois mois." in page.locator(".entry-body").inner_text()
    me.check("entry-patient")
    page.goto(f"/patients/{patient.id}/notebook/access-log")
    me.check("access-log")
    assert practitioner.full_name in page.locator("main table").inner_text()

    page.goto(f"/patients/{patient.id}/notebook/entries/{private.id}")
    page.check(f"#hide-{practitioner.id}")
    page.locator("form[action$='/masking'] button[type=submit]").click()
    assert me.t("Who sees this entry is updated.") in page.locator(".flash").inner_text()
    assert page.is_checked(f"#hide-{practitioner.id}")
    me.check("entry-masked")

    page = doctor.page
    page.goto(f"/patients/{patient.id}/notebook")
    main = page.locator("main").inner_text()
    assert "Consultation du jour" in main and "Suivi psychologique" not in main
    response = page.goto(f"/patients/{patient.id}/notebook/entries/{private.id}")
    assert response.status == 404


def db_entry_titled(title: str) -> NotebookEntry:
    entries = [entry for entry in db.session.scalars(sa.select(NotebookEntry)) if entry.title == title]
    assert len(entries) == 1
    return entries[0]
