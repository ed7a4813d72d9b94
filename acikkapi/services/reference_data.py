"""Loading the shipped reference data: the address hierarchy, service categories, DETSİS units, demo users.

Each loader is idempotent: running `acikkapi seed` twice changes nothing the second time.
"""

import csv
import gzip
import io
import json
from importlib import resources

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import District, PlaceKind, Province, Role, ServiceCategory, Unit, UnitKind, User, user_unit

DATA = resources.files("acikkapi") / "data"


def place_kind(name: str) -> PlaceKind:
    # PTT writes "X Mah (Y Köyü)" for villages turned into neighbourhoods: those are mahalle now.
    return PlaceKind.KOY if "Köyü" in name and " Mah" not in name else PlaceKind.MAHALLE


def read_addresses() -> list[tuple[int, str, str, str]]:
    raw = gzip.decompress((DATA / "tr_addresses.csv.gz").read_bytes()).decode("utf-8")
    return [(int(row["il_kodu"]), row["il"], row["ilce"], row["mahalle_veya_koy"])
            for row in csv.DictReader(io.StringIO(raw))]


async def load_addresses(session: AsyncSession) -> int:
    """Copy 81 provinces, 973 districts and 73k places in with COPY: seconds, not minutes."""
    if await session.scalar(select(func.count()).select_from(Province)):
        return 0
    provinces: dict[int, str] = {}
    districts: dict[tuple[int, str], int] = {}
    places: list[tuple[int, int, str, str]] = []
    for plate, province, district, place in read_addresses():
        provinces[plate] = province
        district_id = districts.setdefault((plate, district), len(districts) + 1)
        places.append((len(places) + 1, district_id, place, place_kind(place).name))
    connection = await (await session.connection()).get_raw_connection()
    raw = connection.driver_connection
    await raw.copy_records_to_table("province", records=list(provinces.items()), columns=["id", "name"])
    await raw.copy_records_to_table(
        "district", records=[(i, plate, name) for (plate, name), i in districts.items()],
        columns=["id", "province_id", "name"])
    await raw.copy_records_to_table("place", records=places, columns=["id", "district_id", "name", "kind"])
    for table in ("district", "place"):
        await session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    return len(places)


async def load_categories(session: AsyncSession) -> None:
    for position, item in enumerate(json.loads((DATA / "service_categories.json").read_text()), start=1):
        parent_id = await _category(session, None, item["name"], position)
        for sub_position, name in enumerate(item["subcategories"], start=1):
            await _category(session, parent_id, name, sub_position)


async def _category(session: AsyncSession, parent_id: int | None, name: str, position: int) -> int:
    existing = await session.scalar(select(ServiceCategory.id).where(
        ServiceCategory.name == name, func.coalesce(ServiceCategory.parent_id, 0) == (parent_id or 0)))
    if existing:
        return existing
    category = ServiceCategory(parent_id=parent_id, name=name, position=position)
    session.add(category)
    await session.flush()
    return category.id


async def load_units(session: AsyncSession) -> None:
    for item in json.loads((DATA / "detsis_units.json").read_text()):
        await session.execute(insert(Unit).values(
            detsis_no=item["detsis_no"], name=item["name"], kind=UnitKind[item["kind"]].name,
            province_id=item["province"], parent_no=item["parent"],
        ).on_conflict_do_nothing())


# Fictitious staff for the demo and the tests; every number passes the checksum. An office is a province's
# (valilik) or, with a district, a kaymakamlık's.
DEMO_USERS = [
    ("10000000078", "Elif", "Arslan", "5321000001", Role.AKS, 6, None, []),
    ("10000000214", "Murat", "Kaya", "5321000002", Role.YETKILI, 6, None, [55461037]),
    ("10000000382", "Selim", "Yurt", "5321000003", Role.MIA, 6, None, []),
    ("10000000450", "Derya", "Koç", "5321000004", Role.YETKI_ISLEMLERI, 6, None, []),
    ("10000000528", "Kerem", "Aksoy", "5321000005", Role.ANALIST, 6, None, []),
    ("10000000696", "Canan", "Polat", "5321000006", Role.AKS, 34, None, []),
    ("10000000764", "Burak", "Şen", "5321000007", Role.AKS, 6, "Keçiören", []),
    ("10000000832", "Gül", "Eren", "5321000008", Role.AKS, 6, "Çankaya", []),
    ("10000000900", "Hakan", "Yıldız", "5321000009", Role.YETKILI, 6, None, [26746921]),  # Keçiören İlçe MEM
    ("10000001068", "Seda", "Tunç", "5321000010", Role.YETKILI, 6, None, [41085047]),  # Ankara İl Sağlık
    ("10000001136", "Orhan", "Balcı", "5321000011", Role.MIA, 34, None, []),
    ("10000001204", "Nihan", "Ateş", "5321000012", Role.MIA, 6, "Keçiören", []),
    ("10000001372", "Zeynep", "Aydın", "5321000013", Role.YETKI_ISLEMLERI, None, None, []),  # the ministry's
    ("10000001440", "Levent", "Güneş", "5321000014", Role.YETKI_ISLEMLERI, 34, None, []),
]


async def load_demo_users(session: AsyncSession) -> None:
    for tckn, first, last, phone, role, province, district, units in DEMO_USERS:
        district_id = district and await session.scalar(
            select(District.id).where(District.province_id == province, District.name == district))
        user_id = await session.scalar(insert(User).values(
            tckn=tckn, first_name=first, last_name=last, phone=phone, role=role.name, province_id=province,
            district_id=district_id,
        ).on_conflict_do_nothing().returning(User.id))
        for unit in units if user_id else []:
            await session.execute(insert(user_unit).values(user_id=user_id, unit_no=unit))


async def load_reference_data(session: AsyncSession, *, demo: bool) -> None:
    await load_addresses(session)
    await load_categories(session)
    await load_units(session)
    if demo:
        await load_demo_users(session)
        # The demo's first application is the seed's example, 1047 (the README walks its life).
        await session.execute(text("SELECT setval('application_tracking_no_seq', 1046) "
                                   "WHERE NOT EXISTS (SELECT FROM application)"))
