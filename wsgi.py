"""gunicorn entry point: `gunicorn wsgi:app`."""

from webapp import create_app, freeze_startup_heap, tune_collector
from webapp.notebook.keys import check_encryption_keys

app = create_app()
with app.app_context():
    # Refuse to start when stored notebook data cannot be decrypted with the configured keys.
    check_encryption_keys()
# Last: what the worker holds from here on is per request, all the rest lives as long as it.
freeze_startup_heap()
# Then the caches the first requests fill are frozen too (measured gains: `webapp.tune_collector`).
tune_collector(app)
