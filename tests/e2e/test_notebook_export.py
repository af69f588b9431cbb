"""The notebook's PDF export in Chromium: the password asked again, then the
download starts by itself and the tab is back on the notebook; a glucose
measurement added without touching the unit."""

import pathlib

import pytest

from tests import factories
from tests.billing.pdf_reading import flat, pdf_pages
from tests.e2e.conftest import log_in
from tests.notebook.factories import make_entry

pytestmark = pytest.mark.browser


def test_export_ends_on_the_notebook_with_the_pdf_downloaded(open_visit, locale):
    patient = factories.make_patient(first_name="Léa", last_name="Roux", user_overrides={"locale": locale})
    make_entry(patient, kind="allergy", title="", data={"substance": "Arachide", "reaction": "Œdème",
                                                         "severity": "severe"})
    visit = open_visit()
    log_in(visit, patient.account)
    page = visit.page
    notebook = f"/patients/{patient.id}/notebook"
    page.goto(notebook)
    # The unit list keeps the chosen type's units, its usual one selected (with the page script).
    page.goto(f"{notebook}/new?kind=measurement")
    page.select_option("#measurement_type", "glucose")
    assert page.locator("#unit").input_value() == "g/L"
    assert page.locator("#unit option:not([disabled])").all_inner_texts() == ["g/L", "mmol/L"]
    page.fill("#value", "1.08")
    visit.check("measurement-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/entries/*")
    page.goto(notebook)
    page.get_by_role("link", name=visit.t("Export as PDF")).click()
    page.wait_for_url(lambda url: "/account/confirm?next=" in url)
    page.fill("#password", factories.PASSWORD)
    with page.expect_download() as download_info:
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: f"{notebook}?download=" in url)
    download = download_info.value
    pages = pdf_pages(pathlib.Path(download.path()).read_bytes())
    assert "Arachide" in flat(pages[0]) and flat(pages[0]).endswith(f" 1 / {len(pages)}")
    assert page.get_by_role("heading", level=1).inner_text() == visit.t("Health notebook of %(name)s",
                                                                         name="Léa Roux")
    visit.check("notebook-after-export")
