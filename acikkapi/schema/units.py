import strawberry
from strawberry.types import Info

from acikkapi.models import UnitKind as UnitKindValue
from acikkapi.resolvers import reference, units
from acikkapi.schema.reference import Province
from acikkapi.services.unit_search import DEFAULT_RESULTS

UnitKind = strawberry.enum(UnitKindValue, name="UnitKind", description="Bakanlık, valilik, il müdürlüğü, …")


@strawberry.type(description="A DETSİS unit.")
class Unit:
    detsis_no: int = strawberry.field(description="DETSİS number.")
    name: str
    kind: UnitKind
    parent_detsis_no: int | None = strawberry.field(description="The DETSİS number of the unit it belongs to.")
    province_id: strawberry.Private[int | None]

    @strawberry.field(description="“Bakanlık”, “İl Müdürlüğü”, …")
    def kind_label(self) -> str:
        return self.kind.value

    @strawberry.field(description="Null for a national unit (a ministry, a general directorate).")
    async def province(self, info: Info) -> Province | None:
        if self.province_id is None:
            return None
        return await reference.province(info.context, self.province_id)

    @classmethod
    def of(cls, unit) -> "Unit":
        """From a `Unit` model or a row with its columns."""
        return cls(detsis_no=unit.detsis_no, name=unit.name, kind=unit.kind, parent_detsis_no=unit.parent_no,
                   province_id=unit.province_id)


@strawberry.type
class UnitQuery:
    @strawberry.field(description=(
        "Staff: active DETSİS units by name, for routing (“Yönlendirilecek Birim”). Turkish-aware: “milli egitim”, "
        "“MİLLİ EĞİTİM” and “millî” find the same units; each word of `search` must begin a word of the name. "
        "Names with every word whole come first, then shorter names. With `provinceId`: that province's units "
        "and the national ones. `search` needs 2 letters or digits and at most 100 characters; `first` is 1 to 50."))
    async def units(self, info: Info, search: str, province_id: int | None = None,
                    first: int | None = DEFAULT_RESULTS) -> list[Unit]:
        rows = await units.search_units(info.context, search=search, province_id=province_id,
                                        first=DEFAULT_RESULTS if first is None else first)
        return [Unit.of(row) for row in rows]
