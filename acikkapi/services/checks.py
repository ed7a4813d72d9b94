"""Argument domains checked before SQL.

A number that its column cannot hold is no row's id: callers answer it exactly like an id that does not exist.
Sent to the database, it would fail as a type error there (e.g. "smallint out of range") instead.
"""

from sqlalchemy import BigInteger, SmallInteger


def fits(value: int | None, column) -> bool:
    """Whether `value` is within the range of the integer `column` (a model attribute); None fits."""
    bits = 16 if isinstance(column.type, SmallInteger) else 64 if isinstance(column.type, BigInteger) else 32
    return value is None or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
