"""Paged lists, for pages and the API alike: the page number of a request and one page of a query."""

import sqlalchemy as sa
from flask import request

from webapp.extensions import db

# Page numbers run from 1 to this everywhere (the API's `page` parameter too):
# past it, an offset would only make the database scan for nothing.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """The `?page=` of a paged page: 1 when missing, not a number or out of bounds
    (a page never fails on a hand-edited link)."""
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and 1 <= int(page) <= MAX_PAGE else 1


def paginate(statement: sa.Select, *, page: int, per_page: int, sorting=None, sort: str | None = None) -> dict:
    """Run `statement` for one page, ordered by `sort` when the list has a
    `sorting` (a `webapp.api.pagination.Sorting`)."""
    if sorting is not None:
        statement = sorting.apply(statement, sort or sorting.default)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()))
    items = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}
