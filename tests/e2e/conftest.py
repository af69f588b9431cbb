"""Chromium (Debian's, driven by Playwright) against the live server: one
browser per session, one fresh context (cookies, language) per user, and
`Visit.check(name)` that every page of a journey goes through: axe-core
finds no serious or critical violation, nothing overflows a 360 px screen,
and screenshots at 1280 and 360 px land in test-artifacts/screenshots/."""

import pathlib

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import sync_playwright

from tests import factories

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[2]
AXE_SCRIPT = PROJECT_ROOT / ".venv" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
BLOCKING_IMPACTS = {"serious", "critical"}
LOCALES = ("fr", "en")


@pytest.fixture(scope="session")
def browser():
    assert AXE_SCRIPT.is_file(), f"axe-core is missing at {AXE_SCRIPT}: run ./scripts/test (it installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(params=LOCALES)
def locale(request):
    return request.param


class Visit:
    """One user's browser tab in one language, with the checks every page gets."""

    def __init__(self, browser, base_url: str, locale: str, journey: str, app):
        self.context = browser.new_context(base_url=base_url, locale=locale, viewport=DESKTOP)
        self.context.set_default_timeout(10_000)
        # The pages' strict CSP refuses injected <script> tags (add_script_tag); an init
        # script comes through the DevTools protocol, so the CSP stays on as in production.
        self.context.add_init_script(path=AXE_SCRIPT)
        self.page = self.context.new_page()
        self.dialogs = []  # messages of every dialog the page opened (data-confirm buttons ask first)
        self.page.on("dialog", self._accept)
        self.locale, self.journey, self.app = locale, journey, app
        self.checked = []

    def _accept(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def t(self, message: str, **values) -> str:
        """A message as the app shows it in this tab's language (read from the catalogs)."""
        with self.app.test_request_context(), force_locale(self.locale):
            return gettext(message, **values)

    def check(self, name: str) -> None:
        """Accessibility, 360 px layout and screenshots of the page as it is now."""
        page = self.page
        results = page.evaluate("() => axe.run()")
        blocking = [f"{violation['id']} ({violation['impact']}): {violation['help']} — "
                    + "; ".join(node["target"][0] for node in violation["nodes"][:5])
                    for violation in results["violations"] if violation["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {name} ({self.locale}, {page.url}):\n" + "\n".join(blocking)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        stem = f"{self.journey}-{name}-{self.locale}"
        page.screenshot(path=SCREENSHOTS / f"{stem}-1280.png", full_page=True)
        page.set_viewport_size(PHONE)
        try:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            page.screenshot(path=SCREENSHOTS / f"{stem}-360.png", full_page=True)
        finally:
            page.set_viewport_size(DESKTOP)
        assert width <= PHONE["width"], f"{name} ({self.locale}) is {width} px wide on a 360 px screen"
        self.checked.append(name)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_visit(browser, live_server, app, locale, request):
    """`open_visit()` → a new `Visit` (separate cookies) in the test's language."""
    visits = []

    def open_():
        visit = Visit(browser, live_server, locale, request.node.originalname.removeprefix("test_"), app)
        visits.append(visit)
        return visit

    yield open_
    for visit in visits:
        visit.close()


def log_in(visit: Visit, user) -> None:
    """Log in through the pages; the TOTP code is computed from the user's secret."""
    page = visit.page
    page.goto("/login")
    page.fill("#email", user.email)
    page.fill("#password", factories.PASSWORD)
    page.locator("main form button[type=submit]").click()
    if user.role.requires_totp:
        page.wait_for_url("**/login/code")
        visit.check("login-code")
        page.fill("#code", factories.totp_now(user))
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
