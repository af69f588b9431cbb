"""A practitioner signs up pending; the back office compares them with the RPPS directory and verifies them."""

import pytest

from tests import factories
from tests.e2e.conftest import log_in
from webapp.accounts.directory import import_directory
from webapp.accounts.models import Role
from webapp.demo import DIRECTORY_SAMPLE
from webapp.extensions import db
from webapp.transaction import transaction

pytestmark = pytest.mark.browser


def test_back_office_verifies_a_pending_practitioner(open_visit, locale):
    with transaction():
        import_directory(DIRECTORY_SAMPLE)
    haddad = factories.make_practitioner(first_name="Nadia", last_name="Haddad", rpps="99700001003",
                                         verification="pending", user_overrides={"locale": locale})
    factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                specialty="cardiologist", verification="pending")

    doctor = open_visit()
    log_in(doctor, haddad.user)
    doctor.page.goto("/account")
    banner = doctor.page.locator(".verification-banner").inner_text()
    assert doctor.t("Your account is awaiting verification.") in banner
    doctor.check("pending-account")

    operator = open_visit()
    log_in(operator, factories.make_staff(role=Role.ADMIN, locale=locale))
    page = operator.page
    page.goto("/backoffice/practitioners")
    operator.check("pending-list")
    card = page.locator(f"section[aria-labelledby='practitioner-{haddad.id}']")
    card.locator(f"#verify-{haddad.id}-method-1").check()  # the RPPS directory
    card.locator(f"#verify-{haddad.id}-note").fill("Annuaire concordant")
    card.locator("form[action$='/verify'] button[type=submit]").click()
    page.wait_for_url("**/backoffice/practitioners")
    assert "Nadia Haddad" in page.locator(".flash").inner_text()
    operator.check("verified")
    db.session.expire_all()
    assert haddad.is_verified

    doctor.page.goto("/account")
    assert doctor.page.locator(".verification-banner").count() == 0
