"""The notebook digest: the current structured entries of a notebook in one encrypted row.

The summary and the measurement series need the data of every current
measurement, allergy, treatment and vaccination; decrypting each entry on
each view costs one Fernet token per entry. The digest holds that data
decrypted once and sealed again as one token. Writers fold each new
structured entry into it in their own transaction (the row is locked, so
concurrent writers queue); readers use it only when it was built from as
many structured entries as the table holds, and rebuild it otherwise (rows
written straight to the table, a lost race). Entries are append-only, so an
equal count means the same entries. Masking is not in the digest: readers
apply it (`webapp.notebook.services`).
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook.kinds import DATA_SCHEMAS
from webapp.notebook.models import EntryKind, NotebookDigest, NotebookEntry

STRUCTURED_KINDS = tuple(DATA_SCHEMAS)
_UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class CurrentItem:
    """The structured data of one current entry."""

    id: int
    kind: EntryKind
    data: dict


def _structured_entries(patient_id: int) -> sa.Select:
    return sa.select(NotebookEntry.id).where(NotebookEntry.patient_id == patient_id,
                                             NotebookEntry.kind.in_(STRUCTURED_KINDS))


def _rebuilt(patient_id: int) -> list[dict]:
    """The digest from the entries (one statement, so the count and the rows
    agree), stored for the next reader."""
    rows = db.session.execute(
        _structured_entries(patient_id).add_columns(NotebookEntry.kind, NotebookEntry.supersedes_id,
                                                    NotebookEntry.content)
        .order_by(NotebookEntry.id)
    ).all()
    superseded = {row.supersedes_id for row in rows if row.supersedes_id is not None}
    items = [{"id": row.id, "kind": row.kind.value, "data": NotebookEntry.unseal(row.content)["data"]}
             for row in rows if row.id not in superseded]
    _store(patient_id, len(rows), items)
    return items


def _store(patient_id: int, entry_count: int, items: list[dict]) -> None:
    # Last writer wins: a digest that lost a race has the wrong count and is rebuilt when read.
    values = {"entry_count": entry_count, "content": NotebookDigest.seal(items), "updated_at": now_utc()}
    statement = _UPSERTS[db.session.get_bind().dialect.name](NotebookDigest).values(patient_id=patient_id, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=[NotebookDigest.patient_id], set_=values))


def current_items(patient_id: int) -> list[CurrentItem]:
    """Every current structured entry of the patient, whoever may see it, in
    the order they were written (the caller filters what the reader may see)."""
    count = sa.select(sa.func.count()).select_from(_structured_entries(patient_id).subquery()).scalar_subquery()
    row = db.session.execute(
        sa.select(NotebookDigest.entry_count, NotebookDigest.content, count.label("actual"))
        .where(NotebookDigest.patient_id == patient_id)
    ).first()
    if row is not None and row.entry_count == row.actual:
        items = NotebookDigest.unseal(row.content)
    else:
        items = _rebuilt(patient_id)
    return [CurrentItem(item["id"], EntryKind(item["kind"]), item["data"]) for item in items]


def fold_entry(entry: NotebookEntry, data: dict | None) -> None:
    """Bring the digest up to date with a structured entry just flushed in
    this transaction (a correction replaces the entry it supersedes)."""
    if entry.kind not in STRUCTURED_KINDS:
        return
    digest = db.session.execute(
        sa.select(NotebookDigest.entry_count, NotebookDigest.content)
        .where(NotebookDigest.patient_id == entry.patient_id).with_for_update()
    ).first()
    # Counted after taking the lock: the previous holder's entries are committed by then.
    actual = db.session.scalar(sa.select(sa.func.count()).select_from(_structured_entries(entry.patient_id).subquery()))
    if digest is None or digest.entry_count + 1 != actual:
        _rebuilt(entry.patient_id)
        return
    items = [item for item in NotebookDigest.unseal(digest.content) if item["id"] != entry.supersedes_id]
    items.append({"id": entry.id, "kind": entry.kind.value, "data": data})
    _store(entry.patient_id, actual, items)
