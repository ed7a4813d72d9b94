"""Reference data for the forms: il → ilçe → mahalle/köy, and Hizmet Başlığı → Alt Başlık, from the
reference cache (read from the database once per change)."""

from dataclasses import dataclass

from sqlalchemy import Row, select

from acikkapi.models import District, Place, Province, ServiceCategory
from acikkapi.context import Context
from acikkapi.services.checks import fits

PROVINCES = select(Province.id, Province.name).order_by(Province.id)
DISTRICTS = select(District.id, District.name, District.province_id).order_by(District.name)
PLACES = select(Place.id, Place.name, Place.kind).order_by(Place.name)
CATEGORIES = (select(ServiceCategory.id, ServiceCategory.name, ServiceCategory.parent_id)
              .where(ServiceCategory.active)
              .order_by(ServiceCategory.parent_id.nulls_first(), ServiceCategory.position, ServiceCategory.name))


@dataclass(frozen=True, slots=True)
class Category:
    """A başlık with its alt başlıklar, or an alt başlık (no subcategories)."""

    id: int
    name: str
    subcategories: tuple["Category", ...] = ()


async def _rows(context: Context, statement) -> list:
    async with context.reading() as session:
        return list(await session.execute(statement))


async def provinces(context: Context) -> list:
    return await context.services.reference.get("provinces", lambda: _rows(context, PROVINCES))


async def districts(context: Context, province_id: int) -> list:
    if not fits(province_id, District.province_id):  # no province has it, like any unknown plate code
        return []
    by_province = await context.services.reference.get("districts", lambda: _districts(context))  # all 973 at once
    return by_province.get(province_id, [])


async def _districts(context: Context) -> dict[int, list]:
    by_province: dict[int, list] = {}
    for row in await _rows(context, DISTRICTS):
        by_province.setdefault(row.province_id, []).append(row)
    return by_province


async def places(context: Context, district_id: int) -> list:
    if not fits(district_id, Place.district_id):
        return []
    return await context.services.reference.get(
        ("places", district_id), lambda: _rows(context, PLACES.where(Place.district_id == district_id)))


async def service_categories(context: Context) -> list[Category]:
    """Active başlıklar with their active alt başlıklar."""
    return await context.services.reference.get("categories", lambda: _categories(context))


async def _categories(context: Context) -> list[Category]:
    rows = await _rows(context, CATEGORIES)
    children: dict[int, list[Category]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(Category(row.id, row.name))
    return [Category(row.id, row.name, tuple(children.get(row.id, ()))) for row in rows if row.parent_id is None]


async def province(context: Context, province_id: int) -> Row | None:
    """One province by plate code, from the cached list."""
    return next((row for row in await provinces(context) if row.id == province_id), None)
