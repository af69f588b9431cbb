"""The one search box: what a patient types, turned into conditions on practitioners.

"dermato lyon", "Médecin généraliste 69003", "kiné Dupont", "martin":
specialty terms (webapp.booking.specialty_terms) become a specialty
condition, a number becomes a postcode prefix, and every other word must
be found in the first name, the last name or the city, all compared
without case or accents, on SQLite and PostgreSQL alike.
"""

import datetime as dt
import sqlite3

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from webapp.accounts.models import PractitionerProfile
from webapp.billing.bookability import bookable_condition
from webapp.booking import next_availability, specialty_terms
from webapp.booking.availability import next_available_starts
from webapp.booking.next_availability import NextAvailability
from webapp.booking.specialty_terms import fold
from webapp.db import now_utc
from webapp.extensions import db

# The database side of `fold`, letter for letter (both databases: no extension needed).
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ-'’"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy   "
_TABLE = str.maketrans(_ACCENTED, _PLAIN)
MAX_WORDS = 8  # beyond that, a query is not a search any more
POSTCODE_DIGITS = range(2, 6)
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
# Practitioners verified beyond the page at first: a few stale values need not cost a second round.
VERIFY_MARGIN = 4


class folded(FunctionElement):
    """A text column lower-cased, without accents, hyphens or apostrophes."""

    type = sa.String()
    inherit_cache = True


@compiles(folded)
def _folded_default(element, compiler, **kw):
    accented = _ACCENTED.replace("'", "''")
    return f"lower(translate({compiler.process(element.clauses, **kw)}, '{accented}', '{_PLAIN}'))"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"carnet_fold({compiler.process(element.clauses, **kw)})"


def _fold_in_sqlite(value):
    return None if value is None else value.translate(_TABLE).lower()


