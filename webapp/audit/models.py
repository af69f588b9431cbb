"""The audit events and the head of their hash chain."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db

GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """One security-relevant action. Rows are only ever inserted.

    `id` is the position in the chain, assigned under the chain-head lock
    (1, 2, 3... without gaps), so a removed row shows as a gap. `hash` covers
    every other column plus `prev_hash`, the hash of the row before.
    """

    __tablename__ = "audit_events"
    # "append_only": PostgreSQL refuses UPDATE, DELETE and TRUNCATE here (triggers of the baseline migration).
    __table_args__ = (
        sa.Index("ix_audit_events_actor_id_occurred_at", "actor_id", "occurred_at"),
        sa.Index("ix_audit_events_target", "target_type", "target_id"),
        sa.Index("ix_audit_events_action", "action"),
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime]
    # A plain id, not a foreign key: the trail outlives closed accounts.
    actor_id: Mapped[int | None]
    actor_role: Mapped[str | None] = mapped_column(sa.String(30))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class AuditChainHead(db.Model):
    """The single row that names the last event of the chain.

    Appenders lock it, so two transactions never extend the chain from the
    same event; it also reveals a removed last row.
    """

    __tablename__ = "audit_chain_heads"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_event_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(sa.String(64))
