import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from acikkapi.models.base import Base, created_at_column, str_enum


class LookupPurpose(enum.Enum):
    """Why a staff member asked the identity service about a person."""

    REGISTER_APPLICATION = "Başvuru Kaydı"
    REGISTER_USER = "Kullanıcı Kaydı"


class LookupOutcome(enum.Enum):
    FOUND = "Kişi bulundu"
    NOT_FOUND = "Kişi bulunamadı"
    OTHER_PROVINCE = "İkametgâh başka bir ilde"
    UNAVAILABLE = "Kimlik servisine ulaşılamadı"


class IdentityLookup(Base):
    """One identity lookup by number by a staff member (KVKK): who, whose, why, what came of it, when.

    The row is written before the identity service is called; `outcome` is null until its answer is known."""

    __tablename__ = "identity_lookup"
    __table_args__ = (
        Index("ix_identity_lookup_user_id_created_at", "user_id", "created_at"),
        Index("ix_identity_lookup_tckn_created_at", "tckn", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    tckn: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[LookupPurpose] = mapped_column(str_enum(LookupPurpose))
    outcome: Mapped[LookupOutcome | None] = mapped_column(str_enum(LookupOutcome))
    created_at: Mapped[datetime] = created_at_column()
