import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, true
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
    id: Mapped[int] = mapped_column(primary_key=True)
    tckn: Mapped[str] = mapped_column(String(11), unique=True)
    first_name: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(10))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None]

    province: Mapped[Province | None] = relationship(lazy="raise")
    district: Mapped[District | None] = relationship(lazy="raise")
    units: Mapped[list[Unit]] = relationship(secondary=user_unit, lazy="raise")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
