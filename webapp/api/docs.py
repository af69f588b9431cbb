"""`/api/docs`: Swagger UI over `/api/v1/openapi.json`, every asset served here.

The Swagger UI files come from the `flask-swagger-ui` package (its `dist`
folder); its own blueprint is not used because its page starts Swagger UI
from an inline script, which the app's Content-Security-Policy forbids.
"""

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template, url_for

from webapp.extensions import limiter

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).parent / "dist"

bp = Blueprint(
    "api_docs", __name__, url_prefix="/api/docs", template_folder="templates",
    static_folder=str(SWAGGER_UI_DIST), static_url_path="/assets",
)


@bp.route("")
@limiter.exempt
def docs():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))
