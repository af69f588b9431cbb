"""The public RPPS directory of health professionals, and what it says about a practitioner.

`import_directory` loads the ANS open-data extract "personnes / activités"
(`PS_LibreAcces_Personne_activite_*.txt`: UTF-8, pipe-separated, one header
line, one line per activity, so a person practising at two sites has two
lines). Each import replaces the whole table in the caller's transaction:
an entry is active exactly when it is in the latest import.

`compare_with_directory` is what the back office reads before verifying a
practitioner: whether the RPPS number, the names and the profession match an
active entry, and which sites the directory gives. A match is a consistency
check, never a proof of identity: anyone can read the directory.
"""

import csv
import dataclasses
import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from webapp.accounts.errors import DirectoryFileError
from webapp.accounts.models import PractitionerProfile
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.extensions import db

RPPS_IDENTIFIER_TYPE = "8"  # "Type d'identifiant PP": 8 is RPPS (0 was ADELI)
BATCH_SIZE = 5000

# Our field -> the header of the ANS column it comes from. The extract has
# more columns (and gained some over the years): only these must be present.
COLUMNS = {
    "identifier_type": "Type d'identifiant PP",
    "rpps": "Identifiant PP",
    "national_id": "Identification nationale PP",
    "title_code": "Code civilité d'exercice",
    "last_name": "Nom d'exercice",
    "first_name": "Prénom d'exercice",
    "profession_code": "Code profession",
    "profession_label": "Libellé profession",
    "category_code": "Code catégorie professionnelle",
    "specialty_code": "Code savoir-faire",
    "specialty_label": "Libellé savoir-faire",
    "practice_mode_code": "Code mode exercice",
    "organisation": "Raison sociale site",
    "street_number": "Numéro Voie (coord. structure)",
    "street_type": "Libellé type de voie (coord. structure)",
    "street_name": "Libellé Voie (coord. structure)",
    "postcode": "Code postal (coord. structure)",
    "city": "Libellé commune (coord. structure)",
}

# The RPPS profession ("Code profession") each specialty of Carnet belongs
# to. Specialties left out are not compared (a profession outside the RPPS,
# such as osteopaths, or one whose code is not settled here).
MEDECIN, PHARMACIEN, DENTISTE, SAGE_FEMME, INFIRMIER, KINE, PODOLOGUE, ORTHOPHONISTE, ORTHOPTISTE = (
    "10", "21", "40", "50", "60", "70", "80", "91", "92")
_PHYSICIANS = (
    "general_practitioner", "pediatrician", "dermatologist", "gynecologist", "ophthalmologist", "cardiologist",
    "psychiatrist", "ent", "rheumatologist", "endocrinologist", "gastroenterologist", "pulmonologist", "neurologist",
    "nephrologist", "urologist", "allergist", "oncologist", "hematologist", "infectious_disease", "internist",
    "geriatrician", "radiologist", "anesthesiologist", "orthopedic_surgeon", "general_surgeon", "plastic_surgeon",
    "vascular_surgeon", "angiologist", "sports_physician", "physical_medicine", "occupational_physician",
    "stomatologist", "nutritionist", "addictologist",
)
SPECIALTY_PROFESSIONS = {specialty: MEDECIN for specialty in _PHYSICIANS} | {
    "dentist": DENTISTE, "orthodontist": DENTISTE, "midwife": SAGE_FEMME, "pharmacist": PHARMACIEN,
    "nurse": INFIRMIER, "physiotherapist": KINE, "podiatrist": PODOLOGUE, "speech_therapist": ORTHOPHONISTE,
    "orthoptist": ORTHOPTISTE,
}


