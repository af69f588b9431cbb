"""Shared fixtures: one app per test session, a clean database per test.

The same suite runs on SQLite (default) and on PostgreSQL when
`TEST_DATABASE_URL` is set: that role migrates, and the app runs as a role
that owns no table (`TEST_RUNTIME_DATABASE_URL`, or `carnet_app` made here),
as in production. The schema is built by the migrations, and every
test starts from empty tables, so tests may commit freely (several
connections, threads and live servers see the same data).
"""

import contextlib
import contextvars
import datetime as dt
import importlib
import os
import re
import threading

import flask_migrate
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import WSGIRequestHandler, make_server

from tests import factories
from tests.pages import log_in_with
from webapp import create_app
from webapp.db_roles import grant_runtime_role
from webapp.extensions import db, limiter

# PostgreSQL pass: the migration role (owner of the tables), and the role the app runs as.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_RUNTIME_DATABASE_URL = os.environ.get("TEST_RUNTIME_DATABASE_URL")
RUNTIME_ROLE = "carnet_app"
# The module itself: the package attribute `webapp.db` is the Flask-SQLAlchemy extension.
DB_MODULE = importlib.import_module("webapp.db")


def pytest_collection_modifyitems(config, items):
    if TEST_DATABASE_URL:
        once = pytest.mark.skip(reason="SQLite-only or end-to-end check, run once in the SQLite pass")
        for item in items:
            if "sqlite_only" in item.keywords or "browser" in item.keywords:
                item.add_marker(once)
        return
    reason = pytest.mark.skip(reason="PostgreSQL-only behaviour; runs in the PostgreSQL pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(reason)


def _reset_schema(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: without
    this, requests would share the test's `g` and database session."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _settings(url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SERVER_NAME": "carnet.test",
        "CARNET_BASE_URL": "http://carnet.test",
        # Password hashing stays argon2id, at its lowest costs: thousands of accounts are made here.
        "CARNET_ARGON2_TIME_COST": 1,
        "CARNET_ARGON2_MEMORY_KIB": 32,  # argon2 wants 8 KiB per lane, 4 lanes
    }


def _runtime_url(owner: sa.Connection) -> str:
    """The runtime role's URL: `TEST_RUNTIME_DATABASE_URL`, or a role made here
    (the test cluster's user is a superuser and its logins are trusted)."""
    if TEST_RUNTIME_DATABASE_URL:
        return TEST_RUNTIME_DATABASE_URL
    owner.execute(sa.text(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') "
        f"THEN CREATE ROLE {RUNTIME_ROLE} LOGIN; END IF; END $$"))
    return sa.make_url(TEST_DATABASE_URL).set(username=RUNTIME_ROLE, password=None) \
        .render_as_string(hide_password=False)


def _migrate_postgresql() -> str:
    """Build the schema as the migration role (the owner), grant the runtime
    role its rows as the README says, and return the runtime role's URL."""
    owner_app = create_app(_settings(TEST_DATABASE_URL))
    with owner_app.app_context():
        _reset_schema(db.engine)
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            runtime_url = _runtime_url(connection)
            grant_runtime_role(connection, sa.make_url(runtime_url).username)
        db.engine.dispose()
    return runtime_url


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The app under test. On PostgreSQL it runs as the runtime role, which owns
    no table (README "Production"); `owner_engine` is the migration role."""
    if TEST_DATABASE_URL:
        url = _migrate_postgresql()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'carnet-test.sqlite3'}"
    app = create_app(_settings(url))
    app.test_client_class = IsolatedClient
    if not TEST_DATABASE_URL:
        with app.app_context():
            flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()  # close pooled connections before the app is garbage-collected


@pytest.fixture(scope="session")
def owner_engine(app):
    """The tables' owner: on PostgreSQL the migration role (a superuser in the
    test cluster), for what the app itself may not do; on SQLite the app's engine."""
    if not TEST_DATABASE_URL:
        with app.app_context():
            yield db.engine
        return
    engine = sa.create_engine(TEST_DATABASE_URL)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def owner_app(app):
    """The app as the migration role, for the maintenance commands that role
    runs (`flask notebook reencrypt`); on SQLite the app itself."""
    if not TEST_DATABASE_URL:
        yield app
        return
    owner_app = create_app(_settings(TEST_DATABASE_URL))
    yield owner_app
    with owner_app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(app, owner_engine):
    with app.app_context():
        yield
        db.session.remove()
        with owner_engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Triggers refuse DELETE and TRUNCATE on append-only tables: the
                # owner turns them off for this transaction only. One round trip
                # for all the tables: this runs after each of the suite's tests.
                connection.exec_driver_sql("; ".join(
                    ["SET LOCAL session_replication_role = replica",
                     *(f'DELETE FROM "{table.name}"' for table in reversed(db.metadata.sorted_tables))]))
            else:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
    limiter.reset()
    factories.reset_totp_clock()


class FrozenClock:
    """Stands in for the app's clock: `now_utc()` answers `now` until moved."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment


@pytest.fixture
def frozen_clock(monkeypatch) -> FrozenClock:
    """Freeze the app's clock at the current second; move it with `advance(...)` or `set(moment)`."""
    clock = FrozenClock(DB_MODULE.system_time().replace(microsecond=0))
    monkeypatch.setattr(DB_MODULE, "clock", clock)
    return clock


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_postgres(app):
    return db.engine.dialect.name == "postgresql"


CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token_of(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def form_post(client):
    """Post a form the way a browser does: read its CSRF token from the page first."""

    def post(url: str, data: dict, *, page: str | None = None, follow_redirects: bool = False):
        html = client.get(page or url).get_data(as_text=True)
        return client.post(url, data={**data, "csrf_token": csrf_token_of(html)},
                           follow_redirects=follow_redirects)

    return post


@pytest.fixture
def log_in(form_post):
    """`log_in(user)`: the user logged in on `client` through the pages; returns the user."""

    def login(user):
        log_in_with(form_post, user)
        return user

    return login


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects every SQL statement sent meanwhile."""

    @contextlib.contextmanager
    def counting():
        statements: list[str] = []

        def record(connection, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def sql_events(app):
    """`with sql_events() as events:` notes "read" (a SELECT), "write" (any
    other statement) and "commit" in the order they happen: a write's answer is
    serialised inside its unit of work when no statement follows the last commit."""

    @contextlib.contextmanager
    def recording():
        events: list[str] = []

        def statement(connection, cursor, text, parameters, context, executemany):
            events.append("read" if text.lstrip().upper().startswith("SELECT") else "write")

        def commit(connection):
            events.append("commit")

        sa.event.listen(db.engine, "before_cursor_execute", statement)
        sa.event.listen(db.engine, "commit", commit)
        try:
            yield events
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", statement)
            sa.event.remove(db.engine, "commit", commit)

    return recording


@pytest.fixture
def clinic():
    return factories.make_clinic()


@pytest.fixture
def in_request(app):
    """Run the test inside a request (translated messages, the audit trail's
    origin), as services called from a page would: `pytestmark = pytest.mark.usefixtures("in_request")`."""
    with app.test_request_context():
        yield


@pytest.fixture
def api_token(client):
    """A bearer token for a user (TOTP code computed from their secret)."""

    def token_for(user) -> dict:
        body = {"email": user.email, "password": factories.PASSWORD}
        if user.totp_secret:
            body["totp"] = factories.totp_now(user)
        response = client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['token']}"}

    return token_for


class QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # one line per request would drown the test output


@pytest.fixture(scope="session")
def live_server(app):
    """A real threaded HTTP server on a free loopback port, serving the test
    app and its database; yields its base URL (for HTTP clients and browsers)."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
