"""One function per message that other features send; each takes plain data.

Call them inside the transaction of the change they announce. `key` names
the purpose and makes the call idempotent (suggested forms are given on
each function); `locale` is the recipient's (`user.locale`); datetimes are
timezone-aware and shown in `timezone` (the practitioner's); URLs are
absolute (`webapp.urls.external_url`). Messages never carry health data
beyond what the recipient chose to book (no notebook content).
"""

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from flask import current_app

from webapp.db import now_utc
from webapp.notifications.drafts import Later
from webapp.notifications.models import Category
from webapp.notifications.services import cancel_notifications, enqueue_email, enqueue_sms

DEFAULT_TIMEZONE = "Europe/Paris"
ICS_MIME_TYPE = "text/calendar"


def token_key(purpose: str, user_id: int, token: str) -> str:
    """A key for a message carrying a one-time link: one per link, never the link itself."""
    # The key is stored in clear: a digest keeps the link usable by nobody who reads the outbox.
    return f"{purpose}:{user_id}:{hashlib.sha256(token.encode()).hexdigest()[:24]}"


def _ics(ics: bytes | Later | None, method: str, name: str = "appointment.ics") -> tuple:
    """A calendar file as mail clients recognise an iTIP message (RFC 6047): its
    METHOD repeated on the content type, so the event is added, moved or removed.
    A `Later` is rendered by the sender (booking's invitation, from its facts)."""
    return ((name, ICS_MIME_TYPE, ics, {"charset": "utf-8", "method": method}),) if ics else ()


def notify_account_confirmation(*, key: str, to: str, locale: str | None, confirm_url: str, user_id: int) -> None:
    """Ask a new account to confirm its email address (key: `token_key("account-confirmation", ...)`)."""
    enqueue_email(key=key, to=to, template="account_confirmation", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"confirm_url": confirm_url,
                                            "days": current_app.config["CARNET_EMAIL_CONFIRMATION_DAYS"]})


def notify_email_change_link(*, key: str, to: str, locale: str | None, confirm_url: str, user_id: int) -> None:
    """Ask the new address of an account to confirm the move (key: `token_key("email-change", ...)`)."""
    enqueue_email(key=key, to=to, template="email_change", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"confirm_url": confirm_url,
                                            "days": current_app.config["CARNET_EMAIL_CONFIRMATION_DAYS"]})


def notify_email_change_requested(*, key: str, to: str, locale: str | None, user_id: int) -> None:
    """Tell the current address that a move to another one was asked (key: `email-change-requested:<id>:<time>`)."""
    enqueue_email(key=key, to=to, template="email_change_requested", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={})


def notify_password_reset(*, key: str, to: str, locale: str | None, reset_url: str, valid_minutes: int,
                          user_id: int) -> None:
    """Send a password-reset link (key: `token_key("password-reset", ...)`)."""
    enqueue_email(key=key, to=to, template="password_reset", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"reset_url": reset_url, "minutes": valid_minutes})


def notify_practitioner_verified(*, key: str, to: str, locale: str | None, method: str, account_url: str,
                                 user_id: int) -> None:
    """Tell a practitioner their account is verified: they are listed and
    bookable from now on (key: `practitioner-verified:<profile id>:<time, ISO>`)."""
    enqueue_email(key=key, to=to, template="practitioner_verified", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"method": method, "account_url": account_url})


def notify_practitioner_rejected(*, key: str, to: str, locale: str | None, reason: str, account_url: str,
                                 user_id: int) -> None:
    """Tell a practitioner the back office did not verify their account, and
    why (key: `practitioner-rejected:<profile id>:<time, ISO>`)."""
    enqueue_email(key=key, to=to, template="practitioner_rejected", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"reason": reason, "account_url": account_url})


def notify_patient_invitation(*, key: str, to: str, locale: str | None, first_name: str, practice_name: str,
                              claim_url: str, valid_days: int) -> None:
    """Invite a patient whose profile was created at the desk to claim it with an
    account; the link names no health data (key: `patient-invitation:<profile id>:<invitation id>`)."""
    enqueue_email(key=key, to=to, template="patient_invitation", locale=locale, category=Category.SECURITY,
                  context={"first_name": first_name, "practice_name": practice_name, "claim_url": claim_url,
                           "days": valid_days})


