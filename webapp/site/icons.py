"""`/favicon.ico` at the root, where browsers look for it on pages without a
link to the icon (a PDF, a JSON answer): the file in `static/`, cached a day."""

from flask import current_app, send_from_directory

from webapp.extensions import limiter
from webapp.site import bp

ICON_MAX_AGE_SECONDS = 24 * 3600


@bp.route("/favicon.ico")
@limiter.exempt
def favicon():
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=ICON_MAX_AGE_SECONDS)
