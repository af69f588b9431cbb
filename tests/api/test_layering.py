"""The shared packages hide no cycle behind an import in a function, and the API
layer gets its token authenticator from accounts by injection (which features
may import which: tests/test_dependency_rules.py)."""

import ast
from pathlib import Path

import webapp
from webapp.accounts.api_tokens import authenticate_api_token

WEBAPP = Path(webapp.__file__).parent


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, imported inside a function or class) for every import of a file."""
    found = []

    def visit(node, nested):
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            if isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, nested))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, nested) for alias in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return found


def test_shared_packages_import_nothing_inside_functions():
    # An import inside a function is how a cycle hides; these packages have none.
    for package in ("api", "accounts", "notifications", "site"):
        for path in (WEBAPP / package).rglob("*.py"):
            nested = [module for module, is_nested in imported_modules(path)
                      if is_nested and module.startswith("webapp")]
            assert nested == [], f"{path.relative_to(WEBAPP)}: {nested}"


def test_accounts_registers_its_token_authenticator(app):
    assert app.extensions["carnet_token_authenticator"] is authenticate_api_token
