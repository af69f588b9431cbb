"""A newcomer books a first appointment from the home page, on a desktop and a
phone screen, in at most MAX_ACTIONS actions.

An action is a click, a choice in a list or the submission of a form; typing
into a form's fields is part of its submission. The test counts them, times
the journey (without the time its own checks take), runs axe on every page it
visits, saves screenshots to test-artifacts/screenshots/ and prints the
figures (also written to test-artifacts/journeys/), so they can be reported.
"""

import json
import re
import time

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import open_practice
from tests.e2e.conftest import BLOCKING_IMPACTS, PROJECT_ROOT, SCREENSHOTS
from webapp.accounts.models import User
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.extensions import db

pytestmark = pytest.mark.browser

MAX_ACTIONS = 6
JOURNEYS = PROJECT_ROOT / "test-artifacts" / "journeys"
SCREENS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


class Journey:
    """Counts the user's actions, and checks each page at the screen's width
    (axe, no horizontal scrolling, a screenshot) outside the timed span."""

    def __init__(self, visit, screen: str):
        self.visit, self.page, self.screen = visit, visit.page, screen
        self.width = SCREENS[screen]["width"]
        self.actions: list[str] = []
        self.pages: list[str] = []
        self.checking = 0.0
        self.page.set_viewport_size(SCREENS[screen])

    def act(self, what: str, locator) -> None:
        locator.click()
        self.actions.append(what)

    def check(self, name: str) -> None:
        started = time.monotonic()
        page = self.page
        page.wait_for_load_state("load")
        results = page.evaluate("() => axe.run()")
        blocking = [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
                    + "; ".join(node["target"][0] for node in violation["nodes"][:5])
                    for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {name} at {self.width} px ({page.url}):\n" + "\n".join(blocking)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= self.width, f"{name} is {width} px wide on a {self.width} px screen"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"newcomer-journey-{name}-{self.width}.png", full_page=True)
        self.pages.append(name)
        self.checking += time.monotonic() - started


@pytest.mark.parametrize("locale", ["fr"])
@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_newcomer_books_from_the_home_page_in_six_actions_at_most(open_visit, screen):
    practitioner, reason = open_practice(factories.make_practitioner(
        first_name="Jean", last_name="Lefèvre", specialty="dermatologist", city="Lyon", postcode="69003"),
        hours=("09:00", "12:00"))
    factories.make_practitioner(last_name="Rousseau", specialty="general_practitioner", city="Lyon")
    email = f"lea.martin.{screen}@example.com"
    journey = Journey(open_visit(), screen)
    page = journey.page
    started = time.monotonic()

    page.goto("/")
    journey.check("home")
    page.fill("#q", "dermato")
    journey.act("search", page.locator("form[role=search] button[type=submit]"))
    page.wait_for_url("**/search?**")
    journey.check("results")
    results = page.locator("ul.results > li")
    assert results.count() == 1 and "Lefèvre" in results.inner_text()

    first_slot = results.locator("button.slot").first
    slot_text = first_slot.inner_text().split("—")[0].strip()
    journey.act("slot in the results", first_slot)
    page.wait_for_url(re.compile(r"/book/hold/\d+$"))
    journey.check("confirmation")
    assert slot_text.split()[-1] in page.locator("dl.facts").inner_text()  # the time clicked

    page.fill("#signup-first_name", "Léa")
    page.fill("#signup-last_name", "Martin")
    page.fill("#signup-birth_date", "1990-04-12")
    page.fill("#signup-email", email)
    page.fill("#signup-phone", "06 12 34 56 78")
    page.fill("#signup-password", factories.PASSWORD)
    journey.act("create the account and book", page.locator("#signup-title ~ form button[type=submit]"))
    page.wait_for_url(re.compile(r"/appointments/\d+$"))
    elapsed = time.monotonic() - started - journey.checking
    journey.check("booked")

    assert journey.visit.t("Your appointment is booked.") in page.locator(".flash").inner_text()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    booked = db.session.scalar(sa.select(Appointment).where(Appointment.patient_id == user.patient_profile.id))
    assert booked.status is AppointmentStatus.BOOKED and booked.visit_reason_id == reason.id
    assert page.url.endswith(f"/appointments/{booked.id}")

    summary = {"journey": "newcomer", "screen": screen, "width": journey.width, "actions": len(journey.actions),
               "steps": journey.actions, "seconds": round(elapsed, 2), "pages_checked": journey.pages}
    JOURNEYS.mkdir(parents=True, exist_ok=True)
    (JOURNEYS / f"newcomer-{journey.width}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"\nnewcomer journey at {journey.width} px: {len(journey.actions)} actions "
          f"({', '.join(journey.actions)}), {elapsed:.1f} s; axe clean on {', '.join(journey.pages)}")
    assert len(journey.actions) <= MAX_ACTIONS, journey.actions
