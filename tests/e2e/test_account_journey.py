"""A patient sets their phone, sees which notification channels they can use,
and moves an appointment into the no-cancellation window after a clear warning."""

import re

import pytest

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from tests.e2e.conftest import log_in
from webapp.booking.models import Appointment
from webapp.extensions import db

pytestmark = pytest.mark.browser


def test_patient_sets_a_phone_then_moves_into_the_window_knowingly(open_visit):
    practitioner, reason = open_practice(factories.make_practitioner(last_name="Rousseau", phone="+33142000000"),
                                         cancellation_deadline_hours=48)
    visit = open_visit()
    patient = factories.make_patient(user_overrides={"email_confirmed_at": factories.now_utc(),
                                                     "locale": visit.locale})
    appointment = make_appointment(practitioner, patient, local_start(6, 10), reason=reason)
    page = visit.page
    log_in(visit, patient.account)

    page.goto("/account/notifications")
    assert page.locator("#sms-unavailable").is_visible()
    assert page.locator("#reminders_sms").is_disabled()
    visit.check("notifications-without-phone")

    page.goto("/account")
    page.locator("a[href='/account/profile']").click()
    page.wait_for_url("**/account/profile")
    page.fill("#phone", "06 12 34 56 78")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account/profile")
    assert visit.t("Your profile is saved.") in page.locator(".flash").inner_text()
    visit.check("profile")
    page.goto("/account/notifications")
    assert not page.locator("#reminders_sms").is_disabled()

    page.goto(f"/appointments/{appointment.id}")
    assert "01 42 00 00 00" in page.locator("address.practice-contact").inner_text()
    visit.check("appointment")
    page.goto(f"/appointments/{appointment.id}/reschedule?week={local_start(1).date().isoformat()}")
    visit.check("move-picker")
    page.locator("button.slot:has(.slot-note)").first.click()
    page.wait_for_url(re.compile(rf"/appointments/{appointment.id}/reschedule/confirm\?start="))
    assert page.locator("#window-warning").is_visible()
    assert "01 42 00 00 00" in page.locator("#window-warning").inner_text()
    visit.check("move-confirm")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/appointments/{appointment.id}")
    assert visit.t("Your appointment is moved.") in page.locator(".flash").inner_text()
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).start_at < local_start(6, 10)
