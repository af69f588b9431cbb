"""Proxies: the accounts that act for a patient profile, and how they stop.

Rules:
- the patient side of a profile (its own account, or an account acting for
  it) sees who acts for it; anyone else gets `NotFound`;
- the profile's own account removes any proxy; a proxy removes itself; any
  other caller gets `NotFound`, whether or not the proxy exists;
- the other side is told by mail (the removed proxy, or the owner when a
  proxy leaves), and the audit trail records the removal with ids only;
- once removed, a proxy acts for the profile no more: every check goes
  through `can_act_for_patient`, which reads the proxies table.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from webapp.accounts.models import PatientProfile, PatientProxy, User
from webapp.accounts.relatives import can_act_for_patient
from webapp.audit.services import record_event
from webapp.db import MAX_ID, now_utc
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notifications import messages
from webapp.urls import external_url


@dataclasses.dataclass(frozen=True)
class Proxy:
    """An account acting for a profile, as the patient side sees it."""

    account_id: int
    name: str
    since: dt.datetime


def account_name(user: User) -> str:
    """How a patient account is named to the people it shares a profile with."""
    profile = user.patient_profile
    return profile.full_name if profile is not None else user.email


def _proxies_of(patient_id: int) -> list[PatientProxy]:
    return list(db.session.scalars(
        sa.select(PatientProxy).where(PatientProxy.patient_id == patient_id)
        .options(selectinload(PatientProxy.user).selectinload(User.patient_profile))
        .order_by(PatientProxy.created_at, PatientProxy.user_id)
    ))


def _patient_side_profile(user: User, patient_id: int) -> PatientProfile:
    # 404 rather than 403 for a profile the account does not act for: an id
    # in a URL must not tell whether that profile exists. Ids out of range
    # are refused before the database sees them (PostgreSQL's integer).
    if not user.is_authenticated or not isinstance(patient_id, int) or not 0 < patient_id <= MAX_ID \
            or not can_act_for_patient(user, patient_id):
        raise NotFound()
    return db.session.get(PatientProfile, patient_id)


def list_proxies(user: User, patient_id: int) -> list[Proxy]:
    """The accounts acting for the profile, oldest first (patient side only)."""
    _patient_side_profile(user, patient_id)
    return [Proxy(proxy.user_id, account_name(proxy.user), proxy.created_at) for proxy in _proxies_of(patient_id)]


def remove_proxy(user: User, patient_id: int, account_id: int) -> None:
    """Stop `account_id` acting for the profile: by the profile's own account
    (any proxy) or by the proxy itself. Anyone else, or an account that is
    not a proxy of the profile: `NotFound`. The other side is told."""
    profile = _patient_side_profile(user, patient_id)
    is_owner = profile.account_id == user.id
    # A proxy may leave, but never removes another proxy: only the owner
    # decides who acts for their profile.
    if not (is_owner or account_id == user.id):
        raise NotFound()
    proxy = db.session.get(PatientProxy, (account_id, patient_id)) if isinstance(account_id, int) \
        and 0 < account_id <= MAX_ID else None
    if proxy is None:
        raise NotFound()
    removed = proxy.user
    db.session.delete(proxy)
    db.session.flush()
    record_event("patient_proxy.removed", actor=user, target_type="patient_profile", target_id=patient_id,
                 details={"account_id": account_id, "by": "owner" if is_owner else "proxy"})
    if account_id != user.id:
        _tell(removed, profile, proxy_name=account_name(removed), by_owner=True)
    elif profile.account is not None:
        _tell(profile.account, profile, proxy_name=account_name(removed), by_owner=False)


def remove_proxies(patient_id: int, account_ids: Iterable[int], *, by: User) -> None:
    """Remove the given proxies of a profile as its (new) owner `by`, telling
    each removed account (used when a claim ends them)."""
    profile = db.session.get(PatientProfile, patient_id)
    for proxy in _proxies_of(patient_id):
        if proxy.user_id in set(account_ids):
            removed = proxy.user
            db.session.delete(proxy)
            record_event("patient_proxy.removed", actor=by, target_type="patient_profile", target_id=patient_id,
                         details={"account_id": removed.id, "by": "claim"})
            _tell(removed, profile, proxy_name=account_name(removed), by_owner=True)
    db.session.flush()


def proxy_accounts(patient_id: int) -> list[User]:
    """The accounts acting for a profile (for features that tell them something)."""
    return [proxy.user for proxy in _proxies_of(patient_id)]


def _tell(recipient: User, profile: PatientProfile, *, proxy_name: str, by_owner: bool) -> None:
    messages.notify_proxy_removed(
        # Timed key: a proxy removed, added again and removed again is told twice.
        key=f"proxy-removed:{profile.id}:{recipient.id}:{int(now_utc().timestamp())}",
        to=recipient.email, locale=recipient.locale, user_id=recipient.id, patient_name=profile.full_name,
        proxy_name=proxy_name, removed_by_owner=by_owner, account_url=external_url("accounts.account"),
    )
