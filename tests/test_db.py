"""How the application talks to its database: SQLite in write-ahead-log mode,
PostgreSQL transactions that only read ended by a commit."""

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.accounts.models import Role, User
from webapp.db import end_read_only_transaction
from webapp.extensions import db


def user_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


@pytest.mark.sqlite_only
def test_sqlite_files_use_the_write_ahead_log_and_normal_syncing():
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(sa.text("PRAGMA synchronous")).scalar() == 1  # NORMAL


@pytest.mark.postgres_only
def test_a_postgresql_transaction_that_only_read_is_committed():
    factories.make_patient()
    assert user_count() == 1
    end_read_only_transaction(db.session())
    assert db.session().get_transaction() is None


@pytest.mark.postgres_only
def test_a_postgresql_transaction_that_wrote_is_left_to_be_rolled_back():
    db.session.execute(sa.insert(User).values(email="flushed@example.com", password_hash="x", role=Role.PATIENT,
                                              locale="fr"))
    end_read_only_transaction(db.session())
    assert db.session().get_transaction().is_active
    db.session.rollback()
    assert user_count() == 0


@pytest.mark.postgres_only
def test_unflushed_changes_are_left_to_be_rolled_back():
    assert user_count() == 0
    db.session.add(factories.make_user(commit=False))
    with db.session.no_autoflush:
        end_read_only_transaction(db.session())
    assert db.session().get_transaction().is_active and db.session.new
    db.session.rollback()
    assert user_count() == 0


@pytest.mark.sqlite_only
def test_sqlite_transactions_are_left_alone():
    assert user_count() == 0
    end_read_only_transaction(db.session())
    assert db.session().get_transaction().is_active
