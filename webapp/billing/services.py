"""Billing rules that other features ask about.

Booking asks only this: is a practitioner bookable online? A practitioner
whose subscription is suspended is not (their data, appointments and notebook
access stay).
"""

import sqlalchemy as sa

from webapp.extensions import db


def bookable_condition(practitioner_id_column) -> sa.ColumnElement[bool]:
    """A SQL condition, true for practitioners bookable online, to put in a
    search query's WHERE clause (one query for any number of practitioners)."""
    return sa.true()


def is_bookable(practitioner_id: int) -> bool:
    return bool(db.session.scalar(sa.select(bookable_condition(sa.literal(practitioner_id)))))
