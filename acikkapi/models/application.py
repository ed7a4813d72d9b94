import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger, Computed, ForeignKey, Index, Sequence, SmallInteger, String, Text, false, func, text, true,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acikkapi.models.base import Base, created_at_column, str_enum
from acikkapi.models.reference import District, Place, Province, ServiceCategory, folded
from acikkapi.models.user import Role

if TYPE_CHECKING:
    from acikkapi.models.routing import Routing

tracking_no_seq = Sequence("application_tracking_no_seq", start=1000, metadata=Base.metadata)


class ApplicationKind(enum.Enum):
    TALEP = "Talep"
    SIKAYET = "Şikâyet"
    IHBAR = "İhbar"
    GORUS_ONERI = "Görüş ve Öneri"


class Channel(enum.Enum):
    WEB = "Web"
    MOBIL = "Mobil"
    BANKO = "Banko"
    EDEVLET = "e-Devlet"
    KIOSK = "KIOSK"
    CAGRI_MERKEZI = "Çağrı Merkezi"


class ApplicationStatus(enum.Enum):
    HAVUZDA = "Başvuru Açık Kapı Birim Havuzunda"
    YONLENDIRILDI = "Başvuru İlgili Birime Yönlendirildi"
    CEVAPLANDI = "Başvuru Birim Tarafından Cevaplandı"
    MIA_ONAYINDA = "Başvuru Mülki İdare Amiri Onayına Gönderildi"
    MIA_DEGERLENDIRDI = "Başvuru Mülki İdare Amiri Tarafından Değerlendirildi"
    SONUCLANDI = "Başvuru Sonuçlandı"


class PublicStatus(enum.Enum):
    """What the citizen sees: the steps inside the office are not theirs to follow."""

    ISLEM_GORUYOR = "İşlem Görüyor"
    SONUCLANDI = "Sonuçlandı"


class ApplicationResult(enum.Enum):
    OLUMLU = "Olumlu"
    OLUMSUZ = "Olumsuz"
    KISMEN = "Kısmen Olumlu Kısmen Olumsuz"


class PriorityGroup(enum.Enum):
    SEHIT_YAKINI = "Şehit Yakını"
    GAZI = "Gazi"
    YASLI = "65 Yaş Üstü"
    HAMILE = "Hamile"
    ENGELLI = "Engelli"


class Gender(enum.Enum):
    ERKEK = "Erkek"
    KADIN = "Kadın"


LISTED = ["status", "result", "kind", "channel", "priority_group", "is_special", "is_confidential"]


