"""Pro Santé Connect: practitioners log in with their e-CPS (OpenID Connect).

Off unless CARNET_PSC_ISSUER, CARNET_PSC_CLIENT_ID and CARNET_PSC_CLIENT_SECRET
are set: then, and only then, `init_pro_sante_connect` registers the OpenID
Connect client and the pages (`/login/psc`, its callback, linking an
existing account, completing a new one) and the login page shows the button.
`client.py` speaks the protocol, `services.py` holds the account rules.
"""

from flask import Blueprint, Flask

from webapp.accounts.pro_sante_connect.client import check_settings, is_configured, register_client

bp = Blueprint("pro_sante_connect", __name__)


def init_pro_sante_connect(app: Flask) -> None:
    enabled = is_configured(app.config)
    app.jinja_env.globals["pro_sante_connect_enabled"] = enabled
    if not enabled:
        return
    check_settings(app.config)
    register_client(app)
    app.register_blueprint(bp)


# The routes are always declared, on a blueprint the app only registers when configured.
from webapp.accounts.pro_sante_connect import views  # noqa: E402,F401
