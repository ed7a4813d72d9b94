from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column


class KvkkAccessLog(Base):
    """One staff read of an applicant's personal data (KVKK): who, which application, which fields, when.

    Append-only: the database refuses to change or delete a row (migration 0009's trigger)."""

    __tablename__ = "kvkk_access_log"
    __table_args__ = (
        Index("ix_kvkk_access_log_user_id_created_at", "user_id", "created_at"),
        Index("ix_kvkk_access_log_application_id_created_at", "application_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(32)))  # the GraphQL names of the fields read
    created_at: Mapped[datetime] = created_at_column()
