"""Carnet: online booking, practitioner subscriptions and a shared health notebook."""

import gc
import itertools
from pathlib import Path

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from config import INSTANCE_PATH, check_production_settings, load_settings
from webapp.db import IdConverter, end_read_only_transaction
from webapp.extensions import babel, csrf, db, limiter, login_manager, migrate
from webapp.languages import select_locale
from webapp.template_filters import register_template_filters


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, CLI, error handlers.

    It only registers things: it never migrates the database nor starts the
    scheduler (that is `flask scheduler run`, or the embedded runner).
    """
    app = Flask(__name__, instance_path=str(INSTANCE_PATH))
    # The embedded SQLite database lives there; a fresh clone has no such folder yet.
    INSTANCE_PATH.mkdir(exist_ok=True)
    app.url_map.converters["int"] = IdConverter
    app.config.update(load_settings())
    app.config.update(config or {})
    check_production_settings(app.config)
    register_extensions(app)
    register_blueprints(app)
    register_template_filters(app)
    connect_signal_receivers()
    register_cli(app)
    register_request_hooks(app)
    from webapp.errors import register_error_handlers

    register_error_handlers(app)
    return app


def translation_directories(app: Flask) -> str:
    """The shared catalog plus one per feature package that has its own."""
    root = Path(app.root_path)
    folders = ["translations"] + sorted(
        f"{path.parent.name}/translations" for path in root.glob("*/translations") if path.parent.name != "translations"
    )
    return ";".join(folders)


def register_extensions(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", translation_directories(app))
    db.init_app(app)
    # Registered after Flask-SQLAlchemy's teardown, so it runs before the session is removed.
    app.teardown_appcontext(lambda error: None if error else end_read_only_transaction(db.session()))
    migrate.init_app(app, db, directory=str(INSTANCE_PATH.parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    # Translated when flashed (`str`), in the visitor's language; a warning like the app's other "log in" notes.
    login_manager.login_message = _l("Log in to continue.")
    login_manager.login_message_category = "warning"
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"

    from webapp.accounts.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        # A closed (deactivated) account has no session anywhere.
        return user if user is not None and user.is_active else None


def register_blueprints(app: Flask) -> None:
    from webapp import accounts, audit, billing, booking, invitations, notebook, notifications, privacy, site
    from webapp.accounts import api as accounts_api
    from webapp.accounts import verification_api
    from webapp.accounts.pro_sante_connect import init_pro_sante_connect
    from webapp.api.setup import register_api
    from webapp.billing import api as billing_api
    from webapp.booking import api as booking_api
    from webapp.dmp import init_dmp
    from webapp.fhir import register_fhir
    from webapp.navigation import navigation_items
    from webapp.notebook import api as notebook_api
    from webapp.privacy import api as privacy_api

    app.register_blueprint(site.bp)
    app.register_blueprint(accounts.bp)
    init_pro_sante_connect(app)  # the e-CPS login: nothing unless configured
    app.register_blueprint(notifications.bp)
    app.register_blueprint(booking.bp)
    app.register_blueprint(notebook.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(invitations.bp)
    billing.register_billing(app)
    register_fhir(app)  # the FHIR R4 scheduling API, anonymous reads
    dmp_api_blueprints = init_dmp(app)  # the optional shared-record connector: nothing unless configured
    register_api(app, [accounts_api.blp, verification_api.blp, booking_api.blp, notebook_api.blp, billing_api.blp,
                       privacy_api.blp, *dmp_api_blueprints])
    app.jinja_env.globals["navigation_items"] = navigation_items
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())


def connect_signal_receivers() -> None:
    """The messages each feature's signals cause (booking, billing, notebook → notifications),
    and what features above accounts revoke with an account's access (booking: the calendar feed)."""
    from webapp.billing.notifications import connect_billing_notifications
    from webapp.booking import connect_account_signals
    from webapp.booking.notifications import connect_booking_notifications
    from webapp.notebook.notifications import connect_notebook_notifications

    connect_booking_notifications()
    connect_billing_notifications()
    connect_notebook_notifications()
    connect_account_signals()


def register_cli(app: Flask) -> None:
    from webapp.accounts.cli import directory_command
    from webapp.audit.cli import audit_command
    from webapp.db_roles import grant_runtime_role_command
    from webapp.demo import seed_demo_command
    from webapp.notebook.keys import notebook_cli
    from webapp.scheduler import scheduler_cli
    from webapp.serve import serve_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(serve_command)
    app.cli.add_command(audit_command)
    app.cli.add_command(directory_command)
    app.cli.add_command(notebook_cli)
    app.cli.add_command(grant_runtime_role_command)


def register_request_hooks(app: Flask) -> None:
    from webapp.security import add_security_headers, trust_proxies

    trust_proxies(app)
    app.after_request(add_security_headers)


def freeze_startup_heap() -> None:
    """Move every object alive once the app is built (modules, routes, models,
    catalogs) out of the garbage collector's reach: they live as long as the
    process, and a full collection would otherwise walk them all, a pause of
    tens of milliseconds in whichever request triggers it."""
    gc.collect()
    gc.freeze()


# A notebook page holds about 2,500 objects until it ends: at the default young
# threshold (700) the collector walked them 3 to 4 times a page, at 10,000 about
# once in 8 pages. Measured on B4 (quick, SQLite, 200 pages, CPU per page, two
# runs, busy machine): collector 1.0 -> 0.55 ms a page, median 19.5 -> 16.6 ms.
YOUNG_GENERATION_THRESHOLD = 10_000
# What the first requests build lives as long as the worker too (compiled
# templates and SQL, locale data, the formatting caches). Freezing it once they
# are served cut each full collection from 9 to 3 ms on B4 (same runs; p95 CPU
# 23.1/22.5 -> 21.9/21.3 ms), at the cost of one collection in that request.
WARM_UP_REQUESTS = 100


def tune_collector(app: Flask) -> None:
    """The garbage collector's settings for a serving process: a larger young
    generation, and `freeze_startup_heap` again once `WARM_UP_REQUESTS` were served."""
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    served = itertools.count(1)  # next() on it is atomic: threaded workers count each request once

    @app.teardown_request
    def freeze_once_warm(_error=None) -> None:
        if next(served) == WARM_UP_REQUESTS:
            freeze_startup_heap()
