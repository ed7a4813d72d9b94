"""Hizmet Başlığı management (services/category_admin.py) for the ministry's admins. Glue only: the admin check,
the name check, then the step and the record it answers with in one transaction."""

from acikkapi.context import Context
from acikkapi.permissions.admin import national_admin
from acikkapi.services import category_admin
from acikkapi.services.category_admin import CategoryRecord
from acikkapi.services.errors import PermissionDenied, Unauthenticated, raises


async def category_tree(context: Context) -> list[CategoryRecord]:
    """Read from the database, not the reference cache: an admin sees a change at once, inactive ones too."""
    national_admin(context.actor)
    async with context.reading() as session:
        return await category_admin.category_tree(session)


@raises(Unauthenticated, PermissionDenied, *category_admin.check_name.raises, *category_admin.add_category.raises,
        *category_admin.category_record.raises)
async def add_category(context: Context, *, name: str, parent_id: int | None) -> CategoryRecord:
    national_admin(context.actor)
    name = category_admin.check_name(name)
    async with context.mutation() as session:
        category = await category_admin.add_category(session, context.actor.user, name=name, parent_id=parent_id)
        return await category_admin.category_record(session, category.id)


@raises(Unauthenticated, PermissionDenied, *category_admin.check_name.raises,
        *category_admin.rename_category.raises, *category_admin.category_record.raises)
async def rename_category(context: Context, *, category_id: int, name: str) -> CategoryRecord:
    national_admin(context.actor)
    name = category_admin.check_name(name)
    async with context.mutation() as session:
        category = await category_admin.rename_category(session, context.actor.user, category_id=category_id,
                                                        name=name)
        return await category_admin.category_record(session, category.id)


@raises(Unauthenticated, PermissionDenied, *category_admin.reorder_categories.raises)
async def reorder_categories(context: Context, *, parent_id: int | None, ids: list[int]) -> list[CategoryRecord]:
    """The başlıklar, or the başlık's alt başlıklar, in their new order."""
    national_admin(context.actor)
    async with context.mutation() as session:
        await category_admin.reorder_categories(session, context.actor.user, parent_id=parent_id, ids=ids)
        tree = await category_admin.category_tree(session)
    return tree if parent_id is None else list(next(top for top in tree if top.id == parent_id).subcategories)


@raises(Unauthenticated, PermissionDenied, *category_admin.deactivate_category.raises,
        *category_admin.category_record.raises)
async def deactivate_category(context: Context, *, category_id: int) -> CategoryRecord:
    national_admin(context.actor)
    async with context.mutation() as session:
        category = await category_admin.deactivate_category(session, context.actor.user, category_id=category_id)
        return await category_admin.category_record(session, category.id)


@raises(Unauthenticated, PermissionDenied, *category_admin.reactivate_category.raises,
        *category_admin.category_record.raises)
async def reactivate_category(context: Context, *, category_id: int) -> CategoryRecord:
    national_admin(context.actor)
    async with context.mutation() as session:
        category = await category_admin.reactivate_category(session, context.actor.user, category_id=category_id)
        return await category_admin.category_record(session, category.id)
