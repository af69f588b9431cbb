"""Paged lists: `?page=&per_page=&sort=` in, `{items, page, per_page, total}` out.

Every list endpoint takes the same query: `page` (from 1), `per_page` (1 to
100: anything else is a 422, never silently capped) and, where the endpoint
allows sorting, `sort=field` (ascending) or `sort=-field` (descending) over
an allow-list of fields. Build the query schema with `list_query_schema`;
`webapp.paging.paginate` runs the query for one page.
"""

from collections.abc import Mapping

import marshmallow as ma
import sqlalchemy as sa

from webapp.paging import MAX_PAGE

MAX_PER_PAGE = 100


class PaginationQuerySchema(ma.Schema):
    page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": "Page number, from 1.", "example": 1},
    )
    per_page = ma.fields.Integer(
        load_default=20, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"description": f"Items per page, 1 to {MAX_PER_PAGE}.", "example": 20},
    )


class Sorting:
    """The sort keys a list endpoint allows, each mapped to its column.

    `tiebreaker` (usually the primary key) follows the chosen key so that
    pages never overlap or skip rows with equal values.
    """

    def __init__(self, columns: Mapping[str, sa.ColumnElement], *, default: str, tiebreaker: sa.ColumnElement):
        if default.lstrip("-") not in columns:
            raise ValueError(f"default sort {default!r} is not one of {sorted(columns)}")
        self.columns = dict(columns)
        self.default = default
        self.tiebreaker = tiebreaker

    @property
    def choices(self) -> list[str]:
        return [prefix + name for name in self.columns for prefix in ("", "-")]

    def field(self) -> ma.fields.String:
        return ma.fields.String(
            load_default=self.default, validate=ma.validate.OneOf(self.choices),
            metadata={"description": "Sort key; prefix with `-` for descending order.", "example": self.default},
        )

    def apply(self, statement: sa.Select, sort: str) -> sa.Select:
        descending = sort.startswith("-")
        column = self.columns[sort.lstrip("-")]
        order = (column.desc(), self.tiebreaker.desc()) if descending else (column.asc(), self.tiebreaker.asc())
        return statement.order_by(None).order_by(*order)


def list_query_schema(name: str, *, sorting: Sorting | None = None,
                      filters: Mapping[str, ma.fields.Field] | None = None) -> type[ma.Schema]:
    """The query schema of a list endpoint: pagination, `sort` if allowed, filters."""
    fields = dict(filters or {})
    if sorting is not None:
        fields["sort"] = sorting.field()
    return type(name, (PaginationQuerySchema,), fields)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The `{items, page, per_page, total}` envelope for a list of `item_schema`."""
    return ma.Schema.from_dict({
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "page": ma.fields.Integer(required=True, metadata={"example": 1}),
        "per_page": ma.fields.Integer(required=True, metadata={"example": 20}),
        "total": ma.fields.Integer(required=True, metadata={"example": 1}),
    }, name=name)
