"""The dependency rules of ../shared/DESIGN.md ("How the features depend on
each other"), checked on every import of every module, in functions too:
`notifications`, `audit` and `api` know no feature at all, so a feature can
use them without a cycle (a notification gets its data, a user id or an
address, when it is enqueued); `accounts` knows no feature above it; booking
and billing never read the notebook; the notebook never imports the connector
that listens to it."""

import ast
from pathlib import Path

import pytest

import webapp

WEBAPP = Path(webapp.__file__).parent
# The packages users see, and the app-level modules that import them.
FEATURES = {"accounts", "booking", "billing", "notebook", "dmp", "fhir", "invitations", "privacy", "site",
            "demo", "demo_contacts", "jobs"}


def imported_modules(path: Path) -> list[str]:
    """Every module a file imports, at any depth (in a function too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from webapp import booking` names the package in the alias.
            modules = ([f"webapp.{alias.name}" for alias in node.names] if node.module == "webapp"
                       else [node.module])
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += modules
    return found


def imports_of(package: str, forbidden: set[str]) -> dict[str, list[str]]:
    """The modules of `package` that import one of the `forbidden` top-level
    parts of webapp, with what they import."""

    def forbidden_part(module: str) -> bool:
        parts = module.split(".")
        return parts[0] == "webapp" and len(parts) > 1 and parts[1] in forbidden

    return {str(path.relative_to(WEBAPP)): modules for path in sorted((WEBAPP / package).rglob("*.py"))
            if (modules := [module for module in imported_modules(path) if forbidden_part(module)])}


@pytest.mark.parametrize("package", ["notifications", "audit", "api"])
def test_shared_package_imports_no_feature(package):
    assert imports_of(package, FEATURES) == {}


def test_accounts_knows_no_feature_above_it():
    assert imports_of("accounts", FEATURES - {"accounts"}) == {}


@pytest.mark.parametrize("package", ["booking", "billing"])
def test_booking_and_billing_never_read_the_notebook(package):
    assert imports_of(package, {"notebook", "dmp"}) == {}


def test_the_notebook_never_imports_the_connector():
    assert imports_of("notebook", {"dmp"}) == {}


def test_the_rule_sees_an_import_of_a_feature(tmp_path):
    # The check itself: each way of importing is seen, in a function too.
    module = tmp_path / "module.py"
    module.write_text("from webapp.accounts.models import User\nimport webapp.booking\n"
                      "from webapp import billing\n\ndef f():\n    from webapp.notebook import reading\n")
    assert sorted(imported_modules(module)) == ["webapp.accounts.models", "webapp.billing", "webapp.booking",
                                                "webapp.notebook"]
