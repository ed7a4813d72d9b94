import enum
from datetime import datetime

from sqlalchemy import Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column, str_enum


class OutboxStatus(enum.Enum):
    PENDING = "Bekliyor"
    SENT = "Gönderildi"
    FAILED = "Gönderilemedi"
    EXPIRED = "Süresi Doldu"  # a one-time code that could not leave before its expiry: never sent


class OutboxMessage(Base):
    """An SMS waiting to leave. Written in the transaction of the change that caused it.

    It holds a template name and its parameters, rendered only when sent, so a one-time code can be
    removed from the row once it is sent or expired."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "next_attempt_at", postgresql_where=text("status = 'PENDING'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # Higher first: a one-time code does not queue behind a backlog of notifications.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    not_after: Mapped[datetime | None]  # never sent after this (a one-time code's expiry)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING, server_default=OutboxStatus.PENDING.name)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # A dispatcher is sending it until then; once passed (the dispatcher died), any dispatcher may claim it.
    leased_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
