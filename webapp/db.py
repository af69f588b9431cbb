"""Declarative base, constraint naming convention and the UTC datetime type."""

import datetime as dt
import logging
import sqlite3

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, registry
from werkzeug.routing import IntegerConverter

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@sa.event.listens_for(sa.engine.Engine, "connect")
def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite files in write-ahead-log mode: readers never block the writer, and
    a commit appends to the log instead of syncing the whole database file.

    With `synchronous=NORMAL` a commit survives a crash of the application;
    only a power loss may drop the last commits, never corrupt the file. An
    in-memory database ignores both settings."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


_WROTE = "carnet_wrote_in_transaction"


@sa.event.listens_for(sa.engine.Engine, "begin")
def _forget_writes(connection) -> None:
    connection.info.pop(_WROTE, None)


# Whether the transaction sent anything but SELECT: only then may
# `end_read_only_transaction` not commit it. The session's own state is not
# enough, since services also write with Core statements (insert, update).
@sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
def _note_writes(connection, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        connection.info[_WROTE] = True


def end_read_only_transaction(session: Session) -> None:
    """Commit, rather than roll back, a PostgreSQL transaction that only read.

    Both end it the same way, but the driver forgets its prepared statements
    on every ROLLBACK: ending each request that only reads with one would
    make PostgreSQL plan every query of every request again. A transaction
    that wrote anything, holds unflushed changes or failed is left alone
    (the caller rolls it back).

    Kept for its measured gain: `bench/run --quick --only B1 --no-sqlite`,
    two runs each on a busy 2-core machine (2026-12-05), median / p95 in ms:
    B1 slots 14 days over HTTP 3.47-3.54 / 3.8-4.7 with it, 4.39-4.46 /
    4.6-5.0 without; 1 day 2.35-2.37 / 2.6-3.1 with, 3.19-3.41 / 3.4-6.6
    without (about 0.9 ms, a quarter, off every read-only request).
    Without a benchmark showing such a gain, go back to the plain rollback."""
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active or session.new or session.dirty or session.deleted:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and not connection.info.get(_WROTE):
        try:
            session.commit()
        except sa.exc.DBAPIError:
            # A teardown must not raise; removing the session then rolls back as before.
            logging.getLogger(__name__).warning("could not end a read-only transaction", exc_info=True)


def system_time() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# The app's one clock: everything that stamps or compares "now" reads it
# through `now_utc()`, so that tests can freeze it (tests/conftest.py).
clock = system_time


def now_utc() -> dt.datetime:
    return clock()


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime; naive values are refused.

    SQLite has no timezone support, so values are stored as naive UTC and
    made aware again when loaded; PostgreSQL stores `timestamptz`.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused: {value!r}")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


def enum_type(enum_class: type) -> sa.Enum:
    """A portable enum column that stores the members' values ("patient")."""
    return sa.Enum(
        enum_class, native_enum=False, length=30, validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs holds a database id: a number outside the id range
    matches no route (404) instead of overflowing the database driver (500)."""

    def __init__(self, map, *args, min=1, max=MAX_ID, **kwargs):
        super().__init__(map, *args, min=min, max=max, **kwargs)
