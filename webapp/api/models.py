"""Idempotency keys: the first answer to a retried POST, kept for a day."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import now_utc
from webapp.extensions import db


class IdempotencyKey(db.Model):
    """One `Idempotency-Key` of one account. While the first request runs,
    `response_status` is null; the unique (user, key) pair stops a concurrent
    duplicate from running the handler a second time."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_mimetype: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)

    @property
    def is_finished(self) -> bool:
        return self.response_status is not None
