import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column, str_enum


class OutboxStatus(enum.Enum):
    PENDING = "Bekliyor"
    SENT = "Gönderildi"
    FAILED = "Gönderilemedi"


class OutboxMessage(Base):
    """An SMS waiting to leave. Written in the transaction of the change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "next_attempt_at", postgresql_where=text("status = 'PENDING'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING, server_default=OutboxStatus.PENDING.name)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