def notify_relative_invitation(*, key: str, to: str, locale: str | None, first_name: str, proxy_name: str,
                               claim_url: str, valid_days: int) -> None:
    """The account acting for a patient gives them their own account: the link
    to claim the profile (key: `patient-invitation:<profile id>:<invitation id>`)."""
    enqueue_email(key=key, to=to, template="relative_invitation", locale=locale, category=Category.SECURITY,
                  context={"first_name": first_name, "proxy_name": proxy_name, "claim_url": claim_url,
                           "days": valid_days})


def notify_proxy_removed(*, key: str, to: str, locale: str | None, user_id: int, patient_name: str,
                         proxy_name: str, removed_by_owner: bool, account_url: str) -> None:
    """Tell the other side that an account no longer acts for a profile: the
    removed proxy when the owner removed it, the owner when a proxy left
    (a security notice; key: `proxy-removed:<profile id>:<recipient id>:<time>`)."""
    enqueue_email(key=key, to=to, template="proxy_removed", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"patient_name": patient_name, "proxy_name": proxy_name,
                                            "removed_by_owner": removed_by_owner, "account_url": account_url})


def notify_profile_claimed(*, key: str, to: str, locale: str | None, patient_name: str, still_proxy: bool,
                           user_id: int | None = None) -> None:
    """Tell a former address of a profile, or an account acting for it, that the
    profile now has its own account (a security notice; key:
    `profile-claimed:<profile id>:<invitation id>:<recipient>`)."""
    enqueue_email(key=key, to=to, template="profile_claimed", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={"patient_name": patient_name, "still_proxy": still_proxy})


def notify_booking_confirmed(
    *, key: str, to: str, locale: str | None, patient_name: str, practitioner_name: str, starts_at: dt.datetime,
    address: str, manage_url: str, ics: bytes | Later | None, label: str | Later | None = None,
    timezone: str = DEFAULT_TIMEZONE, user_id: int | None = None, practice_phone: str | None = None,
    cancel_until: dt.datetime | None = None,
) -> None:
    """Confirm a booking to the patient, with the invitation `.ics` (METHOD:REQUEST) attached
    (key: `booking-confirmed:<appointment id>`).
    `label` is the appointment's title as booking lets it leave (a neutral one unless the reason is shown);
    `practice_phone` (as people read it) and `cancel_until` say until when to cancel online and whom to call after."""
    enqueue_email(key=key, to=to, template="booking_confirmed", locale=locale, category=Category.APPOINTMENTS,
                  user_id=user_id, attachments=_ics(ics, "REQUEST"), context={
                      "patient_name": patient_name, "practitioner_name": practitioner_name,
                      "starts_at": starts_at, "timezone": timezone, "address": address, "label": label,
                      "manage_url": manage_url, "practice_phone": practice_phone, "cancel_until": cancel_until})


def notify_booking_cancelled(
    *, key: str, to: str, locale: str | None, recipient_role: str, cancelled_by: str, counterpart_name: str,
    starts_at: dt.datetime, timezone: str = DEFAULT_TIMEZONE, book_url: str | None = None,
    ics: bytes | Later | None = None, reason: str | None = None, user_id: int | None = None,
    practice_phone: str | None = None,
) -> None:
    """Tell the patient or the practitioner (`recipient_role`) that an appointment is
    cancelled by the `"patient"` or the `"practitioner"` side (`cancelled_by`);
    `counterpart_name` is the other party, `reason` the one they gave, `practice_phone` whom the
    patient calls with a question. Attach the cancelling `.ics` (METHOD:CANCEL)
    if there is one (key: `booking-cancelled:<appointment id>:<recipient role>`)."""
    roles = {"patient", "practitioner"}
    if recipient_role not in roles or cancelled_by not in roles:
        raise ValueError("recipient_role and cancelled_by are 'patient' or 'practitioner'")
    enqueue_email(key=key, to=to, template="booking_cancelled", locale=locale, category=Category.APPOINTMENTS,
                  user_id=user_id, attachments=_ics(ics, "CANCEL"), context={
                      "recipient_role": recipient_role, "cancelled_by": cancelled_by,
                      "counterpart_name": counterpart_name, "starts_at": starts_at, "timezone": timezone,
                      "book_url": book_url, "reason": reason,
                      "practice_phone": practice_phone if recipient_role == "patient" else None})


