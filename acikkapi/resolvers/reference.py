"""Reference data for the forms: il → ilçe → mahalle/köy, and Hizmet Başlığı → Alt Başlık."""

from sqlalchemy import select

from acikkapi.models import District, Place, Province, ServiceCategory
from acikkapi.context import Context
from acikkapi.services.checks import fits


async def provinces(context: Context) -> list[Province]:
    async with context.reading() as session:
        return list(await session.scalars(select(Province).order_by(Province.id)))


async def districts(context: Context, province_id: int) -> list[District]:
    if not fits(province_id, District.province_id):  # no province has it, like any unknown plate code
        return []
    async with context.reading() as session:
        return list(await session.scalars(
            select(District).where(District.province_id == province_id).order_by(District.name)))


async def places(context: Context, district_id: int) -> list[Place]:
    if not fits(district_id, Place.district_id):
        return []
    async with context.reading() as session:
        return list(await session.scalars(
            select(Place).where(Place.district_id == district_id).order_by(Place.name)))


async def service_categories(context: Context) -> list[tuple[ServiceCategory, list[ServiceCategory]]]:
    """Active başlıklar with their active alt başlıklar, in one statement."""
    async with context.reading() as session:
        rows = list(await session.scalars(
            select(ServiceCategory).where(ServiceCategory.active)
            .order_by(ServiceCategory.parent_id.nulls_first(), ServiceCategory.position, ServiceCategory.name)))
    children: dict[int, list[ServiceCategory]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    return [(row, children.get(row.id, [])) for row in rows if row.parent_id is None]
