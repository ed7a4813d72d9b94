"""Hizmet Başlığı management in GraphQL, for the ministry's admins: the whole tree with inactive ones, and one
mutation per step, each with a payload union of exactly its errors. Citizens' `serviceCategories` (the active
tree, from the reference cache) is in schema/reference.py and is not touched by any of this."""

import strawberry
from strawberry.types import Info

from acikkapi.resolvers import category_admin
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.services.errors import DomainError


@strawberry.type(description="A Hizmet Başlığı (with its Alt Başlıklar) or an Alt Başlık as admins see it, "
                             "active or not.")
class AdminServiceCategory:
    id: int
    parent_id: int | None = strawberry.field(description="The başlık of an alt başlık; null for a başlık.")
    name: str
    position: int = strawberry.field(description="Its place among its siblings, from 1.")
    active: bool = strawberry.field(description="Its own flag: false once deactivated.")
    choosable: bool = strawberry.field(description="Can be chosen for a new application: it is active, and so "
                                                   "is its başlık.")
    subcategories: list["AdminServiceCategory"] = strawberry.field(
        description="A başlık's alt başlıklar in order, inactive ones too; empty for an alt başlık.")


@strawberry.type(description="The change was saved; the category as it is now.")
class ServiceCategorySaved:
    category: AdminServiceCategory


@strawberry.type(description="The new order was saved; the siblings in it.")
class ServiceCategoriesReordered:
    categories: list[AdminServiceCategory]


AddServiceCategoryPayload = payload_union("AddServiceCategoryPayload", ServiceCategorySaved,
                                          category_admin.add_category)
RenameServiceCategoryPayload = payload_union("RenameServiceCategoryPayload", ServiceCategorySaved,
                                             category_admin.rename_category)
ReorderServiceCategoriesPayload = payload_union("ReorderServiceCategoriesPayload", ServiceCategoriesReordered,
                                                category_admin.reorder_categories)
DeactivateServiceCategoryPayload = payload_union("DeactivateServiceCategoryPayload", ServiceCategorySaved,
                                                 category_admin.deactivate_category)
ReactivateServiceCategoryPayload = payload_union("ReactivateServiceCategoryPayload", ServiceCategorySaved,
                                                 category_admin.reactivate_category)


async def _saved(resolver, context, **arguments):
    try:
        return ServiceCategorySaved(category=await resolver(context, **arguments))  # records shaped like the type
    except DomainError as error:
        return as_payload(error, resolver)


@strawberry.type
class CategoryAdminQuery:
    @strawberry.field(description="The ministry's admins: every başlık with its alt başlıklar, in order, "
                                  "inactive ones too, as they are now (not cached).")
    async def admin_service_categories(self, info: Info) -> list[AdminServiceCategory]:
        return await category_admin.category_tree(info.context)


@strawberry.type
class CategoryAdminMutation:
    @strawberry.mutation(description="The ministry's admins: add a başlık (no `parentId`) or an alt başlık under "
                                     "an active başlık, last in its order. The name is unique among its siblings "
                                     "in any capitalisation.")
    async def add_service_category(self, info: Info, name: str,
                                   parent_id: int | None = None) -> AddServiceCategoryPayload:
        return await _saved(category_admin.add_category, info.context, name=name, parent_id=parent_id)

    @strawberry.mutation(description="The ministry's admins: rename a başlık or alt başlık; old applications show "
                                     "the new name.")
    async def rename_service_category(self, info: Info, id: int, name: str) -> RenameServiceCategoryPayload:
        return await _saved(category_admin.rename_category, info.context, category_id=id, name=name)

    @strawberry.mutation(description="The ministry's admins: the new order of the başlıklar (no `parentId`) or of "
                                     "a başlık's alt başlıklar, as the ids of all of them, inactive ones too.")
    async def reorder_service_categories(self, info: Info, ids: list[int],
                                         parent_id: int | None = None) -> ReorderServiceCategoriesPayload:
        resolver = category_admin.reorder_categories
        try:
            return ServiceCategoriesReordered(categories=await resolver(info.context, parent_id=parent_id, ids=ids))
        except DomainError as error:
            return as_payload(error, resolver)

    @strawberry.mutation(description="The ministry's admins: no longer choosable for new applications (a başlık "
                                     "with all its alt başlıklar); old applications keep it.")
    async def deactivate_service_category(self, info: Info, id: int) -> DeactivateServiceCategoryPayload:
        return await _saved(category_admin.deactivate_category, info.context, category_id=id)

    @strawberry.mutation(description="The ministry's admins: choosable again. A başlık's alt başlıklar come back "
                                     "as they were; an alt başlık only once its başlık is active.")
    async def reactivate_service_category(self, info: Info, id: int) -> ReactivateServiceCategoryPayload:
        return await _saved(category_admin.reactivate_category, info.context, category_id=id)
