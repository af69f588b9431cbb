"""The main menu: each feature registers its entries for the roles that use them."""

from dataclasses import dataclass

from flask import url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy translated string
    roles: frozenset
    order: int
    verified_only: bool = False  # hidden from practitioners not verified yet (nothing there for them)


_entries: list[NavEntry] = []


def register_nav(endpoint: str, label, roles, order: int = 50, *, verified_only: bool = False) -> None:
    if not any(entry.endpoint == endpoint for entry in _entries):
        _entries.append(NavEntry(endpoint, label, frozenset(roles), order, verified_only))


def navigation_items() -> list[dict]:
    # Imported here: the features import this module while they load, accounts among them.
    from webapp.accounts.verification import is_unverified_practitioner

    if not current_user.is_authenticated:
        return []
    unverified = is_unverified_practitioner(current_user)
    return [
        {"url": url_for(entry.endpoint), "label": entry.label}
        for entry in sorted(_entries, key=lambda entry: entry.order)
        if current_user.role in entry.roles and not (entry.verified_only and unverified)
    ]
