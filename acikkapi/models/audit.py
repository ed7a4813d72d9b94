import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column, str_enum
from acikkapi.models.user import Role


class AuditEntity(enum.Enum):
    """What a change of Yetki İşlemleri was made to."""

    USER = "Kullanıcı"
    SERVICE_CATEGORY = "Hizmet Başlığı"
    UNIT = "DETSİS Birimi"


class AuditAction(enum.Enum):
    CREATED = "Eklendi"
    UPDATED = "Güncellendi"
    DEACTIVATED = "Pasifleştirildi"
    REACTIVATED = "Etkinleştirildi"
    IMPORTED = "DETSİS dosyasından güncellendi"


class AuditEvent(Base):
    """One change made in Yetki İşlemleri: who, to what, before → after (the changed fields only), when.

    `province_id` is the province the changed row belongs to (a user's, a unit's); null for what is national
    (service categories, national units and users): admins of a province see their province's events, the
    ministry's admins every event. Append-only: the database refuses to change or delete a row (migration 0014)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_province_id_id", "province_id", "id"),
        Index("ix_audit_event_entity_entity_id_id", "entity", "entity_id", "id"),
        Index("ix_audit_event_actor_id_id", "actor_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(160))  # the name and role at the time, as histories keep it
    actor_role: Mapped[Role] = mapped_column(str_enum(Role))
    entity: Mapped[AuditEntity] = mapped_column(str_enum(AuditEntity))
    entity_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()