@sa.event.listens_for(sa.engine.Engine, "connect")
def _register_sqlite_fold(dbapi_connection, connection_record) -> None:
    """SQLite has no `translate`: the same folding, as a Python function."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("carnet_fold", 1, _fold_in_sqlite, deterministic=True)


def _contains(column, word: str):
    return folded(column).contains(word, autoescape=True)


def _word_condition(word: str):
    """A leftover word: part of a name or of the city, or the start of a specialty term."""
    conditions = [_contains(PractitionerProfile.first_name, word), _contains(PractitionerProfile.last_name, word),
                  _contains(PractitionerProfile.city, word)]
    if codes := specialty_terms.specialties_starting_with(word):
        conditions.append(PractitionerProfile.specialty.in_(sorted(codes)))
    return sa.or_(*conditions)


def query_conditions(text: str | None) -> list:
    """The conditions every result must meet for the search `text` (none for an empty one)."""
    words = fold(text or "").split()[:MAX_WORDS]
    named, rest = specialty_terms.specialties_named(words)
    rest = [word for word in rest if word not in specialty_terms.STOP_WORDS]
    if not named and rest == [specialty_terms.GENERIC_DOCTOR]:
        named, rest = [specialty_terms.TERMS["medecin generaliste"]], []
    rest = [word for word in rest if word != specialty_terms.GENERIC_DOCTOR]
    conditions = [PractitionerProfile.specialty.in_(sorted(codes)) for codes in named]
    for word in rest:
        if word.isdigit() and len(word) in POSTCODE_DIGITS:
            conditions.append(PractitionerProfile.postcode.startswith(word, autoescape=True))
        else:
            conditions.append(_word_condition(word))
    return conditions


def place_condition(place: str):
    """A place typed alone: a postcode (prefix) or a city (its beginning), accents ignored."""
    place = place.strip()
    if place[:2].isdigit():
        return PractitionerProfile.postcode.startswith(place, autoescape=True)
    return folded(PractitionerProfile.city).startswith(fold(place), autoescape=True)


def _listed():
    return sa.and_(PractitionerProfile.is_verified, bookable_condition(PractitionerProfile.id))


def suggestions(text: str, limit: int = 8) -> list[str]:
    """Completions of what is being typed: specialty terms, then listed
    practitioners' names, then cities (completing the last word, so that
    "dermato ly" suggests "dermato Lyon")."""
    typed = fold(text)
    if len(typed) < 2:
        return []
    *before, last = text.split()
    found = specialty_terms.suggestion_labels(typed, limit=limit // 2)
    names = db.session.execute(
        sa.select(PractitionerProfile.first_name, PractitionerProfile.last_name).where(
            _listed(), sa.or_(folded(PractitionerProfile.last_name).startswith(typed, autoescape=True),
                              folded(PractitionerProfile.first_name).startswith(typed, autoescape=True)))
        .order_by(PractitionerProfile.last_name, PractitionerProfile.first_name).limit(limit))
    found += [f"{first} {last_name}" for first, last_name in names]
    cities = db.session.scalars(
        sa.select(PractitionerProfile.city).where(_listed(), folded(PractitionerProfile.city).startswith(
            fold(last), autoescape=True)).group_by(PractitionerProfile.city).order_by(PractitionerProfile.city)
        .limit(limit))
    found += [" ".join([*before, city]) for city in cities]
    return list(dict.fromkeys(found))[:limit]


def search_practitioners(*, specialty: str | None = None, city: str | None = None, postcode: str | None = None,
                         place: str | None = None, text: str | None = None) -> sa.Select:
    """Verified practitioners bookable online matching every given criterion:
    a specialty code, a city or postcode (prefix), and what a patient typed in
    the search box (`text`: names, specialty terms, places: `query_conditions`).
    `place` is either a postcode (digits) or a city."""
    statement = sa.select(PractitionerProfile).where(PractitionerProfile.is_verified,
                                                     bookable_condition(PractitionerProfile.id))
    if specialty:
        statement = statement.where(PractitionerProfile.specialty == specialty)
    for typed in (place, city, postcode):
        if typed and typed.strip():
            statement = statement.where(place_condition(typed))
    statement = statement.where(*query_conditions(text))
    return statement.order_by(PractitionerProfile.last_name, PractitionerProfile.first_name, PractitionerProfile.id)


def _lower_bounds(ids: list[int], now: dt.datetime) -> dict[int, dt.datetime | None]:
    """What the stored next availability guarantees for each practitioner: no
    free start before the value returned, None meaning none at all.

    Past its `stale_at`, time may have moved a value: a start can only have
    become later (slots pass, notice grows), bounded below by now + the
    notice (which `stale_at` encodes: start − notice); "none" may have become
    a start on the day the horizon just opened, so it guarantees only `now`,
    as a row never computed does."""
    bounds: dict[int, dt.datetime | None] = dict.fromkeys(ids, now)
    for first in range(0, len(ids), next_availability.REFRESH_BATCH):
        for pid, start, stale_at in db.session.execute(
                sa.select(NextAvailability.practitioner_id, NextAvailability.next_start_at, NextAvailability.stale_at)
                .where(NextAvailability.practitioner_id.in_(ids[first:first + next_availability.REFRESH_BATCH]))):
            if stale_at >= now:
                bounds[pid] = start
            elif start is not None:
                bounds[pid] = max(start, now + (start - stale_at))
    return bounds


def search_page_by_next_available(statement: sa.Select, *, page: int, per_page: int,
                                  now: dt.datetime | None = None) -> dict:
    """One page of a search's practitioners, soonest available first (those
    with nothing free within their horizon last, name order between equals),
    with each one's next available start in `next_available`.

    The stored next availability (webapp.booking.next_availability) is a lower
    bound of the true one (holds and time can only make it later). Candidates
    are verified in the order of that bound, the true value computed with
    holds counted, until the page's last verified practitioner comes before
    the bound of every one not verified: the page is then exactly the one a
    full computation would give, for the cost of verifying about one page."""
    now = now or now_utc()
    ids = list(db.session.scalars(statement.with_only_columns(PractitionerProfile.id)))
    rank = {pid: position for position, pid in enumerate(ids)}  # the search's name order breaks ties

    def key(pid: int, start: dt.datetime | None) -> tuple:
        return (start is None, start or NEVER, rank[pid])

    bounds = _lower_bounds(ids, now)
    candidates = sorted(ids, key=lambda pid: key(pid, bounds[pid]))
    wanted = page * per_page
    verified: dict[int, dt.datetime | None] = {}
    batch = wanted + VERIFY_MARGIN
    position = 0
    while position < len(candidates):
        verified |= next_available_starts(candidates[position:position + batch], now=now)
        position += batch
        batch *= 2
        ordered = sorted(verified, key=lambda pid: key(pid, verified[pid]))
        if position >= len(candidates) or (len(ordered) >= wanted and key(ordered[wanted - 1], verified[
                ordered[wanted - 1]]) < key(candidates[position], bounds[candidates[position]])):
            break
    ordered = sorted(verified, key=lambda pid: key(pid, verified[pid]))
    chosen = ordered[(page - 1) * per_page:wanted]
    profiles = {profile.id: profile for profile in db.session.scalars(
        sa.select(PractitionerProfile).where(PractitionerProfile.id.in_(chosen)))}
    return {"items": [profiles[pid] for pid in chosen], "page": page, "per_page": per_page, "total": len(ids),
            "next_available": {pid: verified[pid] for pid in chosen}}
