"""The connector's test apps: one with it on (same database as `app`), and a local recipient."""

import pytest

from tests.conftest import csrf_token_of
from tests.dmp.insi_service import start_insi_service
from tests.dmp.profiles import bundle_problems
from tests.dmp.recipient import start_recipient
from webapp import create_app
from webapp.extensions import db

DMP_SETTINGS = {
    "CARNET_DMP_ENDPOINT": "http://127.0.0.1:9/fhir",  # replaced by the recipient's URL in each test
    "CARNET_DMP_SOURCE_ID": "urn:oid:1.2.250.1.999.1",
    "CARNET_DMP_CUSTODIAN_ID": "750000001",
    "CARNET_DMP_CUSTODIAN_NAME": "Carnet",
    "CARNET_DMP_INS_OID": "1.2.250.1.213.1.4.10",
    # The software's identifiers in the INSi headers (the endpoint is the stand-in's, set per test).
    "CARNET_INSI_LPS_IDAM": "CARNET0000TEST",
    "CARNET_INSI_LPS_NAME": "carnet",
    "CARNET_INSI_LPS_VERSION": "2026.12",
    "CARNET_INSI_LPS_INSTANCE": "3f0c5a52-8f1e-4c1a-9a43-3c1d0f6b2e10",
    "CARNET_INSI_EMITTER": "1750000001",
}


@pytest.fixture(scope="session")
def dmp_app(app):
    """The app with the connector on, over the test database."""
    settings = {key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SERVER_NAME",
                                                 "CARNET_BASE_URL")}
    dmp_app = create_app(settings | DMP_SETTINGS)
    dmp_app.test_client_class = app.test_client_class
    yield dmp_app
    with dmp_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def _recipient_server():
    state, stop = start_recipient()
    yield state
    stop()


@pytest.fixture
def recipient(_recipient_server, dmp_app, monkeypatch):
    """A fresh recipient, and the connector pointed at it. At the end, every bundle
    it received passes the profile rules, those answered with a scripted status too."""
    _recipient_server.reset()
    monkeypatch.setitem(dmp_app.config, "CARNET_DMP_ENDPOINT", f"{_recipient_server.url}/fhir")
    yield _recipient_server
    for bundle in _recipient_server.received:
        assert bundle_problems(bundle) == []


@pytest.fixture(scope="session")
def _insi_server():
    state, stop = start_insi_service()
    yield state
    stop()


@pytest.fixture
def insi(_insi_server, dmp_app, monkeypatch):
    """A fresh stand-in INSi teleservice with an empty register, and the connector pointed at it."""
    _insi_server.reset()
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_ENDPOINT", _insi_server.url)
    return _insi_server


@pytest.fixture
def dmp(dmp_app):
    """Run the test inside the connector app's context (services, factories, job)."""
    with dmp_app.app_context():
        yield dmp_app
        db.session.remove()


@pytest.fixture
def dmp_client(dmp_app):
    return dmp_app.test_client()


@pytest.fixture
def dmp_form_post(dmp_client):
    """Post a form of the connector app the way a browser does (CSRF token read from the page first)."""

    def post(url: str, data: dict, *, page: str | None = None):
        html = dmp_client.get(page or url).get_data(as_text=True)
        return dmp_client.post(url, data={**data, "csrf_token": csrf_token_of(html)})

    return post
