"""DETSİS units for staff: the name search that routing picks units with."""

from sqlalchemy import Row

from acikkapi.context import Context
from acikkapi.permissions.units import ensure_can_search_units
from acikkapi.services import unit_search


async def search_units(context: Context, *, search: str, province_id: int | None, first: int) -> list[Row]:
    ensure_can_search_units(context.actor)
    words = unit_search.query_words(search)
    unit_search.check_limits(first=first, province_id=province_id)
    async with context.connection() as connection:
        return await unit_search.search_units(connection, words, first=first, province_id=province_id)
