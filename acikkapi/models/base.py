import enum
from datetime import datetime

from sqlalchemy import DateTime, Enum, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    # Unnamed CHECKs (those of str_enum) are named after their column; a CHECK given a name keeps it verbatim.
    "ck": "ck_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}

    @classmethod
    def detached(cls, **values):
        """A read-only instance filled as SQLAlchemy's loader fills one, straight into its __dict__, without
        the attribute events the constructor fires: for a row read past the ORM on a hot path."""
        instance = cls._sa_class_manager.new_instance()
        instance.__dict__.update(values)
        return instance


def str_enum(enum_class: type[enum.Enum]) -> Enum:
    """Enums are stored as their names in a VARCHAR, readable in SQL. A CHECK (ck_<table>_<column>) keeps
    other values out; a new member needs a migration that replaces the CHECK."""
    return Enum(enum_class, native_enum=False, create_constraint=True, length=32, name=None)  # CHECK: NAMING["ck"]


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())
