"""Masking: the entries the patient side hides from chosen practitioners."""

from webapp.accounts.models import PractitionerProfile, User
from webapp.audit.services import record_event
from webapp.extensions import db
from webapp.notebook.controls import existing_practitioner_ids, sharing_candidates
from webapp.notebook.errors import AuthorAlwaysSees
from webapp.notebook.models import EntryMask, NotebookEntry
from webapp.notebook.permissions import patient_side_access
from webapp.notebook.visibility import visible_entry


def get_masking(user: User, patient_id: int, entry_id: int) -> NotebookEntry:
    """An entry with the practitioners it is hidden from (patient side only)."""
    return visible_entry(patient_side_access(user, patient_id), entry_id)


def _correction_chain(entry: NotebookEntry) -> list[NotebookEntry]:
    """The entry and every version before and after it."""
    chain = [entry]
    while chain[0].supersedes is not None:
        chain.insert(0, chain[0].supersedes)
    while chain[-1].superseded_by is not None:
        chain.append(chain[-1].superseded_by)
    return chain


def masking_candidates(user: User, patient_id: int, entry: NotebookEntry) -> list[PractitionerProfile]:
    """Whom the patient side may hide an entry from: the sharing candidates but its author."""
    return [practitioner for practitioner in sharing_candidates(user, patient_id)
            if practitioner.id != entry.author_practitioner_id]


def set_masking(user: User, patient_id: int, entry_id: int, hidden_from_ids) -> NotebookEntry:
    """Replace the practitioners an entry is hidden from (patient side only).

    The author always keeps seeing what they wrote, so hiding from them is
    refused. Masks apply to the whole correction chain: every version is the
    same piece of information, and no version points to one its reader cannot see."""
    access = patient_side_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    wanted = existing_practitioner_ids(hidden_from_ids, "hidden_from_practitioner_ids")
    if entry.author_practitioner_id in wanted:
        raise AuthorAlwaysSees(fields={"hidden_from_practitioner_ids": [str(AuthorAlwaysSees.default_message)]})
    current = {mask.practitioner_id for mask in entry.masks}
    # Every version gets the same masks: a correction must not show a reader what
    # the patient hid from them in the version it corrects, nor the other way round.
    for version in _correction_chain(entry):
        kept = [mask for mask in version.masks if mask.practitioner_id in wanted]
        missing = wanted - {mask.practitioner_id for mask in kept}
        version.masks = kept + [EntryMask(practitioner_id=practitioner_id) for practitioner_id in sorted(missing)]
    db.session.flush()
    # Audited only when something changed: resubmitting the same form writes no event.
    if wanted != current:
        record_event("notebook.masking_changed", actor=user, target_type="notebook_entry", target_id=entry.id,
                     details={"patient_id": access.patient.id, "hidden_from_practitioner_ids": sorted(wanted)})
    return entry
