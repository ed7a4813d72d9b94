"""Hizmet Başlığı and Hizmet Alt Başlığı, managed by the ministry's admins: add, rename, reorder, deactivate and
reactivate. Categories are never deleted: applications keep the rows they were filed under.

Two levels only: a başlık has no parent, an alt başlık has a başlık as parent. A deactivated one stays on old
applications (their views join it whatever its state) but cannot be chosen for new ones. Deactivating a başlık
leaves its alt başlıklar' own flags alone: while the başlık is inactive none of them can be chosen (the checks at
submit and at the AKS's category update ask for an active başlık *and* an active alt başlık, and the public tree
leaves the başlık out with its children), and reactivating it brings back exactly those that were active before.

Each step locks the table against other writers (readers are not blocked) and reads what it checks under the
lock: the rules are about sets of siblings (a name unique among them, the full list of them in a new order),
which row locks cannot guard against a sibling being added meanwhile. Admin changes are rare and short.
Every change writes its audit row in the same transaction. Citizens see a change once the reference cache
notices it (services/reference_cache.py)."""

import unicodedata
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from acikkapi.models import AuditAction, AuditEntity, AuditEvent, ServiceCategory, User
from acikkapi.services import audit
from acikkapi.services.errors import DomainError, NotFound, ValidationFailed, raises
from acikkapi.services.tckn import turkish_upper

MAX_NAME_LENGTH = 256
_LOCK = text("LOCK TABLE service_category IN SHARE ROW EXCLUSIVE MODE")  # conflicts with writers, not readers
_TREE = select(ServiceCategory.id, ServiceCategory.parent_id, ServiceCategory.name, ServiceCategory.position,
               ServiceCategory.active).order_by(ServiceCategory.parent_id.nulls_first(), ServiceCategory.position,
                                                ServiceCategory.id)


class ServiceCategoryNameTaken(DomainError):
    """Another başlık (or alt başlık of the same başlık) has this name, in any Turkish capitalisation."""

    code = "SERVICE_CATEGORY_NAME_TAKEN"
    message = "Aynı düzeyde bu adla bir kayıt zaten var."


class ServiceCategoryTooDeep(DomainError):
    """Only two levels: an alt başlık has no alt başlıklar of its own."""

    code = "SERVICE_CATEGORY_TOO_DEEP"
    message = "Alt başlıkların altında kayıt olamaz; üst kayıt bir hizmet başlığı olmalıdır."


class ServiceCategoryParentInactive(DomainError):
    """An alt başlık is added only under an active başlık."""

    code = "SERVICE_CATEGORY_PARENT_INACTIVE"
    message = "Pasif bir hizmet başlığının altına alt başlık eklenemez."


class ServiceCategoryOrderMismatch(DomainError):
    """A new order names every child of the başlık (or every başlık) exactly once, and nothing else."""

    code = "SERVICE_CATEGORY_ORDER_MISMATCH"
    message = "Yeni sıralama, bu düzeydeki kayıtların tamamını birer kez içermelidir."


class ServiceCategoryStateUnchanged(DomainError):
    """Deactivating an inactive one, or reactivating an active one."""

    code = "SERVICE_CATEGORY_STATE_UNCHANGED"
    message = "Kayıt zaten bu durumda."


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    """A başlık (with its alt başlıklar) or an alt başlık as admins see it, active or not. `choosable`: it
    can be chosen for a new application (it is active, and so is its başlık)."""

    id: int
    parent_id: int | None
    name: str
    position: int
    active: bool
    choosable: bool
    subcategories: tuple["CategoryRecord", ...] = ()


