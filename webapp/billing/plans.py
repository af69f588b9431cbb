"""The plans on sale (practitioner, clinic per practitioner), kept in step with the configuration."""

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from webapp.billing.models import Plan
from webapp.billing.rules import CURRENCY, PLAN_INTERVAL
from webapp.billing.vat_exemption import plan_vat_rate_bp
from webapp.extensions import db

PRACTITIONER_PLAN = "practitioner"
CLINIC_PLAN = "clinic"
PLAN_NAMES = {
    PRACTITIONER_PLAN: _l("Practitioner"),
    CLINIC_PLAN: _l("Clinic (per practitioner)"),
}


def plan_name(plan: Plan) -> str:
    return str(PLAN_NAMES.get(plan.code, plan.code))


def sync_plans() -> dict[str, Plan]:
    """Create or update the plans from the configuration; returns them by code.

    A price change applies to invoices issued from then on; issued invoices
    keep their own amounts.
    """
    config = current_app.config
    vat_rate_bp = plan_vat_rate_bp(config)
    wanted = {
        PRACTITIONER_PLAN: dict(price_cents=config["CARNET_PLAN_PRACTITIONER_CENTS"], per_practitioner=False,
                                stripe_price_id=config["STRIPE_PRICE_ID"] or None),
        CLINIC_PLAN: dict(price_cents=config["CARNET_PLAN_CLINIC_CENTS"], per_practitioner=True,
                          stripe_price_id=config["STRIPE_CLINIC_PRICE_ID"] or None),
    }
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Plan).values([dict(code=code, vat_rate_bp=vat_rate_bp, currency=CURRENCY, interval=PLAN_INTERVAL,
                                  **values)
                             for code, values in wanted.items()]).on_conflict_do_nothing(index_elements=["code"])
    )
    plans = {plan.code: plan for plan in db.session.scalars(sa.select(Plan).where(Plan.code.in_(wanted)))}
    for code, values in wanted.items():
        plan = plans[code]
        for name, value in (values | {"vat_rate_bp": vat_rate_bp}).items():
            if getattr(plan, name) != value:
                setattr(plan, name, value)
    db.session.flush()
    return plans


def list_plans() -> list[Plan]:
    return sorted(sync_plans().values(), key=lambda plan: plan.code != PRACTITIONER_PLAN)
