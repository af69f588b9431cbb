"""Markup typed into free-text fields comes back as text, for the writer and the reader (no script runs)."""

import pytest

from tests import factories
from tests.booking.factories import open_practice
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="alert(\'img\')"><script>alert("script")</script>"><svg onload=alert(1)>'


@pytest.mark.parametrize("locale", ["fr"])
def test_markup_in_a_booking_message_and_a_notebook_entry_is_shown_as_text(open_visit):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    me = open_visit()
    log_in(me, patient.account)
    page = me.page

    page.goto(f"/practitioners/{practitioner.id}")
    page.locator("button.slot:visible").first.click()
    page.wait_for_url("**/book/hold/*")
    page.fill("#message", PAYLOAD)
    page.check("#share_notebook_ahead")  # so the practitioner reads the notebook before the visit
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/appointments/*")
    assert PAYLOAD in page.locator("dl.facts").inner_text()
    appointment_url = page.url

    page.goto(f"/patients/{patient.id}/notebook/new")
    page.fill("#title", PAYLOAD)
    page.fill("#body", PAYLOAD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/notebook/entries/*")
    assert PAYLOAD in page.locator(".entry-body").inner_text()
    entry_path = page.url.removeprefix(page.url.split("/patients/")[0])
    page.goto(f"/patients/{patient.id}/notebook")
    assert page.locator("main").inner_text().count(PAYLOAD) >= 2

    doctor = open_visit()
    log_in(doctor, practitioner.user)
    doctor.page.goto(appointment_url.replace("/appointments/", "/agenda/appointments/"))
    assert PAYLOAD in doctor.page.locator("dl.facts").inner_text()
    doctor.page.goto(entry_path)
    assert PAYLOAD in doctor.page.locator(".entry-body").inner_text()

    for visit in (me, doctor):
        visit.page.wait_for_timeout(200)  # let any injected handler fire before looking
        assert visit.dialogs == []
        assert visit.page.locator("main img, main svg, main script").count() == 0
