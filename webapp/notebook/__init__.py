"""Notebook: the shared health notebook, its access rules, log, charts and export."""

from flask import Blueprint

bp = Blueprint("notebook", __name__, template_folder="templates")

from webapp.notebook import guards, models, views  # noqa: E402,F401  (registers the models, guards and routes)
