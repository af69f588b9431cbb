"""PostgreSQL roles: the runtime role the web nodes and jobs use owns no table.

The migration role owns the schema (it runs `flask db upgrade` and
`flask notebook reencrypt`); the runtime role only reads and writes rows. Not
owning the tables, it can neither drop nor alter them nor disable the
append-only triggers of the notebook and the audit trail (README "Production").
"""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from webapp.extensions import db


def runtime_grants(role: str, quote=None) -> list[str]:
    """The statements, run as the migration role, that let `role` use the
    tables it creates now and in later migrations, and nothing more."""
    name = quote(role) if quote else role
    return [
        f"GRANT USAGE ON SCHEMA public TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {name}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {name}",
        # Tables and sequences that later migrations create (as this same role).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {name}",
        # Which revision the schema is at is the migration role's business.
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {name}",
    ]


def grant_runtime_role(connection: sa.Connection, role: str) -> None:
    """Run `runtime_grants` for `role` on a connection of the migration role."""
    quote = connection.dialect.identifier_preparer.quote
    for statement in runtime_grants(role, quote):
        connection.execute(sa.text(statement))


@click.command("grant-runtime-role")
@click.argument("role")
@click.option("--print-sql", is_flag=True, help="Print the statements instead of running them.")
@with_appcontext
def grant_runtime_role_command(role: str, print_sql: bool) -> None:
    """Grant ROLE the row access the app needs (run as the migration role, after `flask db upgrade`)."""
    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("Database roles are a PostgreSQL matter; SQLite has none.")
    quote = db.engine.dialect.identifier_preparer.quote
    if print_sql:
        click.echo(";\n".join(runtime_grants(role, quote)) + ";")
        return
    with db.engine.begin() as connection:
        grant_runtime_role(connection, role)
    click.echo(f"{role} may now read and write rows; it owns no table.")
