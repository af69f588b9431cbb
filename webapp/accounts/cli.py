"""`flask directory import FILE`: load the public RPPS directory the back office compares practitioners with."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from webapp.accounts.directory import import_directory
from webapp.accounts.errors import DirectoryFileError
from webapp.transaction import transaction


@click.group("directory")
def directory_command() -> None:
    """The public RPPS directory of health professionals (ANS open data)."""


@directory_command.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Replace the directory by FILE, the extract PS_LibreAcces_Personne_activite_*.txt
    (UTF-8, pipe-separated, with its header line). All or nothing: a refused
    file leaves the directory as it was."""
    try:
        with transaction():
            report = import_directory(file)
    except DirectoryFileError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"RPPS directory imported from {file.name}: {report.entries} activities of {report.persons} "
               f"professionals ({report.lines} lines read, {report.skipped} skipped: not RPPS or malformed).")
