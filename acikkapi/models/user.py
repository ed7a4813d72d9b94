import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acikkapi.models.base import Base, created_at_column, str_enum
from acikkapi.models.reference import District, Province, Unit


class Role(enum.Enum):
    AKS = "Açık Kapı Sorumlusu"
    YETKILI = "Yetkili"
    MIA = "Mülki İdare Amiri"
    YETKI_ISLEMLERI = "Yetki İşlemleri"
    ANALIST = "Veri Analiz Görevlisi"


user_unit = Table(
    "user_unit",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_no", ForeignKey("unit.detsis_no"), primary_key=True, index=True),
)


class User(Base):
    """A staff user: one role, one province, and for a Yetkili one or more DETSİS units.

    The office an AKS or MİA works for is their province's (valilik), or a district's (kaymakamlık) when
    `district_id` is set: it decides which applications they see (permissions/applications.py)."""

    __tablename__ = "app_user"
    __table_args__ = (
        # One active account per person: sign-in by T.C. Kimlik No is never ambiguous. A deactivated account
        # stays (histories name it) and the person may be registered again.
        Index("uq_app_user_tckn_active", "tckn", unique=True, postgresql_where=text("active")),
        Index("ix_app_user_tckn", "tckn"),  # Kullanıcı Arama finds deactivated accounts too
        Index("ix_app_user_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tckn: Mapped[str] = mapped_column(String(11))
    first_name: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(10))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)  # null: loaded
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    province: Mapped[Province | None] = relationship(lazy="raise")
    district: Mapped[District | None] = relationship(lazy="raise")
    units: Mapped[list[Unit]] = relationship(secondary=user_unit, lazy="raise")
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id], remote_side=[id], lazy="raise")
    updated_by: Mapped["User | None"] = relationship(foreign_keys=[updated_by_id], remote_side=[id], lazy="raise")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