class Application(Base):
    """Başvuru. The applicant's identity and residence are a snapshot of the identity service's answer."""

    __tablename__ = "application"
    # The office's lists run newest first: (office, created_at, id) gives a page in index order; the columns the
    # search filters on ride along, so a filtered page and its total are read from the index alone.
    __table_args__ = (
        Index(None, "subject_province_id", "created_at", "id", postgresql_include=LISTED),
        Index(None, "subject_district_id", "created_at", "id", postgresql_include=LISTED),
        Index(None, "status", "created_at"),
        Index(None, "applicant_name_words", postgresql_using="gin"),
        Index("ix_application_created_by_id_idempotency_key", "created_by_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_no: Mapped[int] = mapped_column(
        BigInteger, tracking_no_seq, server_default=tracking_no_seq.next_value(), unique=True)
    kind: Mapped[ApplicationKind] = mapped_column(str_enum(ApplicationKind))
    channel: Mapped[Channel] = mapped_column(str_enum(Channel))
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus), default=ApplicationStatus.HAVUZDA, server_default=ApplicationStatus.HAVUZDA.name)
    result: Mapped[ApplicationResult | None] = mapped_column(str_enum(ApplicationResult))
    answer: Mapped[str | None] = mapped_column(Text)  # the answer to the citizen, written when it is closed

    applicant_tckn: Mapped[str] = mapped_column(String(11), index=True)
    applicant_first_name: Mapped[str] = mapped_column(String(64))
    applicant_last_name: Mapped[str] = mapped_column(String(64))
    applicant_birth_date: Mapped[date | None]
    applicant_gender: Mapped[Gender | None] = mapped_column(str_enum(Gender))
    # The folded words of the name, kept by the database for the staff search ("sahin" finds "ŞAHİN"): the
    # first name's words weighted A, the surname's B, so one GIN index answers either or both. (Weights need
    # positions, which to_tsvector keeps: the folded text is plain a-z0-9 words, which 'simple' takes as they are.)
    applicant_name_words: Mapped[str] = mapped_column(
        TSVECTOR, Computed(f"setweight(to_tsvector('simple', {folded('applicant_first_name')}), 'A') || "
                           f"setweight(to_tsvector('simple', {folded('applicant_last_name')}), 'B')",
                           persisted=True),
        deferred=True, deferred_raiseload=True)
    residence_address: Mapped[str] = mapped_column(String(500))
    residence_province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"))
    residence_district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))

    subject_address: Mapped[str] = mapped_column(String(500))
    subject_province_id: Mapped[int] = mapped_column(ForeignKey("province.id"))
    subject_district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    subject_place_id: Mapped[int] = mapped_column(ForeignKey("place.id"))

    phone: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(Text)
    arrival_date: Mapped[date | None]
    is_special: Mapped[bool] = mapped_column(default=False, server_default=false())
    is_confidential: Mapped[bool] = mapped_column(default=False, server_default=false())
    priority_group: Mapped[PriorityGroup | None] = mapped_column(str_enum(PriorityGroup))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    # The officer's key for one registration: a repeated request answers with the application it made.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    subject_province: Mapped[Province] = relationship(foreign_keys=[subject_province_id], lazy="raise")
    subject_district: Mapped[District] = relationship(foreign_keys=[subject_district_id], lazy="raise")
    subject_place: Mapped[Place] = relationship(lazy="raise")
    residence_province: Mapped[Province | None] = relationship(foreign_keys=[residence_province_id], lazy="raise")
    residence_district: Mapped[District | None] = relationship(foreign_keys=[residence_district_id], lazy="raise")
    categories: Mapped[list["ApplicationCategory"]] = relationship(
        lazy="raise", order_by="ApplicationCategory.position", back_populates="application")
    attachments: Mapped[list["Attachment"]] = relationship(lazy="raise", order_by="(Attachment.uploaded_at, Attachment.id)")
    events: Mapped[list["ApplicationEvent"]] = relationship(lazy="raise", order_by="ApplicationEvent.id")
    routings: Mapped[list["Routing"]] = relationship(lazy="raise", order_by="Routing.id")

    __mapper_args__ = {"version_id_col": version}


class ApplicationCategory(Base):
    """One (Hizmet Başlığı, Hizmet Alt Başlığı, açıklama) row of an application."""

    __tablename__ = "application_category"
    __table_args__ = (Index(None, "category_id", "application_id"), Index(None, "subcategory_id", "application_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    # with the application: the search's "has this category" is answered from the index
    category_id: Mapped[int] = mapped_column(ForeignKey("service_category.id"))
    subcategory_id: Mapped[int] = mapped_column(ForeignKey("service_category.id"))
    description: Mapped[str | None] = mapped_column(String(1000))

    application: Mapped[Application] = relationship(lazy="raise", back_populates="categories")
    category: Mapped[ServiceCategory] = relationship(foreign_keys=[category_id], lazy="raise")
    subcategory: Mapped[ServiceCategory] = relationship(foreign_keys=[subcategory_id], lazy="raise")


class Attachment(Base):
    """An uploaded file. `storage_key` is generated; the client's file name is kept for display only."""

    __tablename__ = "attachment"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4, server_default=func.gen_random_uuid())
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    # A unit's answer file; null for the applicant's own files.
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routing.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    uploaded_at: Mapped[datetime] = created_at_column()


class EventAction(enum.Enum):
    SUBMITTED = "Başvuru kaydedildi"
    CATEGORIES_UPDATED = "Hizmet başlıkları güncellendi"
    FLAGS_SET = "Başvuru nitelikleri belirlendi"
    ROUTED = "İlgili birime yönlendirildi"
    ANSWERED = "Birim cevap verdi"
    ANSWER_RETURNED = "Birim cevabı iade edildi"
    SENT_TO_MIA = "Mülki İdare Amiri onayına gönderildi"
    MIA_REVIEWED = "Mülki İdare Amiri değerlendirdi"
    CLOSED = "Başvuru sonuçlandırıldı"


class ApplicationEvent(Base):
    """İşlem Hareketleri: one row per change, with who and when. `public` rows are shown to the citizen."""

    __tablename__ = "application_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    action: Mapped[EventAction] = mapped_column(str_enum(EventAction))
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[Role | None] = mapped_column(str_enum(Role))  # null for the citizen
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routing.id", ondelete="CASCADE"), index=True)
    public: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = created_at_column()
