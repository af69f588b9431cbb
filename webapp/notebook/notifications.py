"""Notebook's messages: receivers of `webapp.notebook.signals` that queue them in the writing transaction.

The patient side hears them: the profile's own account, else every account
acting for it (a parent for a child); the operator hears of a practitioner
refused beyond the daily limit of emergency accesses. The mails carry no health content:
who acted and a link to Carnet, never an entry's text.
"""

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PatientProxy, PractitionerProfile, User
from webapp.accounts.staff import operator_recipients
from webapp.crypto import decrypt
from webapp.extensions import db
from webapp.notebook import signals
from webapp.notebook.models import EmergencyAccess, NotebookEntry
from webapp.notifications import messages
from webapp.urls import external_url


def patient_side_accounts(patient: PatientProfile) -> list[User]:
    """The profile's own account, else the accounts acting for it."""
    if patient.account is not None:
        return [patient.account]
    return list(db.session.scalars(
        sa.select(User).join(PatientProxy, PatientProxy.user_id == User.id)
        .where(PatientProxy.patient_id == patient.id).order_by(User.id)
    ))


def on_emergency_access_granted(sender, *, grant: EmergencyAccess, **extra) -> None:
    """Tell the patient side who opened the notebook, why, until when (a
    security notice). A profile with no account is told at the email given
    at the desk."""
    recipients = [(user.email, user.locale, user.id) for user in patient_side_accounts(grant.patient)]
    if not recipients and grant.patient.email:
        recipients = [(grant.patient.email, None, None)]
    # The key names the grant and the recipient: a retried transaction queues each notice once.
    for email, locale, user_id in recipients:
        messages.notify_emergency_access(
            key=f"emergency-access:{grant.id}:{user_id or 'profile'}", to=email, locale=locale,
            practitioner_name=grant.practitioner.full_name, reason=decrypt(grant.reason).decode(),
            granted_at=grant.granted_at, expires_at=grant.expires_at,
            access_log_url=external_url("notebook.access_log", patient_id=grant.patient_id), user_id=user_id,
        )


def on_emergency_access_limit_reached(sender, *, practitioner: PractitionerProfile, actor: User,
                                      last_grant_id: int | None, limit: int, **extra) -> None:
    """Alert the operator that a practitioner was refused an emergency access
    beyond the daily limit: once per practitioner until their next grant."""
    # Keyed on the practitioner's last grant: further refusals the same day repeat the key
    # and queue nothing, a new grant starts a new episode.
    episode = last_grant_id if last_grant_id is not None else "none"
    for email, locale, user_id in operator_recipients():
        messages.notify_emergency_access_limit(
            key=f"emergency-access-limit:{practitioner.id}:{episode}:{user_id or 'operator'}", to=email,
            locale=locale, practitioner_name=practitioner.full_name, rpps=practitioner.rpps, account_id=actor.id,
            limit=limit, audit_url=external_url("audit.events", actor_id=actor.id, action="notebook"),
            user_id=user_id,
        )


def on_practitioner_entry_added(sender, *, entry: NotebookEntry, **extra) -> None:
    """Tell the patient side a practitioner added to the notebook, with the link only."""
    # No content in the mail: what the practitioner wrote stays behind the login.
    for user in patient_side_accounts(entry.patient):
        messages.notify_notebook_entry(
            key=f"notebook-entry:{entry.id}:{user.id}", to=user.email, locale=user.locale,
            practitioner_name=entry.author_practitioner.full_name,
            notebook_url=external_url("notebook.patient_notebook", patient_id=entry.patient_id), user_id=user.id,
        )


def connect_notebook_notifications() -> None:
    """Connect the receivers (at app creation; connecting twice is harmless)."""
    signals.emergency_access_granted.connect(on_emergency_access_granted)
    signals.emergency_access_limit_reached.connect(on_emergency_access_limit_reached)
    signals.practitioner_entry_added.connect(on_practitioner_entry_added)
