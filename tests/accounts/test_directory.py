"""The public RPPS directory: `flask directory import FILE` and the comparison the back office reads."""

import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from webapp.accounts.directory import (
    COLUMNS,
    Check,
    DirectoryEntry,
    DirectoryImport,
    compare_with_directory,
    folded_name,
    import_directory,
)
from webapp.demo import DIRECTORY_SAMPLE
from webapp.extensions import db

SAMPLE_LINES = 32  # data lines of the sample extract
SAMPLE_PERSONS = 29  # Claire Martin, Hugo Moreau and François Rousseau have two activities each
HEADER = "|".join(COLUMNS.values())


def _entry_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(DirectoryEntry.id)))


def _import(app, path):
    return app.test_cli_runner().invoke(args=["directory", "import", str(path)])


def _extract(tmp_path, *rows: str, header: str = HEADER, name: str = "extract.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def _row(rpps: str, last: str, first: str, *, identifier_type: str = "8", profession: str = "10",
         city: str = "PARIS") -> str:
    """A line in the order of COLUMNS (the test header)."""
    values = {name: "" for name in COLUMNS} | {
        "identifier_type": identifier_type, "rpps": rpps, "national_id": "8" + rpps, "last_name": last,
        "first_name": first, "profession_code": profession, "profession_label": "Médecin", "street_number": "3",
        "street_type": "Rue", "street_name": "de la Paix", "postcode": "75002", "city": city,
    }
    return "|".join(values[name] for name in COLUMNS)


def test_import_loads_the_sample_extract_and_reports_counts(app):
    result = _import(app, DIRECTORY_SAMPLE)
    assert result.exit_code == 0, result.output
    assert f"{SAMPLE_LINES} activities of {SAMPLE_PERSONS} professionals" in result.output
    assert _entry_count() == SAMPLE_LINES
    claire = db.session.scalars(sa.select(DirectoryEntry).where(DirectoryEntry.rpps == "99700000005")
                                .order_by(DirectoryEntry.id)).all()
    assert [(e.last_name, e.first_name, e.profession_code) for e in claire] == [("MARTIN", "Claire", "10")] * 2
    assert [(e.address, e.postcode, e.city) for e in claire] == [
        ("12 Rue de la Roquette", "75011", "PARIS"), ("184 Rue du Faubourg Saint-Antoine", "75012", "PARIS")]
    run = db.session.scalar(sa.select(DirectoryImport))
    assert (run.line_count, run.entry_count, run.person_count, run.skipped_count) == (
        SAMPLE_LINES, SAMPLE_LINES, SAMPLE_PERSONS, 0)
    [event] = recorded_events("directory.imported")
    assert event.details == {"entries": SAMPLE_LINES, "persons": SAMPLE_PERSONS, "skipped": 0}


def test_import_is_idempotent_and_replaces_the_previous_content(app, tmp_path):
    assert _import(app, DIRECTORY_SAMPLE).exit_code == 0
    assert _import(app, DIRECTORY_SAMPLE).exit_code == 0
    assert _entry_count() == SAMPLE_LINES
    smaller = _extract(tmp_path, _row("99700000005", "MARTIN", "Claire"))
    assert _import(app, smaller).exit_code == 0
    # An entry is active exactly when it is in the latest import.
    assert list(db.session.scalars(sa.select(DirectoryEntry.rpps))) == ["99700000005"]
    assert db.session.scalar(sa.select(sa.func.count(DirectoryImport.id))) == 3


def test_a_file_with_another_header_is_refused_and_the_directory_kept(app, tmp_path):
    assert _import(app, DIRECTORY_SAMPLE).exit_code == 0
    wrong = _extract(tmp_path, "1|2|3", header="Identifiant|Nom|Prénom")
    result = _import(app, wrong)
    assert result.exit_code == 1
    assert "PS_LibreAcces_Personne_activite" in result.output and "« Nom d'exercice »" in result.output
    assert _entry_count() == SAMPLE_LINES


