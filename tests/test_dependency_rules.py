"""The dependency rule of ../shared/DESIGN.md ("How the features depend on each
other"): `notifications`, `audit` and `api` know no feature at all, so a
feature can use them without a cycle. A notification gets its data (a user
id, an address) when it is enqueued; an account's notification settings page
lives in accounts."""

import ast
from pathlib import Path

import pytest

import webapp

WEBAPP = Path(webapp.__file__).parent
# The packages users see, and the app-level modules that import them.
FEATURES = {"accounts", "booking", "billing", "notebook", "dmp", "invitations", "privacy", "site",
            "demo", "demo_contacts", "jobs"}


def feature_imports(path: Path) -> list[str]:
    """The feature modules a file imports, at any depth (in a function too)."""
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
        found += [module for module in modules
                  if module.split(".")[0] == "webapp" and len(module.split(".")) > 1
                  and module.split(".")[1] in FEATURES]
    return found


@pytest.mark.parametrize("package", ["notifications", "audit", "api"])
def test_shared_package_imports_no_feature(package):
    offenders = {str(path.relative_to(WEBAPP)): modules for path in sorted((WEBAPP / package).rglob("*.py"))
                 if (modules := feature_imports(path))}
    assert offenders == {}


def test_the_rule_sees_an_import_of_a_feature(tmp_path):
    # The check itself: each way of importing a feature is caught.
    module = tmp_path / "module.py"
    module.write_text("from webapp.accounts.models import User\nimport webapp.booking\n"
                      "from webapp import billing\n\ndef f():\n    from webapp.db import now_utc\n")
    assert feature_imports(module) == ["webapp.accounts.models", "webapp.booking", "webapp.billing"]
