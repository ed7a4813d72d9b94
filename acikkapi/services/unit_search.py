"""Finding DETSİS units by name for routing (seed 000 §3.2.3), Turkish-aware.

A name and a query are folded alike (`fold`): "MİLLÎ EĞİTİM", "Milli Eğitim" and "milli egitim" are the same
words. Every word of the query must begin a word of the name, in any order, so "mil eği ank" finds
"ANKARA İL MİLLÎ EĞİTİM MÜDÜRLÜĞÜ". A GIN index on the stored words of each folded name (migration 0008) answers
the prefixes; the matches are then ranked: names containing every query word whole first, then shorter
names, then by name.
"""

import re
from collections.abc import Sequence

from sqlalchemy import Row, bindparam, cast, func, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.models import Unit
from acikkapi.models.reference import COMBINING_MARKS, FOLD_FROM, FOLD_TO
from acikkapi.services.checks import fits
from acikkapi.services.errors import ValidationFailed

MIN_SEARCH_LENGTH = 2  # folded characters: one letter matches half of all units
MAX_SEARCH_LENGTH = 100
DEFAULT_RESULTS = 20
MAX_RESULTS = 50

_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)
_MARKS = re.compile(COMBINING_MARKS)
_WORD = re.compile("[a-z0-9]+")


def fold(text: str) -> str:
    """`text` folded as the database folds unit names for `Unit.search_words`: the same words, exactly."""
    return " ".join(_WORD.findall(_MARKS.sub("", text).translate(_FOLD)))


def query_words(search: str) -> list[str]:
    """The distinct folded words of a search, or a validation error when there is too little or too much."""
    if len(search) > MAX_SEARCH_LENGTH:
        raise ValidationFailed(f"Birim adı en fazla {MAX_SEARCH_LENGTH} karakter ile aranabilir.", field="search")
    folded = fold(search)
    if len(folded) < MIN_SEARCH_LENGTH:
        raise ValidationFailed(f"Birim aramak için en az {MIN_SEARCH_LENGTH} harf giriniz.", field="search")
    return list(dict.fromkeys(folded.split()))


def check_limits(*, first: int, province_id: int | None) -> None:
    if not 1 <= first <= MAX_RESULTS:
        raise ValidationFailed(f"En fazla {MAX_RESULTS} birim listelenebilir.", field="first")
    if not fits(province_id, Unit.province_id):
        raise ValidationFailed("Seçilen il bulunamadı.", field="provinceId")


SEARCH = (
    select(Unit.detsis_no, Unit.name, Unit.kind, Unit.province_id, Unit.parent_no)
    .where(Unit.active, Unit.search_words.op("@@")(cast(bindparam("prefixes"), TSQUERY)))
    .order_by(Unit.search_words.op("@@")(cast(bindparam("whole_words"), TSQUERY)).desc(),
              func.length(Unit.name), Unit.name, Unit.detsis_no)
    .limit(bindparam("first"))
)
# A province's own units and the national ones (ministries, general directorates), which have no province.
SEARCH_IN_PROVINCE = SEARCH.where(or_(Unit.province_id == bindparam("province_id"), Unit.province_id.is_(None)))


async def search_units(connection: AsyncConnection, words: Sequence[str], *, first: int,
                       province_id: int | None = None) -> list[Row]:
    """Active units whose name has a word beginning with each of `words` (from `query_words`), best first."""
    parameters = {"prefixes": " & ".join(f"'{word}':*" for word in words),  # words are [a-z0-9]+: no quoting
                  "whole_words": " & ".join(f"'{word}'" for word in words), "first": first}
    if province_id is None:
        return list(await connection.execute(SEARCH, parameters))
    return list(await connection.execute(SEARCH_IN_PROVINCE, {**parameters, "province_id": province_id}))