def notify_booking_rescheduled(
    *, key: str, to: str, locale: str | None, practitioner_name: str, previous_starts_at: dt.datetime,
    starts_at: dt.datetime, address: str, manage_url: str, ics: bytes | Later | None, label: str | Later | None = None,
    timezone: str = DEFAULT_TIMEZONE, user_id: int | None = None, practice_phone: str | None = None,
    cancel_until: dt.datetime | None = None,
) -> None:
    """Tell the patient their appointment moved, with the updated invitation `.ics` (METHOD:REQUEST,
    same UID, next SEQUENCE; key: `booking-rescheduled:<appointment id>:<new start, ISO>`);
    `practice_phone` and `cancel_until` as for `notify_booking_confirmed`."""
    enqueue_email(key=key, to=to, template="booking_rescheduled", locale=locale, category=Category.APPOINTMENTS,
                  user_id=user_id, attachments=_ics(ics, "REQUEST"), context={
                      "practitioner_name": practitioner_name, "previous_starts_at": previous_starts_at,
                      "starts_at": starts_at, "timezone": timezone, "address": address, "label": label,
                      "manage_url": manage_url, "practice_phone": practice_phone, "cancel_until": cancel_until})


def reminder_due_at(starts_at: dt.datetime, hours: int, timezone: str) -> dt.datetime:
    """When the reminder `hours` before `starts_at` is due.

    Whole days are counted on the calendar, so a 48 h reminder comes at the
    visit's local time two days before, even across a DST change; shorter
    offsets are elapsed time."""
    if hours % 24:
        # "2 hours before" means elapsed time, even across a DST change.
        return starts_at - dt.timedelta(hours=hours)
    zone = ZoneInfo(timezone)
    local = starts_at.astimezone(zone).replace(tzinfo=None) - dt.timedelta(days=hours // 24)
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def schedule_reminders(
    *, appointment_key: str, to: str, locale: str | None, practitioner_name: str, starts_at: dt.datetime,
    address: str, manage_url: str, label: str | Later | None = None, timezone: str = DEFAULT_TIMEZONE,
    phone: str | None = None, user_id: int | None = None, now: dt.datetime | None = None,
    practice_phone: str | None = None, cancel_until: dt.datetime | None = None,
) -> int:
    """Queue the reminders of an appointment (`appointment_key`, e.g. `appointment:<id>`).

    Rules: one reminder per offset of `CARNET_REMINDER_HOURS` (48 h and 2 h
    by default), by email and, with a `phone`, by SMS; none whose time has
    already passed (a visit booked for tomorrow gets no 48 h reminder, a
    past visit none at all); `label` is the appointment's title as booking
    lets it leave (webapp.booking.labels); each expires unsent a quarter of its offset
    after its due time (after downtime, no late reminder). Rescheduling is
    `cancel_reminders` then `schedule_reminders` with the new time.
    A reminder due after `cancel_until` (the online cancellation deadline)
    says it is too late to cancel online and gives `practice_phone` to call.
    Returns how many reminder times were queued."""
    now = now or now_utc()
    queued = 0
    # Earliest reminder first, so that the rows of one appointment are written in due order.
    for hours in sorted(set(current_app.config["CARNET_REMINDER_HOURS"]), reverse=True):
        due_at = reminder_due_at(starts_at, hours, timezone)
        if due_at <= now:
            continue
        # A reminder sent late is worse than none: after a quarter of its offset (12 h for
        # 48 h, 30 min for 2 h), or once the visit started, it expires unsent.
        not_after = min(due_at + dt.timedelta(hours=hours) / 4, starts_at)
        key = f"reminder:{appointment_key}:{hours}h"
        context = {"practitioner_name": practitioner_name, "starts_at": starts_at, "timezone": timezone,
                   "address": address, "manage_url": manage_url, "label": label, "practice_phone": practice_phone,
                   # Decided for the reminder's due time, not now: the 2 h one usually falls past the deadline.
                   "too_late": cancel_until is not None and due_at >= cancel_until}
        enqueue_email(key=key, to=to, template="appointment_reminder", context=context, locale=locale,
                      category=Category.REMINDERS, due_at=due_at, not_after=not_after, user_id=user_id)
        if phone:
            enqueue_sms(key=key, to=phone, template="appointment_reminder", context=context, locale=locale,
                        category=Category.REMINDERS, due_at=due_at, not_after=not_after, user_id=user_id)
        queued += 1
    return queued


def cancel_reminders(*, appointment_key: str) -> int:
    """Withdraw the unsent reminders of a cancelled (or moved) appointment."""
    return cancel_notifications(f"reminder:{appointment_key}:")


def notify_waitlist_offer(
    *, key: str, to: str, locale: str | None, practitioner_name: str, starts_at: dt.datetime, book_url: str,
    expires_at: dt.datetime, timezone: str = DEFAULT_TIMEZONE, phone: str | None = None,
    user_id: int | None = None,
) -> None:
    """Offer a freed slot to a patient on the waiting list, by email and SMS with a
    `phone`; the offer is not sent after it expires (key: `waitlist-offer:<entry id>:<slot start, ISO>`)."""
    context = {"practitioner_name": practitioner_name, "starts_at": starts_at, "timezone": timezone,
               "book_url": book_url, "expires_at": expires_at}
    enqueue_email(key=key, to=to, template="waitlist_offer", context=context, locale=locale,
                  category=Category.WAITLIST, not_after=expires_at, user_id=user_id)
    if phone:
        enqueue_sms(key=key, to=phone, template="waitlist_offer", context=context, locale=locale,
                    category=Category.WAITLIST, not_after=expires_at, user_id=user_id)


def notify_emergency_access(
    *, key: str, to: str, locale: str | None, practitioner_name: str, reason: str, granted_at: dt.datetime,
    expires_at: dt.datetime, access_log_url: str, timezone: str = DEFAULT_TIMEZONE, user_id: int | None = None,
) -> None:
    """Tell a patient that a practitioner opened their notebook in an emergency
    (a security notice: it cannot be turned off; key: `emergency-access:<grant id>`)."""
    enqueue_email(key=key, to=to, template="emergency_access", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={
                      "practitioner_name": practitioner_name, "reason": reason, "granted_at": granted_at,
                      "expires_at": expires_at, "timezone": timezone, "access_log_url": access_log_url})


def notify_emergency_access_limit(
    *, key: str, to: str, locale: str | None, practitioner_name: str, rpps: str, account_id: int, limit: int,
    audit_url: str, user_id: int | None = None,
) -> None:
    """Alert the operator that a practitioner asked for more emergency accesses to
    notebooks than allowed in 24 hours, and was refused (a security notice;
    key: `emergency-access-limit:<practitioner id>:<last grant id>:<recipient>`)."""
    enqueue_email(key=key, to=to, template="emergency_access_limit", locale=locale, category=Category.SECURITY,
                  user_id=user_id, context={
                      "practitioner_name": practitioner_name, "rpps": rpps, "account_id": account_id,
                      "limit": limit, "audit_url": audit_url})


def notify_notebook_entry(
    *, key: str, to: str, locale: str | None, practitioner_name: str, notebook_url: str,
    user_id: int | None = None,
) -> None:
    """Tell a patient that a practitioner added to their notebook; the entry itself
    stays in Carnet (key: `notebook-entry:<entry id>`)."""
    enqueue_email(key=key, to=to, template="notebook_entry", locale=locale, category=Category.NOTEBOOK,
                  user_id=user_id, context={"practitioner_name": practitioner_name, "notebook_url": notebook_url})


def notify_payment_failed(
    *, key: str, to: str, locale: str | None, invoice_number: str | None, amount_cents: int, currency: str,
    billing_url: str, grace_ends_at: dt.datetime | None = None, timezone: str = DEFAULT_TIMEZONE,
    user_id: int | None = None,
) -> None:
    """Tell a subscriber a payment failed, naming the invoice if one was issued
    (key: `payment-failed:<subscription id>:<past due since>:<recipient>`)."""
    enqueue_email(key=key, to=to, template="payment_failed", locale=locale, category=Category.BILLING,
                  user_id=user_id, context={
                      "invoice_number": invoice_number, "amount_cents": amount_cents, "currency": currency,
                      "billing_url": billing_url, "grace_ends_at": grace_ends_at, "timezone": timezone})


def notify_subscription_suspended(
    *, key: str, to: str, locale: str | None, billing_url: str, user_id: int | None = None,
) -> None:
    """Tell a practitioner online booking is suspended until the subscription is paid
    (key: `subscription-suspended:<subscription id>:<suspension date>`)."""
    enqueue_email(key=key, to=to, template="subscription_suspended", locale=locale, category=Category.BILLING,
                  user_id=user_id, context={"billing_url": billing_url})
