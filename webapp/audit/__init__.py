"""Audit trail: an append-only, hash-chained log of security-relevant actions."""

from flask import Blueprint

bp = Blueprint("audit", __name__, template_folder="templates")

from webapp.audit import views  # noqa: E402,F401  (registers the routes)
