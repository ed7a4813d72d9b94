import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acikkapi.models.base import Base, created_at_column, str_enum
from acikkapi.models.reference import Unit


class RoutingStatus(enum.Enum):
    OPEN = "Cevap Bekleniyor"
    ANSWERED = "Cevaplandı"
    RETURNED = "Yeniden Cevap Bekleniyor"  # the AKS sent the answer back with a reason


class Routing(Base):
    """One assignment of an application to a DETSİS unit (İlgili Birime Yönlendirme), with its own state, due
    date and answer. Assignments form a tree: `parent_id` names the assignment a sub-unit's was made under.
    Whether it is overdue is derived from `due_date` (services/business_days.py), never stored."""

    __tablename__ = "routing"
    __table_args__ = (
        Index(None, "application_id", "unit_no", unique=True),
        # a unit's routings, open first by due date; with their applications, for the search by routed unit
        Index(None, "unit_no", "status", "due_date", postgresql_include=["application_id"]),
        # The routings still waiting, by due date: the overdue view and the "overdue" filter.
        Index("ix_routing_waiting_due_date", "due_date", postgresql_where=text("status <> 'ANSWERED'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("routing.id", ondelete="CASCADE"), index=True)
    unit_no: Mapped[int] = mapped_column(ForeignKey("unit.detsis_no"))
    status: Mapped[RoutingStatus] = mapped_column(
        str_enum(RoutingStatus), default=RoutingStatus.OPEN, server_default=RoutingStatus.OPEN.name)
    due_date: Mapped[date]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    answered_at: Mapped[datetime | None]
    return_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    unit: Mapped[Unit] = relationship(lazy="raise")
