"""`flask audit verify` and `flask audit export`."""

import csv
import datetime as dt
import json
import sys

import click
from flask.cli import with_appcontext

from webapp.audit import services
from webapp.transaction import transaction

EXPORT_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_role", "action", "target_type", "target_id",
    "ip", "user_agent", "details", "prev_hash", "hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@click.group("audit")
def audit_command() -> None:
    """Check and export the audit trail."""


@audit_command.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute the hash chain; exit 1 and name the first bad row if it is broken."""
    report = services.verify_chain()
    if not report.is_intact:
        click.echo(f"Audit trail BROKEN at event {report.bad_event_id}: {report.problem}", err=True)
        click.echo(f"{report.checked} events verified before it.", err=True)
        sys.exit(1)
    click.echo(f"Audit trail intact: {report.checked} events, last hash {report.last_hash}")


def _day_or_instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD or an ISO 8601 time with an offset") from None
    if parsed.tzinfo is None:
        if len(value) != 10:
            raise click.BadParameter("a time needs an offset, e.g. 2026-11-23T08:00:00+01:00")
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _spreadsheet_safe(value) -> str:
    text = "" if value is None else json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


@audit_command.command("export")
@click.option("--format", "export_format", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True)
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout).")
@click.option("--since", help="First day (YYYY-MM-DD, UTC) or instant to include.")
@click.option("--until", help="Day or instant to stop before.")
@click.option("--action", help="An action, or a family such as 'login'.")
@with_appcontext
def export_command(export_format: str, output, since: str | None, until: str | None, action: str | None) -> None:
    """Write the audit events, oldest first, as CSV or JSON lines."""
    filters = services.EventFilters(action=action, since=_day_or_instant(since), until=_day_or_instant(until))
    rows = 0
    if export_format == "csv":
        writer = csv.writer(output)
        writer.writerow(EXPORT_COLUMNS)
        for event in services.iter_events(filters):
            record = services.event_as_dict(event)
            writer.writerow([_spreadsheet_safe(record[name]) for name in EXPORT_COLUMNS])
            rows += 1
    else:
        for event in services.iter_events(filters):
            output.write(json.dumps(services.event_as_dict(event), sort_keys=True, ensure_ascii=False) + "\n")
            rows += 1
    output.flush()
    with transaction():
        services.record_event("audit.exported", details={"format": export_format, "rows": rows})
    click.echo(f"{rows} events exported.", err=True)
