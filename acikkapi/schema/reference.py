import strawberry
from strawberry.types import Info

from acikkapi.models import PlaceKind as PlaceKindValue
from acikkapi.resolvers import reference

PlaceKind = strawberry.enum(PlaceKindValue, name="PlaceKind", description="Mahalle or köy.")


@strawberry.type(description="İl; `id` is the plate code.")
class Province:
    id: int
    name: str


@strawberry.type(description="İlçe.")
class District:
    id: int
    name: str


@strawberry.type(description="Mahalle or köy of a district.")
class Place:
    id: int
    name: str
    kind: PlaceKind

    @strawberry.field(description="“Mahalle” or “Köy”.")
    def kind_label(root) -> str:
        return root.kind.value


@strawberry.type(description="Hizmet Alt Başlığı.")
class ServiceSubcategory:
    id: int
    name: str


@strawberry.type(description="Hizmet Başlığı with its Alt Başlıklar.")
class ServiceCategory:
    id: int
    name: str
    subcategories: list[ServiceSubcategory]


@strawberry.type
class ReferenceQuery:
    @strawberry.field(description="The 81 provinces, by plate code.")
    async def provinces(self, info: Info) -> list[Province]:
        return await reference.provinces(info.context)

    @strawberry.field(description="The districts of a province.")
    async def districts(self, info: Info, province_id: int) -> list[District]:
        return await reference.districts(info.context, province_id)

    @strawberry.field(description="The mahalle and köy of a district.")
    async def places(self, info: Info, district_id: int) -> list[Place]:
        return await reference.places(info.context, district_id)

    @strawberry.field(description="Active service categories with their subcategories.")
    async def service_categories(self, info: Info) -> list[ServiceCategory]:
        return await reference.service_categories(info.context)  # cached objects shaped like these types
