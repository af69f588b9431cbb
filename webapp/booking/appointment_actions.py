"""Actions other features put beside an appointment on the agenda page.

Booking knows nothing of them: the notebook, for one, registers a provider
that returns its links for an appointment and the signed-in user.
"""

from collections.abc import Callable
from dataclasses import dataclass

from webapp.accounts.models import User
from webapp.booking.models import Appointment


@dataclass(frozen=True)
class AppointmentAction:
    label: object  # a lazy translated string
    url: str
    primary: bool = False
    # Variants of the action as (label, url), e.g. one link per kind of notebook entry.
    choices: tuple = ()


ActionProvider = Callable[[Appointment, User], list[AppointmentAction]]

_providers: list[ActionProvider] = []


def register_appointment_actions(provider: ActionProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def appointment_actions(appointment: Appointment, user: User) -> list[AppointmentAction]:
    return [action for provider in _providers for action in provider(appointment, user)]
