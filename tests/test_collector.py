"""The garbage collector's settings of a serving process (`webapp.tune_collector`)."""

import gc

import pytest

import webapp
from webapp.extensions import db


@pytest.fixture
def restored_collector():
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)


def test_the_heap_is_frozen_once_the_warm_up_requests_are_served(app, restored_collector, monkeypatch):
    monkeypatch.setattr(webapp, "WARM_UP_REQUESTS", 3)
    frozen = []
    monkeypatch.setattr(webapp, "freeze_startup_heap", lambda: frozen.append(True))
    serving = webapp.create_app(dict(app.config))  # hooks are registered before a first request
    webapp.tune_collector(serving)
    client = serving.test_client()
    for _ in range(2):
        client.get("/healthz")
    assert frozen == []
    for _ in range(3):
        client.get("/healthz")
    assert frozen == [True]
    assert gc.get_threshold()[0] == webapp.YOUNG_GENERATION_THRESHOLD
    with serving.app_context():
        db.engine.dispose()  # its pooled connections, before the app is garbage-collected
