"""Home page, `/healthz` and the language switch."""

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from webapp.accounts.locale import set_account_locale
from webapp.accounts.specialties import SPECIALTIES
from webapp.extensions import db, limiter
from webapp.site import bp
from webapp.transaction import transaction
from webapp.urls import safe_next_url


@bp.route("/")
def home():
    return render_template("site/home.html", specialties=SPECIALTIES, search_url=url_for("booking.search"))


@bp.route("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["CARNET_LOCALES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            with transaction():
                set_account_locale(current_user, code)
    return redirect(safe_next_url(request.form.get("next"), url_for("site.home")))
