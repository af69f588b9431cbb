"""A newcomer books from the home page, then manages their appointments."""

import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import User
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.extensions import db

pytestmark = pytest.mark.browser

MAX_ACTIONS_TO_BOOK = 6


def test_newcomer_books_from_the_home_page_then_cancels_another_appointment(open_visit):
    practitioner, reason = open_practice(factories.make_practitioner(
        last_name="Rousseau", specialty="general_practitioner", city="Lyon", postcode="69003"),
        hours=("09:00", "12:00"))
    factories.make_practitioner(last_name="Elsewhere", city="Brest", postcode="29200")
    visit = open_visit()
    page = visit.page
    actions = 0

    page.goto("/")
    visit.check("home")
    page.fill("#q", "généraliste Lyon")
    page.locator("form[role=search] button[type=submit]").click()
    actions += 1
    page.wait_for_url("**/search?**")
    visit.check("search")
    results = page.locator("ul.results > li")
    assert results.count() == 1
    assert "Rousseau" in results.inner_text()

    results.locator("h3 a").click()
    actions += 1
    page.wait_for_url(f"**/practitioners/{practitioner.id}**")
    visit.check("practitioner")

    first_slot = page.locator("button.slot:visible").first
    slot_time = first_slot.inner_text().split("—")[0].split()[-1]
    first_slot.click()
    actions += 1
    page.wait_for_url(re.compile(r"/book/hold/\d+$"))
    visit.check("confirm")
    assert slot_time in page.locator("dl.facts").inner_text()
    page.fill("#signup-first_name", "Léa")
    page.fill("#signup-last_name", "Martin")
    page.fill("#signup-birth_date", "1990-04-12")
    page.fill("#signup-email", f"lea.martin.{visit.locale}@example.com")
    page.fill("#signup-phone", "+33 6 12 34 56 78")
    page.fill("#signup-password", factories.PASSWORD)
    page.locator("#signup-title ~ form button[type=submit]").click()
    actions += 1

    page.wait_for_url(re.compile(r"/appointments/\d+$"))
    assert actions <= MAX_ACTIONS_TO_BOOK
    assert visit.t("Your appointment is booked.") in page.locator(".flash").inner_text()
    assert visit.t("Booked") in page.locator(".badge").inner_text()
    visit.check("confirmation")
    email = f"lea.martin.{visit.locale}@example.com"
    patient = db.session.scalar(sa.select(User).where(User.email == email)).patient_profile
    booked = db.session.scalar(sa.select(Appointment).where(Appointment.patient_id == patient.id))
    assert page.url.endswith(f"/appointments/{booked.id}") and booked.status is AppointmentStatus.BOOKED

    other = make_appointment(practitioner, patient, local_start(20, 15), reason=reason)
    page.goto("/appointments")
    visit.check("my-appointments")
    page.locator(f"a[href$='/appointments/{other.id}/cancel/confirm']").click()
    page.wait_for_url(f"**/appointments/{other.id}/cancel/confirm")
    visit.check("cancel-confirm")
    page.fill("#reason", "Empêchement")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/appointments/{other.id}")
    assert visit.t("Your appointment is cancelled.") in page.locator(".flash").inner_text()
    visit.check("cancelled")
    db.session.expire_all()
    assert db.session.get(Appointment, other.id).status is AppointmentStatus.CANCELLED
    assert db.session.get(Appointment, booked.id).status is AppointmentStatus.BOOKED
