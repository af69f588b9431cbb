"""Privacy test cast: a patient account with a relative, visits, notebook entries and settings (committed)."""

from dataclasses import dataclass

from tests import factories
from tests.booking.factories import local_start, make_appointment, make_visit_reason
from tests.notebook.factories import make_attachment, make_entry, make_treating_practitioner, mask_entry, past
from webapp.accounts.models import User
from webapp.accounts.notification_settings import set_notification_choices
from webapp.booking.models import AppointmentStatus, WaitlistEntry
from webapp.extensions import db
from webapp.notebook.models import AccessAction, AccessLogEntry
from webapp.notifications.models import Category, Channel


@dataclass
class Household:
    account: User
    own: object
    child: object
    practitioner: object
    practitioner_entry: object
    patient_entry: object


def make_household() -> Household:
    """A patient who acts for a child; a practitioner who saw both and wrote in the patient's notebook."""
    own = factories.make_patient(email="lucie.contact@example.com", phone="0601020304")
    account = own.account
    child = factories.make_relative(account, email="famille@example.com", phone="0605060708")
    practitioner = make_treating_practitioner(own)
    make_appointment(practitioner, child, past(10), status=AppointmentStatus.COMPLETED)
    practitioner_entry = make_entry(own, author=practitioner.user, kind="report", title="Compte rendu",
                                    body="Tension stable.")
    make_attachment(practitioner_entry)
    patient_entry = make_entry(own, title="Mon suivi", body="Je dors mieux.")
    mask_entry(patient_entry, practitioner)
    db.session.add(AccessLogEntry(patient_id=own.id, actor_user_id=practitioner.user.id,
                                  actor_role=practitioner.user.role, action=AccessAction.VIEW_NOTEBOOK))
    db.session.add(WaitlistEntry(practitioner_id=practitioner.id, patient_id=own.id,
                                 visit_reason_id=make_visit_reason(practitioner).id,
                                 before_at=local_start(20), created_by_user_id=account.id))
    set_notification_choices(account, {(Category.REMINDERS, Channel.SMS): False}, by=account)
    db.session.commit()
    return Household(account, own, child, practitioner, practitioner_entry, patient_entry)

