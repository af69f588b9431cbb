"""`flask serve`: the embedded runner, the web server with the scheduler in the same process."""

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server

from webapp.demo import echo_demo_logins
from webapp.scheduler import build_scheduler, log_to_console


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve the app with the scheduler in the same process (the embedded
    default); CARNET_SCHEDULER=off serves without it."""
    app = current_app._get_current_object()
    mode = app.config["CARNET_SCHEDULER"]
    if mode not in ("in-process", "off"):
        raise click.UsageError(f"CARNET_SCHEDULER is {mode!r}: use 'in-process' or 'off'.")
    log_to_console()
    server = make_server(host, port, app, threaded=True)  # listening from here on
    scheduler = build_scheduler(app) if mode == "in-process" else None
    if scheduler is not None:
        scheduler.start()
        click.echo("Scheduler started in-process.")
    click.echo(f"Carnet is ready: http://{host}:{server.server_port}")
    echo_demo_logins()
    try:
        server.serve_forever()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