def test_an_empty_file_or_one_without_rpps_activity_is_refused(app, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert _import(app, empty).exit_code == 1
    adeli_only = _extract(tmp_path, _row("123456789", "DUPONT", "Paul", identifier_type="0"))
    result = _import(app, adeli_only)
    assert result.exit_code == 1 and _entry_count() == 0


def test_a_file_that_is_not_utf8_is_refused(app, tmp_path):
    latin1 = _extract(tmp_path, _row("99700000005", "MARTIN", "Clémence"), encoding="latin-1")
    result = _import(app, latin1)
    assert result.exit_code == 1 and "UTF-8" in result.output
    assert _entry_count() == 0


def test_other_identifiers_and_short_lines_are_skipped_and_counted(app, tmp_path):
    path = _extract(tmp_path, _row("99700000005", "MARTIN", "Claire"), _row("123456789", "DUPONT", "Paul",
                    identifier_type="0"), "8|99700000013|truncated", "", _row("99700000013", "BERNARD", "Julien"))
    result = _import(app, path)
    assert result.exit_code == 0, result.output
    assert "2 activities of 2 professionals (4 lines read, 2 skipped" in result.output


def test_columns_are_found_by_name_whatever_their_order_and_extra_ones(app, tmp_path):
    names = ["Code rôle", *reversed(COLUMNS.values()), ""]
    values = dict(zip(COLUMNS.values(), _row("99700000005", "MARTIN", "Claire").split("|"), strict=True))
    path = _extract(tmp_path, "|".join(["R1", *(values[name] for name in reversed(COLUMNS.values())), ""]),
                    header="|".join(names))
    assert _import(app, path).exit_code == 0
    assert db.session.scalar(sa.select(DirectoryEntry.last_name)) == "MARTIN"


def test_a_large_extract_is_written_in_batches(app, tmp_path):
    rows = [_row(factories.valid_rpps(n), f"NOM{n}", "Prénom") for n in range(1, 251)]
    report = import_directory(_extract(tmp_path, *rows), batch_size=40)
    db.session.commit()
    assert (report.entries, report.persons) == (250, 250) and _entry_count() == 250


def test_names_are_compared_without_case_accents_hyphens_or_apostrophes():
    assert folded_name("JEAN-PIERRE") == folded_name("Jean Pierre") == "jean pierre"
    assert folded_name("Élodie") == folded_name("ELODIE")
    assert folded_name("N'GUYEN") == folded_name("n guyen")
    assert folded_name("Claire") != folded_name("Clara")


def test_comparison_says_what_matches_and_gives_the_sites(app):
    _import(app, DIRECTORY_SAMPLE)
    claire = factories.make_practitioner(first_name="claire", last_name="Martin", rpps="99700000005",
                                         verification="pending")
    comparison = compare_with_directory(claire)
    assert comparison.found and comparison.matches_identity
    assert (comparison.last_name, comparison.first_name, comparison.profession) == (Check.MATCH,) * 3
    assert [(site.organisation, site.city) for site in comparison.sites] == [
        ("CENTRE MEDICAL DE LA ROQUETTE", "PARIS"), ("HOPITAL SAINT-ANTOINE AP-HP", "PARIS")]


def test_comparison_reports_each_mismatch(app):
    _import(app, DIRECTORY_SAMPLE)
    bastien = factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                          specialty="dentist", verification="pending")
    comparison = compare_with_directory(bastien)
    assert comparison.found and not comparison.matches_identity
    assert (comparison.last_name, comparison.first_name, comparison.profession) == (
        Check.MATCH, Check.MISMATCH, Check.MISMATCH)
    assert comparison.directory_first_name == "Sébastien"
    osteopath = factories.make_practitioner(first_name="Élodie", last_name="Petit", rpps="99700000062",
                                            specialty="osteopath", verification="pending")
    assert compare_with_directory(osteopath).profession is Check.NOT_COMPARED
    unknown = factories.make_practitioner(verification="pending")
    assert not compare_with_directory(unknown).found