@raises(ValidationFailed)
def check_name(name: str) -> str:
    """The name as stored: trimmed and composed (NFC), 1 to 256 characters, no control characters."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise ValidationFailed("Ad boş olamaz.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"Ad en fazla {MAX_NAME_LENGTH} karakter olabilir.", field="name")
    if any(unicodedata.category(character) == "Cc" for character in name):
        raise ValidationFailed("Ad satır sonu veya kontrol karakteri içeremez.", field="name")
    return name


def _name_key(name: str) -> str:
    return turkish_upper(name)  # "Eğitim" and "EĞİTİM" are one name; "Egitim" is another


async def category_tree(session: AsyncSession) -> list[CategoryRecord]:
    """Every başlık in order, each with its alt başlıklar in order, active or not."""
    rows = list(await session.execute(_TREE))
    active = {row.id: row.active for row in rows}
    children: dict[int, list[CategoryRecord]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(CategoryRecord(
                row.id, row.parent_id, row.name, row.position, row.active,
                row.active and active.get(row.parent_id, False)))
    return [CategoryRecord(row.id, None, row.name, row.position, row.active, row.active,
                           tuple(children.get(row.id, ()))) for row in rows if row.parent_id is None]


@raises(NotFound)
async def category_record(session: AsyncSession, category_id: int) -> CategoryRecord:
    for top in await category_tree(session):
        for record in (top, *top.subcategories):
            if record.id == category_id:
                return record
    raise NotFound("Hizmet başlığı bulunamadı.")


async def _find(session: AsyncSession, category_id: int) -> ServiceCategory:
    category = await session.get(ServiceCategory, category_id)
    if category is None:
        raise NotFound("Hizmet başlığı bulunamadı.")
    return category


async def _siblings(session: AsyncSession, parent_id: int | None) -> list[ServiceCategory]:
    parent = ServiceCategory.parent_id.is_(None) if parent_id is None else ServiceCategory.parent_id == parent_id
    return list(await session.scalars(select(ServiceCategory).where(parent)
                                      .order_by(ServiceCategory.position, ServiceCategory.id)))


def _ensure_name_free(siblings: list[ServiceCategory], name: str, *, renamed: int | None = None) -> None:
    key = _name_key(name)
    if any(_name_key(sibling.name) == key for sibling in siblings if sibling.id != renamed):
        raise ServiceCategoryNameTaken(field="name")


async def _top_level(session: AsyncSession, parent_id: int) -> ServiceCategory:
    parent = await _find(session, parent_id)
    if parent.parent_id is not None:
        raise ServiceCategoryTooDeep(field="parentId")
    return parent


def _state(category: ServiceCategory) -> dict:
    return {"name": category.name, "parent_id": category.parent_id, "position": category.position,
            "active": category.active}


@raises(NotFound, ServiceCategoryTooDeep, ServiceCategoryParentInactive, ServiceCategoryNameTaken)
async def add_category(session: AsyncSession, actor: User, *, name: str, parent_id: int | None) -> ServiceCategory:
    """A başlık (no `parent_id`) or an alt başlık of an active başlık, last among its siblings. `name` is
    checked (`check_name`)."""
    await session.execute(_LOCK)
    if parent_id is not None and not (await _top_level(session, parent_id)).active:
        raise ServiceCategoryParentInactive(field="parentId")
    siblings = await _siblings(session, parent_id)
    _ensure_name_free(siblings, name)
    category = ServiceCategory(parent_id=parent_id, name=name, active=True,
                               position=max((sibling.position for sibling in siblings), default=0) + 1)
    session.add(category)
    await session.flush()
    await audit.record(session, actor, AuditEntity.SERVICE_CATEGORY, category.id, AuditAction.CREATED,
                       province_id=None, after=_state(category))
    return category


@raises(NotFound, ServiceCategoryNameTaken)
async def rename_category(session: AsyncSession, actor: User, *, category_id: int, name: str) -> ServiceCategory:
    """A new name, unique among its siblings (its own name in another capitalisation is fine). The same name
    again changes nothing and records nothing."""
    await session.execute(_LOCK)
    category = await _find(session, category_id)
    if name == category.name:
        return category
    _ensure_name_free(await _siblings(session, category.parent_id), name, renamed=category.id)
    before = category.name
    category.name = name
    await session.flush()
    await audit.record(session, actor, AuditEntity.SERVICE_CATEGORY, category.id, AuditAction.UPDATED,
                       province_id=None, before={"name": before}, after={"name": name})
    return category


@raises(NotFound, ServiceCategoryTooDeep, ServiceCategoryOrderMismatch)
async def reorder_categories(session: AsyncSession, actor: User, *, parent_id: int | None,
                             ids: list[int]) -> None:
    """The başlıklar (no `parent_id`) or a başlık's alt başlıklar in the order of `ids`, which names every one
    of them, active or not, exactly once. One audit row per category whose position moved."""
    await session.execute(_LOCK)
    if parent_id is not None:
        await _top_level(session, parent_id)
    siblings = {sibling.id: sibling for sibling in await _siblings(session, parent_id)}
    if len(ids) != len(siblings) or set(ids) != siblings.keys():
        raise ServiceCategoryOrderMismatch(field="ids")
    moved = []
    for position, category_id in enumerate(ids, start=1):
        category = siblings[category_id]
        if category.position != position:
            moved.append(audit.event_values(actor, AuditEntity.SERVICE_CATEGORY, category.id, AuditAction.UPDATED,
                                            province_id=None, before={"position": category.position},
                                            after={"position": position}))
            category.position = position
    if moved:
        await session.flush()
        await session.execute(insert(AuditEvent.__table__), moved)


async def _set_active(session: AsyncSession, actor: User, category_id: int, active: bool) -> ServiceCategory:
    await session.execute(_LOCK)
    category = await _find(session, category_id)
    if category.active is active:
        raise ServiceCategoryStateUnchanged("Kayıt zaten etkin." if active else "Kayıt zaten pasif.")
    category.active = active
    await session.flush()
    await audit.record(session, actor, AuditEntity.SERVICE_CATEGORY, category.id,
                       AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED, province_id=None,
                       before={"active": not active}, after={"active": active})
    return category


@raises(NotFound, ServiceCategoryStateUnchanged)
async def deactivate_category(session: AsyncSession, actor: User, *, category_id: int) -> ServiceCategory:
    """No longer choosable for new applications (nor, for a başlık, any of its alt başlıklar); old
    applications keep it."""
    return await _set_active(session, actor, category_id, False)


@raises(NotFound, ServiceCategoryStateUnchanged)
async def reactivate_category(session: AsyncSession, actor: User, *, category_id: int) -> ServiceCategory:
    """Choosable again; an alt başlık only once its başlık is active too."""
    return await _set_active(session, actor, category_id, True)
