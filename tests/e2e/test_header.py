"""The header in Chromium: one row on a 390 px phone with its menu folded in a
disclosure that opens without script, the bar on a desktop, the logo and the
site icon loaded (no 404), axe clean."""

import pytest

from tests import factories
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, log_in

pytestmark = pytest.mark.browser

PHONE_390 = {"width": 390, "height": 844}


def test_header_fits_a_phone_and_opens_its_menu(open_visit):
    visit = open_visit()
    page = visit.page
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    log_in(visit, factories.make_patient(user_overrides={"locale": visit.locale}).account)
    page.goto("/account")
    assert page.locator(".brand img").evaluate("img => img.complete && img.naturalWidth > 0")
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    # Desktop: the menu bar, no disclosure.
    assert page.locator(".site-nav-wide").is_visible() and not page.locator(".site-menu").is_visible()
    visit.check("header")
    page.set_viewport_size(PHONE_390)
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 70, f"the header is {header['height']} px high on a 390 px phone"
    assert not page.locator(".site-nav-wide").is_visible()
    menu = page.locator(".site-menu")
    assert menu.is_visible() and not menu.locator("nav").is_visible()
    menu.locator("summary").click()
    account_link = menu.locator("nav a", has_text=visit.t("My account"))
    assert account_link.is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"header-menu-open-{visit.locale}-390.png")
    results = page.evaluate("() => axe.run()")
    assert not [v["id"] for v in results["violations"] if v["impact"] in ("serious", "critical")]
    account_link.click()
    page.wait_for_url("**/account")
    page.set_viewport_size(DESKTOP)
    assert not missing, missing
