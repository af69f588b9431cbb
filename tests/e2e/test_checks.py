"""The page checks themselves: they must fail on an inaccessible or too wide page."""

import pytest

pytestmark = pytest.mark.browser

INACCESSIBLE = '<!doctype html><html lang="en"><title>Test</title><main><img src="/static/x.png"></main></html>'
TOO_WIDE = '<!doctype html><html lang="en"><title>Test</title><main><h1>Test</h1><pre>{}</pre></main></html>'


@pytest.mark.parametrize("locale", ["en"])
def test_an_image_without_text_alternative_fails_the_accessibility_check(open_visit):
    visit = open_visit()
    visit.page.set_content(INACCESSIBLE)
    with pytest.raises(AssertionError, match="image-alt"):
        visit.check("inaccessible")


@pytest.mark.parametrize("locale", ["en"])
def test_a_page_wider_than_a_phone_fails_the_layout_check(open_visit):
    visit = open_visit()
    visit.page.set_content(TOO_WIDE.format("x" * 200))
    with pytest.raises(AssertionError, match="wide on a 360 px screen"):
        visit.check("too-wide")
