"""Reading entries: a page of the timeline, one entry, its versions, its files."""

from webapp.accounts.models import User
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook.models import AccessAction, Attachment, NotebookEntry
from webapp.notebook.permissions import NotebookAccess, log_access, notebook_access
from webapp.notebook.visibility import ENTRY_LOADING, TIMELINE_LOADING, visible_entries, visible_entry
from webapp.notebook.writing import parse_kind
from webapp.paging import paginate


def list_entries(user: User, patient_id: int, *, kind=None, page: int = 1, per_page: int = 20) -> dict:
    """The entries the caller may see, newest first, one page (logged as a read)."""
    access = notebook_access(user, patient_id)
    result = entries_page(access, kind=kind, page=page, per_page=per_page)
    log_access(access, AccessAction.VIEW_NOTEBOOK)
    return result


def entries_page(access: NotebookAccess, *, kind, page: int, per_page: int) -> dict:
    statement = visible_entries(access).options(*TIMELINE_LOADING).order_by(
        NotebookEntry.created_at.desc(), NotebookEntry.id.desc())
    if kind:
        statement = statement.where(NotebookEntry.kind == parse_kind(kind))
    return paginate(statement, page=page, per_page=per_page)


def get_entry(user: User, patient_id: int, entry_id: int) -> NotebookEntry:
    """One entry the caller may see (logged as a read)."""
    access = notebook_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    log_access(access, AccessAction.VIEW_ENTRY, entry.id)
    return entry


def entry_versions(user: User, patient_id: int, entry_id: int) -> tuple[NotebookAccess, list[NotebookEntry]]:
    """An entry's whole correction chain the caller may see, oldest first
    (logged as a read of the requested entry)."""
    access = notebook_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    log_access(access, AccessAction.VIEW_ENTRY, entry.id)
    versions = [entry]
    # Each version is read through `visible_entries`: masks cover the whole chain,
    # but an older version may predate a mask change, so each one is checked again.
    while versions[0].supersedes_id is not None:
        older = db.session.scalar(visible_entries(access).where(NotebookEntry.id == versions[0].supersedes_id)
                                  .options(*ENTRY_LOADING))
        if older is None:
            break
        versions.insert(0, older)
    while versions[-1].superseded_by is not None:
        newer = db.session.scalar(visible_entries(access).where(NotebookEntry.id == versions[-1].superseded_by.id)
                                  .options(*ENTRY_LOADING))
        if newer is None:
            break
        versions.append(newer)
    return access, versions


def get_attachment(user: User, patient_id: int, entry_id: int, attachment_id: str) -> Attachment:
    """A file of an entry the caller may see (logged as a read)."""
    access = notebook_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    # Looked up among the entry's own files: a file id of another entry is a 404 here.
    attachment = next((item for item in entry.attachments if item.id == attachment_id), None)
    if attachment is None:
        raise NotFound()
    log_access(access, AccessAction.VIEW_ATTACHMENT, entry.id)
    return attachment
