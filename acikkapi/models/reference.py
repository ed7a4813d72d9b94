import enum

from sqlalchemy import BigInteger, Computed, ForeignKey, Index, SmallInteger, String, text, true
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from acikkapi.models.base import Base, str_enum


class Province(Base):
    """İl. The primary key is the plate code."""

    __tablename__ = "province"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class District(Base):
    """İlçe."""

    __tablename__ = "district"
    __table_args__ = (Index(None, "province_id", "name", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"))
    name: Mapped[str] = mapped_column(String(64))
    province: Mapped[Province] = relationship(lazy="raise")


class PlaceKind(enum.Enum):
    MAHALLE = "Mahalle"
    KOY = "Köy"


class Place(Base):
    """Mahalle or köy of a district."""

    __tablename__ = "place"
    __table_args__ = (Index(None, "district_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[PlaceKind] = mapped_column(str_enum(PlaceKind))


class ServiceCategory(Base):
    """Hizmet Başlığı (no parent) or Hizmet Alt Başlığı (with its başlık as parent)."""

    __tablename__ = "service_category"
    __table_args__ = (
        Index("uq_service_category_parent_name", text("coalesce(parent_id, 0)"), "name", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service_category.id"), index=True)
    name: Mapped[str] = mapped_column(String(256))
    position: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class UnitKind(enum.Enum):
    BAKANLIK = "Bakanlık"
    GENEL_MUDURLUK = "Genel Müdürlük"
    VALILIK = "Valilik"
    KAYMAKAMLIK = "Kaymakamlık"
    IL_MUDURLUGU = "İl Müdürlüğü"
    BOLGE_MUDURLUGU = "Bölge Müdürlüğü"
    BELEDIYE = "Belediye"
    IL_OZEL_IDARESI = "İl Özel İdaresi"


# Unit names are searched folded the Turkish way: İ, I, ı and i are one letter, accents and cedillas go
# ("MİLLÎ EĞİTİM" → "milli egitim"), and anything but a-z and 0-9 separates words. The stored words below
# and services/unit_search.py's `fold` apply this one table (without lower(), whose result depends on the
# server's locale), so the words of a query and the stored words agree exactly.
FOLD_FROM = "ABCDEFGHIJKLMNOPQRSTUVWXYZÇĞİÖŞÜçğıöşüÂÎÛâîûÀÁÄÈÉÊËÌÍÏÒÓÔÙÚàáäèéêëìíïòóôùú"
FOLD_TO = "abcdefghijklmnopqrstuvwxyzcgiosucgiosuaiuaiuaaaeeeeiiiooouuaaaeeeeiiiooouu"
COMBINING_MARKS = r"[\u0300-\u036f]"  # a decomposed "î" is "i" and one of these: dropped before folding


def folded(column: str) -> str:
    """SQL for the text of `column`, folded."""
    return (f"btrim(regexp_replace(translate(regexp_replace({column}, '{COMBINING_MARKS}', '', 'g'), "
            f"'{FOLD_FROM}', '{FOLD_TO}'), '[^a-z0-9]+', ' ', 'g'))")


def folded_words(column: str) -> str:
    """SQL for the distinct words of the folded `column`, as a tsvector."""
    return f"array_to_tsvector(string_to_array({folded(column)}, ' '))"



class Unit(Base):
    """A DETSİS unit; the primary key is its 8-digit DETSİS number."""

    __tablename__ = "unit"
    # Without fastupdate a new unit goes into the index at once, not into a pending list every search reads.
    __table_args__ = (Index(None, "search_words", postgresql_using="gin", postgresql_with={"fastupdate": "off"}),)
    detsis_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[UnitKind] = mapped_column(str_enum(UnitKind))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("province.id"), index=True)
    parent_no: Mapped[int | None] = mapped_column(ForeignKey("unit.detsis_no"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The distinct words of the folded name, kept by the database. Its GIN index finds the names with a word
    # beginning with "egi"; stored (not an index expression), a match is checked without folding the name again.
    search_words: Mapped[str] = mapped_column(
        TSVECTOR, Computed(folded_words("name"), persisted=True),
        deferred=True, deferred_raiseload=True)


class ReferenceVersion(Base):
    """One row counting the changes to the reference tables (service_category, province, district, place,
    unit), kept by statement triggers (migration 0006): caches of reference data reload when it moves."""

    __tablename__ = "reference_version"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
