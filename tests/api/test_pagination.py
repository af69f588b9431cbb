"""Paging, sorting and their refusals, on the token list (`GET /api/v1/me/tokens`)."""

import datetime as dt

import marshmallow as ma
import pytest
import sqlalchemy as sa

from tests import factories
from webapp.accounts import api_tokens
from webapp.accounts.models import ApiToken, Role
from webapp.api.pagination import Sorting, list_query_schema
from webapp.db import now_utc
from webapp.extensions import db


@pytest.fixture
def account_with_tokens(api_token):
    """A patient with 5 tokens created a minute apart; returns (headers, ids oldest first)."""
    user = factories.make_patient().account
    start = now_utc() - dt.timedelta(hours=1)
    for minute in range(4):
        _, token = api_tokens.issue_api_token(user)
        token.created_at = start + dt.timedelta(minutes=minute)
        token.expires_at = start + dt.timedelta(days=30 - minute)
    db.session.commit()
    headers = api_token(user)  # the fifth and newest
    ids = list(db.session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == user.id)
                                  .order_by(ApiToken.created_at)))
    return headers, ids


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_pages_split_the_list_without_overlap(client, account_with_tokens):
    headers, ids = account_with_tokens
    pages = [client.get(f"/api/v1/me/tokens?per_page=2&page={page}", headers=headers) for page in (1, 2, 3, 4)]
    assert [ids_of(page) for page in pages] == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:], []]
    assert {page.json["total"] for page in pages} == {5}
    assert pages[1].json["page"] == 2 and pages[1].json["per_page"] == 2


@pytest.mark.parametrize(("sort", "expected"), [
    ("created_at", lambda ids: ids),
    ("-created_at", lambda ids: ids[::-1]),
    ("expires_at", lambda ids: ids[:4][::-1] + ids[4:]),
])
def test_sort_by_an_allowed_field(client, account_with_tokens, sort, expected):
    headers, ids = account_with_tokens
    assert ids_of(client.get(f"/api/v1/me/tokens?sort={sort}", headers=headers)) == expected(ids)


def test_per_page_of_100_is_allowed(client, account_with_tokens):
    headers, ids = account_with_tokens
    assert len(ids_of(client.get("/api/v1/me/tokens?per_page=100", headers=headers))) == 5


@pytest.mark.parametrize(("query", "field"), [
    ("per_page=101", "per_page"),
    ("per_page=0", "per_page"),
    ("per_page=-5", "per_page"),
    ("per_page=ten", "per_page"),
    ("page=0", "page"),
    ("page=1.5", "page"),
    ("sort=token_hash", "sort"),
    ("sort=--created_at", "sort"),
])
def test_out_of_range_paging_or_unknown_sort_is_a_422(client, account_with_tokens, query, field):
    headers, _ = account_with_tokens
    response = client.get(f"/api/v1/me/tokens?{query}", headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"]


FEATURE_LISTS = {
    "/api/v1/practitioners", "/api/v1/appointments", "/api/v1/patients/{patient_id}/notebook/entries",
    "/api/v1/patients/{patient_id}/notebook/access-log", "/api/v1/billing/invoices",
    "/api/v1/backoffice/subscriptions", "/api/v1/backoffice/invoices", "/api/v1/backoffice/failed-payments",
}


def test_every_paged_list_refuses_more_than_100_per_page(client, api_token):
    spec = client.get("/api/v1/openapi.json").json
    paged = {path: {p["name"]: p["schema"] for p in item["get"]["parameters"]}
             for path, item in spec["paths"].items()
             if any(p["name"] == "per_page" for p in item.get("get", {}).get("parameters", []))}
    assert FEATURE_LISTS <= set(paged)
    patient = factories.make_patient()
    callers = [api_token(patient.account), api_token(factories.make_practitioner().user),
               api_token(factories.make_staff(role=Role.ADMIN))]
    for path, parameters in paged.items():
        assert parameters["per_page"]["maximum"] == 100, path
        url = path.replace("{patient_id}", str(patient.id))
        statuses = {client.get(f"{url}?per_page=101", headers=headers).status_code for headers in callers}
        # Some callers may be refused the list for their role; none is served it.
        assert 422 in statuses and statuses <= {403, 422}, (path, statuses)


def test_list_query_schema_combines_paging_sorting_and_filters():
    sorting = Sorting({"created_at": ApiToken.created_at}, default="-created_at", tiebreaker=ApiToken.id)
    schema = list_query_schema("ExampleQuery", sorting=sorting, filters={"kind": ma.fields.String()})()
    assert schema.load({}) == {"page": 1, "per_page": 20, "sort": "-created_at"}
    assert schema.load({"kind": "note", "sort": "created_at"})["kind"] == "note"
    with pytest.raises(ma.ValidationError):
        schema.load({"sort": "id"})


def test_sorting_refuses_a_default_outside_its_fields():
    with pytest.raises(ValueError):
        Sorting({"created_at": ApiToken.created_at}, default="name", tiebreaker=ApiToken.id)
