"""Argument domains checked before SQL.

A number that its column cannot hold is no row's id: callers answer it exactly like an id that does not exist.
Sent to the database, it would fail as a type error there (e.g. "smallint out of range") instead.
"""

from functools import cache

from sqlalchemy import BigInteger, SmallInteger


def fits(value: int | None, column) -> bool:
    """Whether `value` is within the range of the integer `column` (a model attribute); None fits."""
    if value is None:
        return True
    low, high = _bounds(column)
    return low <= value < high


@cache  # a model attribute's `type` is a slow lookup; the columns are few and fixed
def _bounds(column) -> tuple[int, int]:
    bits = 16 if isinstance(column.type, SmallInteger) else 64 if isinstance(column.type, BigInteger) else 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1)


def id_number(text: str, column) -> int | None:
    """The number a GraphQL ID names, if it is one `column` can hold: ASCII digits only (int() also reads "²"
    and would spend time on a million digits), in range. None: no row has it."""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    number = int(text)
    return number if fits(number, column) else None
