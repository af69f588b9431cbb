"""`POST /billing/stripe/webhook`: Stripe events, signature checked on the raw body."""

import sqlalchemy as sa
from flask import jsonify, request

from webapp.billing import bp
from webapp.extensions import csrf, db, limiter
from webapp.transaction import transaction


@bp.route("/billing/stripe/webhook", methods=["POST"])
@csrf.exempt  # Stripe signs the request instead; it has no session nor CSRF token.
@limiter.exempt
def stripe_webhook():
    from webapp.billing.providers import stripe as stripe_provider  # the Stripe library only where it is called

    event = stripe_provider.verified_event(request.get_data(), request.headers.get("Stripe-Signature"))
    try:
        with transaction():
            applied = stripe_provider.handle_event(event)
    except sa.exc.IntegrityError:
        # The same event delivered twice at once: the other delivery applied it.
        # Any other conflict is answered 500, so Stripe delivers the event again.
        db.session.rollback()
        if not stripe_provider.is_processed(event["id"]):
            raise
        applied = False
    return jsonify(received=True, applied=applied)
