import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def str_enum(enum_class: type[enum.Enum]) -> Enum:
    """Enums are stored as their names in a VARCHAR (no CHECK): readable in SQL, extended without a migration."""
    return Enum(enum_class, native_enum=False, create_constraint=False, length=32,
                name=enum_class.__name__.lower())


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())