class DirectoryEntry(db.Model):
    """One activity of a health professional in the latest directory import."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    rpps: Mapped[str] = mapped_column(sa.String(11), index=True)
    title_code: Mapped[str] = mapped_column(sa.String(10))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    profession_code: Mapped[str] = mapped_column(sa.String(10))
    profession_label: Mapped[str] = mapped_column(sa.String(100))
    category_code: Mapped[str] = mapped_column(sa.String(10))
    specialty_code: Mapped[str] = mapped_column(sa.String(20))
    specialty_label: Mapped[str] = mapped_column(sa.String(200))
    practice_mode_code: Mapped[str] = mapped_column(sa.String(10))
    organisation: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(300))
    postcode: Mapped[str] = mapped_column(sa.String(10))
    city: Mapped[str] = mapped_column(sa.String(100))


class DirectoryImport(db.Model):
    """One run of `flask directory import`: when, and what it loaded."""

    __tablename__ = "directory_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    line_count: Mapped[int]
    entry_count: Mapped[int]
    person_count: Mapped[int]
    skipped_count: Mapped[int]


_LENGTHS = {column.name: column.type.length for column in DirectoryEntry.__table__.columns
            if isinstance(column.type, sa.String)}


# --- names ---------------------------------------------------------------------

def folded_name(text: str) -> str:
    """A name as compared with the directory: case, accents, hyphens and
    apostrophes ignored, spaces collapsed ("JEAN-PIERRE" = "Jean Pierre")."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(part for part in re.split(r"[\s\-'’]+", letters) if part)


# --- import ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ImportReport:
    lines: int  # data lines read (the header excluded)
    entries: int  # activities loaded
    persons: int  # distinct RPPS numbers among them
    skipped: int  # lines that are not an RPPS activity (other identifier, malformed)


def _column_positions(header: list[str] | None) -> dict[str, int]:
    """Where each needed column is, or a clear refusal naming the missing ones."""
    if not header:
        raise DirectoryFileError(_l("The file is empty: it should start with the header line of the RPPS extract."))
    names = [name.strip() for name in header]
    missing = [title for title in COLUMNS.values() if title not in names]
    if missing:
        raise DirectoryFileError(_l(
            "This is not the RPPS extract \"personnes / activités\" (PS_LibreAcces_Personne_activite): its header "
            "line lacks the columns %(columns)s.", columns=", ".join(f"« {title} »" for title in missing)))
    return {field: names.index(title) for field, title in COLUMNS.items()}


def _cut(field: str, value: str) -> str:
    value = " ".join(value.split())
    return value[:_LENGTHS[field]]


def _entry_values(row: list[str], positions: dict[str, int]) -> dict | None:
    """The table row of one line, or None for a line that is not an RPPS activity."""
    if len(row) <= max(positions.values()):
        return None
    value = {field: row[index].strip() for field, index in positions.items()}
    rpps = value["rpps"]
    if value["identifier_type"] != RPPS_IDENTIFIER_TYPE or len(rpps) != 11 or not (rpps.isascii() and rpps.isdigit()):
        return None
    if not value["last_name"]:
        return None
    address = " ".join(part for part in (value["street_number"], value["street_type"], value["street_name"]) if part)
    entry = {field: _cut(field, value[field]) for field in (
        "rpps", "title_code", "last_name", "first_name", "profession_code", "profession_label", "category_code",
        "specialty_code", "specialty_label", "practice_mode_code", "organisation", "postcode", "city")}
    entry["address"] = _cut("address", address)
    return entry


def _rows(handle) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line; a line that is not UTF-8 stops the import."""
    reader = csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE, strict=False)
    line_number = 1
    try:
        for row in reader:
            line_number = reader.line_num
            yield line_number, row
    except UnicodeDecodeError:
        # Decoding reads ahead, so the bad byte is at this line or a little after.
        raise DirectoryFileError(_l("The file is not UTF-8 text (from about line %(line)d): download the extract "
                                    "again.", line=line_number + 1)) from None
    except csv.Error as error:
        raise DirectoryFileError(_l("Line %(line)d cannot be read (%(problem)s).", line=line_number + 1,
                                    problem=str(error))) from None


def _insert(batch: list[dict]) -> None:
    if batch:
        db.session.execute(sa.insert(DirectoryEntry), batch)
        batch.clear()


def import_directory(path: str | Path, *, batch_size: int = BATCH_SIZE) -> ImportReport:
    """Replace the directory by the extract at `path`, in the caller's transaction.

    The file is read line by line and written in batches, so a full national
    extract (millions of lines) never sits in memory. Refused, leaving the
    directory as it was: a file whose header lacks a needed column, a line
    that is not UTF-8, a file without a single RPPS activity. Lines with
    another identifier (ADELI) or too few fields are skipped and counted.
    Audited with the counts."""
    lines = entries = skipped = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = _rows(handle)
        try:
            header = next(rows)[1]
        except StopIteration:
            header = None
        positions = _column_positions(header)
        db.session.execute(sa.delete(DirectoryEntry))
        batch: list[dict] = []
        for _, row in rows:
            if not row or row == [""]:
                continue  # a blank line, at the end of the file for instance
            lines += 1
            values = _entry_values(row, positions)
            if values is None:
                skipped += 1
                continue
            batch.append(values)
            entries += 1
            if len(batch) >= batch_size:
                _insert(batch)
        _insert(batch)
    if not entries:
        raise DirectoryFileError(_l("The file holds no RPPS activity: the directory is left as it was."))
    persons = db.session.scalar(sa.select(sa.func.count(sa.distinct(DirectoryEntry.rpps))))
    run = DirectoryImport(line_count=lines, entry_count=entries, person_count=persons, skipped_count=skipped)
    db.session.add(run)
    db.session.flush()
    record_event("directory.imported", target_type="directory_import", target_id=run.id,
                 details={"entries": entries, "persons": persons, "skipped": skipped})
    return ImportReport(lines=lines, entries=entries, persons=persons, skipped=skipped)


def latest_import() -> DirectoryImport | None:
    return db.session.scalar(sa.select(DirectoryImport).order_by(DirectoryImport.id.desc()).limit(1))


# --- comparison ----------------------------------------------------------------------

class Check(enum.StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NOT_COMPARED = "not_compared"  # no directory entry, or a profession the comparison does not know


@dataclasses.dataclass(frozen=True)
class DirectorySite:
    """One activity the directory gives for the RPPS number."""

    profession: str
    specialty: str
    organisation: str
    address: str
    postcode: str
    city: str
    practice_mode_code: str


@dataclasses.dataclass(frozen=True)
class DirectoryComparison:
    found: bool  # the RPPS number has an active entry
    last_name: Check
    first_name: Check
    profession: Check
    directory_last_name: str | None
    directory_first_name: str | None
    professions: list[str]
    sites: list[DirectorySite]

    @property
    def matches_identity(self) -> bool:
        """RPPS number, last and first names all match: what `directory` verification needs."""
        return self.found and self.last_name is Check.MATCH and self.first_name is Check.MATCH


def entries_by_rpps(rpps_numbers: Iterable[str]) -> dict[str, list[DirectoryEntry]]:
    """The active entries of these RPPS numbers, in one query."""
    numbers = sorted(set(rpps_numbers))
    found: dict[str, list[DirectoryEntry]] = {number: [] for number in numbers}
    if numbers:
        for entry in db.session.scalars(sa.select(DirectoryEntry).where(DirectoryEntry.rpps.in_(numbers))
                                        .order_by(DirectoryEntry.id)):
            found[entry.rpps].append(entry)
    return found


def _same(ours: str, theirs: str) -> Check:
    return Check.MATCH if folded_name(ours) == folded_name(theirs) else Check.MISMATCH


def compare_with_directory(profile: PractitionerProfile,
                           entries: list[DirectoryEntry] | None = None) -> DirectoryComparison:
    """What the directory says about the practitioner's RPPS number (`entries`:
    theirs from `entries_by_rpps`, to compare a page of profiles in one query)."""
    if entries is None:
        entries = entries_by_rpps([profile.rpps])[profile.rpps]
    if not entries:
        return DirectoryComparison(False, Check.NOT_COMPARED, Check.NOT_COMPARED, Check.NOT_COMPARED, None, None,
                                   [], [])
    first = entries[0]
    expected = SPECIALTY_PROFESSIONS.get(profile.specialty)
    if expected is None:
        profession = Check.NOT_COMPARED
    else:
        profession = Check.MATCH if any(entry.profession_code == expected for entry in entries) else Check.MISMATCH
    sites = list(dict.fromkeys(
        DirectorySite(entry.profession_label, entry.specialty_label, entry.organisation, entry.address,
                      entry.postcode, entry.city, entry.practice_mode_code)
        for entry in entries))
    return DirectoryComparison(
        found=True, last_name=_same(profile.last_name, first.last_name),
        first_name=_same(profile.first_name, first.first_name), profession=profession,
        directory_last_name=first.last_name, directory_first_name=first.first_name,
        professions=list(dict.fromkeys(entry.profession_label for entry in entries)), sites=sites,
    )
