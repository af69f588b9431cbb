"""Append-only tables: the ORM refuses to change or delete their rows.

The services never update or delete entries, attachments, emergency grants
or access-log rows; this listener turns any such attempt into an error
before it reaches the database. Re-encryption under a new key rewrites
ciphertext with Core statements (`webapp.notebook.keys`), not through the ORM.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session, attributes, object_mapper

from webapp.notebook.models import AccessLogEntry, Attachment, EmergencyAccess, NotebookEntry

APPEND_ONLY = (NotebookEntry, Attachment, EmergencyAccess, AccessLogEntry)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete a row of an append-only table."""


def _changed_columns(instance) -> list[str]:
    return [
        column.key for column in object_mapper(instance).column_attrs
        if attributes.get_history(instance, column.key).has_changes()
    ]


@event.listens_for(Session, "before_flush")
def refuse_changes_to_append_only_rows(session, flush_context, instances):
    for instance in session.deleted:
        if isinstance(instance, APPEND_ONLY):
            raise AppendOnlyViolation(f"{type(instance).__name__} rows are never deleted")
    for instance in session.dirty:
        if isinstance(instance, APPEND_ONLY) and _changed_columns(instance):
            raise AppendOnlyViolation(f"{type(instance).__name__} rows are never changed")
