"""The main menu: each feature registers its entries for the roles that use them."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object  # a lazy translated string
    roles: frozenset
    order: int
    # For roles whose members differ (a clinic secretary or accountant, a practitioner not verified yet).
    when: Callable | None = None

    def shown_to(self, user) -> bool:
        return user.role in self.roles and (self.when is None or self.when(user))


_entries: list[NavEntry] = []


def register_nav(endpoint: str, label, roles, order: int = 50, *, when: Callable | None = None) -> None:
    if not any(entry.endpoint == endpoint for entry in _entries):
        _entries.append(NavEntry(endpoint, label, frozenset(roles), order, when))


def navigation_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    return [
        {"url": url_for(entry.endpoint), "label": entry.label}
        for entry in sorted(_entries, key=lambda entry: entry.order)
        if entry.shown_to(current_user)
    ]


# Where each kind of user lands after login, registered by the features
# (accounts knows none of them); the first provider with an answer wins.
_landings: list[Callable] = []


def register_landing(provider: Callable) -> None:
    """`provider(user)` → a URL for the users it knows, None for the others."""
    if provider not in _landings:
        _landings.append(provider)


def landing_url(user, fallback: str) -> str:
    return next((url for provider in _landings if (url := provider(user))), fallback)
