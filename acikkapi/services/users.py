"""Yetki İşlemleri (seed 000 §6, SPEC §7): an admin registers, changes, deactivates and finds the staff users of
their scope (permissions/admin.py). Every change is written to the audit log in its own transaction.

A user is registered once per person: one active account per T.C. Kimlik No (sign-in by number is never
ambiguous). Deactivating keeps the row, so every history still names who acted; the person may be registered
again later, as a new account.
"""

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Integer, any_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from acikkapi.db import records
from acikkapi.models import (
    AuditAction, AuditEntity, AuthSession, District, Province, Role, Unit, User, user_unit,
)
from acikkapi.models.reference import folded
from acikkapi.permissions.admin import NATIONAL_ROLES, AdminScope
from acikkapi.services import audit
from acikkapi.services.checks import fits
from acikkapi.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, raises
from acikkapi.services.identity import IdentityMismatch, Person
from acikkapi.services.search import decode_cursor, encode_cursor
from acikkapi.services.tckn import check_phone, check_text
from acikkapi.services.unit_search import fold
from acikkapi.services.workbook import Column, ColumnKind
from acikkapi.services.workflow import ConcurrentChange

MAX_UNITS = 20  # Detay Birim of one Yetkili
DEFAULT_PAGE, MAX_PAGE = 50, 200


class RoleNotGrantable(DomainError):
    """The admin may not give this role (a province's admin gives AKS, Yetkili, MİA and analyst accounts)."""

    code = "ROLE_NOT_GRANTABLE"
    message = "Bu kullanıcı yetki tipini tanımlama yetkiniz bulunmamaktadır."


class OutsideAdminScope(DomainError):
    """The user (or the province asked for) is outside the admin's province."""

    code = "OUTSIDE_ADMIN_SCOPE"
    message = "Bu ildeki kullanıcılar için işlem yapma yetkiniz bulunmamaktadır."


class UnitRequired(DomainError):
    """A Yetkili works for at least one DETSİS unit."""

    code = "UNIT_REQUIRED"
    message = "Yetkili kullanıcı için en az bir Detay Birim seçilmelidir."


class UnitNotInProvince(DomainError):
    """A Yetkili's unit must be of their province, or a national one; and active."""

    code = "UNIT_NOT_IN_PROVINCE"
    message = "Seçilen Detay Birim bu ile ait değil veya kullanımda değil."


class UserAlreadyExists(DomainError):
    """The person already has an active account."""

    code = "USER_ALREADY_EXISTS"
    message = ("Bu T.C. Kimlik No ile kayıtlı etkin bir kullanıcı zaten var; yetki tipini değiştirmek için "
               "kaydını güncelleyiniz.")


class OwnAccount(DomainError):
    """An admin does not change or deactivate their own account: another admin does."""

    code = "OWN_ACCOUNT"
    message = "Kendi kullanıcı kaydınızı değiştiremezsiniz."


class UserAlreadyInactive(DomainError):
    code = "USER_ALREADY_INACTIVE"
    message = "Kullanıcı zaten pasif durumda."


class UserAlreadyActive(DomainError):
    code = "USER_ALREADY_ACTIVE"
    message = "Kullanıcı zaten etkin durumda."


class NameMismatch(IdentityMismatch):
    message = "Adı ve soyadı, kimlik kaydındaki bilgilerle uyuşmuyor."


@dataclass(frozen=True)
class UserForm:
    """Kullanıcı Kayıt's fields but the T.C. Kimlik No, checked (`check_form`)."""

    role: Role
    province_id: int | None
    district_id: int | None  # a kaymakamlık's office (AKS, MİA)
    phone: str
    first_name: str
    last_name: str
    unit_nos: tuple[int, ...] = ()  # Detay Birim, a Yetkili's only

    def snapshot(self) -> dict:
        """As the audit log keeps it."""
        return {**asdict(self), "role": self.role.name, "unit_nos": sorted(self.unit_nos)}


def _name(value: str, field: str) -> str:
    value = " ".join(check_text(value, field).split())
    if not 1 <= len(value) <= 64:
        raise ValidationFailed("Ad ve soyad 1 ile 64 karakter arasında olmalıdır.", field=field)
    return value


@raises(ValidationFailed, RoleNotGrantable, OutsideAdminScope, UnitRequired)
def check_form(scope: AdminScope, *, role: Role, province_id: int | None, district_id: int | None, phone: str,
               first_name: str, last_name: str, unit_nos: list[int]) -> UserForm:
    """The form checked on its own (the references are checked by `check_references`)."""
    if role not in scope.grants:
        raise RoleNotGrantable(field="role")
    if province_id is None and role not in NATIONAL_ROLES:
        raise ValidationFailed("Bu yetki tipi için il seçilmelidir.", field="provinceId")
    if not scope.covers(province_id):
        raise OutsideAdminScope(field="provinceId")
    if district_id is not None and role not in (Role.AKS, Role.MIA):
        raise ValidationFailed("İlçe yalnızca kaymakamlık Açık Kapı Sorumlusu ve Mülki İdare Amiri için seçilir.",
                               field="districtId")
    units = tuple(dict.fromkeys(unit_nos))
    if role is Role.YETKILI and not units:
        raise UnitRequired(field="unitNos")
    if role is not Role.YETKILI and units:
        raise ValidationFailed("Detay Birim yalnızca Yetkili kullanıcılar için seçilir.", field="unitNos")
    if len(units) > MAX_UNITS:
        raise ValidationFailed(f"En fazla {MAX_UNITS} Detay Birim seçilebilir.", field="unitNos")
    return UserForm(role, province_id, district_id, check_phone(phone), _name(first_name, "firstName"),
                    _name(last_name, "lastName"), units)


_unit = Unit.__table__
_UNIT_NOS = ARRAY(Integer)


@raises(ValidationFailed, UnitNotInProvince)
async def check_references(connection: AsyncConnection, form: UserForm) -> None:
    """The province, the district (of that province) and the units (active, of that province or national)."""
    if form.province_id is not None and (not fits(form.province_id, Province.id) or await connection.scalar(
            select(Province.id).where(Province.id == form.province_id)) is None):
        raise ValidationFailed("İl bulunamadı.", field="provinceId")
    if form.district_id is not None and (not fits(form.district_id, District.id) or await connection.scalar(
            select(District.province_id).where(District.id == form.district_id)) != form.province_id):
        raise ValidationFailed("İlçe bu ile ait değil.", field="districtId")
    if form.unit_nos:
        fitting = [no for no in form.unit_nos if fits(no, Unit.detsis_no)]
        found = (await connection.execute(select(func.count()).where(
            _unit.c.detsis_no == any_(bindparam("units", fitting, type_=_UNIT_NOS)), _unit.c.active,
            (_unit.c.province_id == form.province_id) | _unit.c.province_id.is_(None)))).scalar_one()
        if found != len(form.unit_nos):
            raise UnitNotInProvince(field="unitNos")


@raises(NameMismatch)
def check_identity(person: Person, form: UserForm) -> None:
    """The identity service's name and surname are the form's (Turkish case and accents aside)."""
    if (fold(person.first_name), fold(person.last_name)) != (fold(form.first_name), fold(form.last_name)):
        raise NameMismatch(field="firstName")


_user = User.__table__


@raises(UserAlreadyExists)
async def ensure_no_active_account(connection: AsyncConnection | AsyncSession, tckn: str) -> None:
    """Before the identity lookup (a person with an account costs no lookup), and before a reactivation."""
    if await connection.scalar(select(_user.c.id).where(_user.c.tckn == tckn, _user.c.active)) is not None:
        raise UserAlreadyExists(field="tcKimlikNo")


async def _write_units(session: AsyncSession, user_id: int, unit_nos: tuple[int, ...]) -> None:
    await session.execute(user_unit.delete().where(user_unit.c.user_id == user_id))
    if unit_nos:
        await session.execute(insert(user_unit), [{"user_id": user_id, "unit_no": no} for no in unit_nos])


def _office_values(form: UserForm) -> dict:
    """The form's columns of `app_user` (the units are rows of their own)."""
    return {name: value for name, value in asdict(form).items() if name != "unit_nos"}


@raises(UserAlreadyExists)
async def register_user(session: AsyncSession, admin: User, tckn: str, form: UserForm) -> int:
    """A new active account (the form and the identity checked before); its id."""
    try:
        async with session.begin_nested():
            user_id = (await session.execute(insert(_user).values(
                tckn=tckn, created_by_id=admin.id, **_office_values(form)).returning(_user.c.id))).scalar_one()
    except IntegrityError:  # another admin registered the person a moment ago (uq_app_user_tckn_active)
        raise UserAlreadyExists(field="tcKimlikNo") from None
    await _write_units(session, user_id, form.unit_nos)
    await audit.record(session, admin, AuditEntity.USER, user_id, AuditAction.CREATED, province_id=form.province_id,
                       after={"tckn": tckn, **form.snapshot()})
    return user_id


@dataclass(frozen=True)
class Managed:
    """A user as an admin may change them: locked, with what the audit log needs."""

    id: int
    tckn: str
    active: bool
    version: int
    form: UserForm


async def _managed(session: AsyncSession, scope: AdminScope, user_id: int, *, lock: bool) -> Managed:
    """The user, if within the admin's scope (a user of another province is not found); locked for a change."""
    if not fits(user_id, User.id):
        raise NotFound("Kullanıcı bulunamadı.")
    units = select(func.array_agg(user_unit.c.unit_no)).where(
        user_unit.c.user_id == _user.c.id).scalar_subquery()
    statement = select(_user, units.label("unit_nos")).where(_user.c.id == user_id)
    row = (await session.execute(statement.with_for_update(of=_user) if lock else statement)).mappings().first()
    if row is None or not scope.covers(row["province_id"]):
        raise NotFound("Kullanıcı bulunamadı.")
    if row["id"] == scope.user_id:
        raise OwnAccount()
    if row["role"] not in scope.grants:  # another admin's account, at their level or above
        raise PermissionDenied()
    form = UserForm(row["role"], row["province_id"], row["district_id"], row["phone"], row["first_name"],
                    row["last_name"], tuple(sorted(row["unit_nos"] or ())))
    return Managed(row["id"], row["tckn"], row["active"], row["version"], form)


@raises(NotFound, PermissionDenied, OwnAccount)
async def managed_user(session: AsyncSession, scope: AdminScope, user_id: int) -> Managed:
    """The user as it is now (to tell whether a change needs an identity check), unlocked."""
    return await _managed(session, scope, user_id, lock=False)


@raises(NotFound, PermissionDenied, OwnAccount, ConcurrentChange)
async def update_user(session: AsyncSession, admin: User, scope: AdminScope, user_id: int, form: UserForm, *,
                      expected_version: int | None) -> None:
    """Güncelle: the form replaces the user's fields (the T.C. Kimlik No stays)."""
    user = await _managed(session, scope, user_id, lock=True)
    if expected_version is not None and expected_version != user.version:
        raise ConcurrentChange()
    before, after = audit.changed(user.form.snapshot(), form.snapshot())
    if not after:
        return
    await session.execute(update(_user).where(_user.c.id == user_id).values(
        updated_by_id=admin.id, updated_at=func.now(), version=_user.c.version + 1, **_office_values(form)))
    if user.form.unit_nos != tuple(sorted(form.unit_nos)):
        await _write_units(session, user_id, form.unit_nos)
    await audit.record(session, admin, AuditEntity.USER, user_id, AuditAction.UPDATED, province_id=form.province_id,
                       before=before, after=after)
    if user.form.role is not form.role or user.form.province_id != form.province_id:
        await _end_sessions(session, user_id)  # what they may see changed: they sign in again


@raises(NotFound, PermissionDenied, OwnAccount, UserAlreadyInactive, UserAlreadyActive, UserAlreadyExists)
async def set_active(session: AsyncSession, admin: User, scope: AdminScope, user_id: int, active: bool) -> None:
    """Deactivate (Silme: they can no longer sign in, and their sessions end now) or reactivate a user."""
    user = await _managed(session, scope, user_id, lock=True)
    if user.active == active:
        raise UserAlreadyActive() if active else UserAlreadyInactive()
    if active:
        await ensure_no_active_account(session, user.tckn)
    await session.execute(update(_user).where(_user.c.id == user_id).values(
        active=active, updated_by_id=admin.id, updated_at=func.now(), version=_user.c.version + 1))
    if not active:
        await _end_sessions(session, user_id)
    await audit.record(session, admin, AuditEntity.USER, user_id,
                       AuditAction.REACTIVATED if active else AuditAction.DEACTIVATED,
                       province_id=user.form.province_id, before={"active": user.active}, after={"active": active})


async def _end_sessions(session: AsyncSession, user_id: int) -> None:
    await session.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                          .values(revoked_at=func.now(), identity=None))


# ---------------------------------------------------------------------------------------------- Kullanıcı Arama

@dataclass(frozen=True)
class UserFilter:
    """Kullanıcı Arama's criteria; every one given must hold. Names match the beginning, Turkish case and
    accents aside."""

    role: Role | None = None
    tckn: str | None = None
    province_id: int | None = None
    district_id: int | None = None
    unit_no: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class UserLine:
    id: int
    tckn: str
    role: Role
    first_name: str
    last_name: str
    phone: str
    active: bool
    version: int
    province: tuple[int, str] | None
    district: tuple[int, str] | None
    units: list[tuple[int, str]]
    created_at: datetime
    created_by: str | None
    updated_at: datetime | None
    updated_by: str | None


@dataclass(frozen=True)
class UserPage:
    lines: list[UserLine]
    cursors: list[str]
    has_next: bool
    total: int


_province, _district = Province.__table__, District.__table__
_creator, _updater = aliased(User, name="creator"), aliased(User, name="updater")
_UNITS = records(_unit.c.detsis_no, _unit.c.name, order_by=[_unit.c.detsis_no],
                 select_from=user_unit.join(_unit, _unit.c.detsis_no == user_unit.c.unit_no),
                 where=[user_unit.c.user_id == _user.c.id])
_LINE = (select(_user.c.id, _user.c.tckn, _user.c.role, _user.c.first_name, _user.c.last_name, _user.c.phone,
                _user.c.active, _user.c.version, _province.c.id, _province.c.name, _district.c.id, _district.c.name,
                _UNITS, _user.c.created_at, (_creator.first_name + " " + _creator.last_name),
                _user.c.updated_at, (_updater.first_name + " " + _updater.last_name))
         .select_from(_user.outerjoin(_province, _province.c.id == _user.c.province_id)
                      .outerjoin(_district, _district.c.id == _user.c.district_id)
                      .outerjoin(_creator, _creator.id == _user.c.created_by_id)
                      .outerjoin(_updater, _updater.id == _user.c.updated_by_id)))


def _starts(column, value: str):
    return literal_column(folded(f"app_user.{column.key}")).startswith(fold(value))


def user_conditions(scope: AdminScope, f: UserFilter) -> list:
    conditions = [] if scope.national else [_user.c.province_id == scope.province_id]
    conditions.append(_user.c.role.in_(scope.grants))  # an admin lists the accounts they may manage
    if f.role is not None:
        conditions.append(_user.c.role == f.role)
    if f.tckn is not None:
        conditions.append(_user.c.tckn == f.tckn)
    if f.province_id is not None:
        conditions.append(_user.c.province_id == f.province_id)
    if f.district_id is not None:
        conditions.append(_user.c.district_id == f.district_id)
    if f.unit_no is not None:
        conditions.append(select(user_unit.c.user_id).where(user_unit.c.user_id == _user.c.id,
                                                            user_unit.c.unit_no == f.unit_no).exists())
    if f.first_name:
        conditions.append(_starts(_user.c.first_name, f.first_name))
    if f.last_name:
        conditions.append(_starts(_user.c.last_name, f.last_name))
    if f.phone is not None:
        conditions.append(_user.c.phone == f.phone)
    if f.active is not None:
        conditions.append(_user.c.active == f.active)
    return conditions


def _line(row) -> UserLine:
    (id, tckn, role, first_name, last_name, phone, active, version, province_id, province, district_id, district,
     units, created_at, created_by, updated_at, updated_by) = row
    return UserLine(id, tckn, role, first_name, last_name, phone, active, version,
                    (province_id, province) if province_id is not None else None,
                    (district_id, district) if district_id is not None else None,
                    [tuple(unit) for unit in units or ()], created_at, created_by, updated_at, updated_by)


async def user_page(connection: AsyncConnection, scope: AdminScope, f: UserFilter, *, first: int,
                    after: str | None) -> UserPage:
    """A page of the users the admin manages that meet `f`, newest first, with how many meet it."""
    conditions = user_conditions(scope, f)
    total = (await connection.execute(select(func.count()).select_from(_user).where(*conditions))).scalar_one()
    statement = _LINE.where(*conditions).order_by(_user.c.id.desc()).limit(first + 1)
    if after is not None:
        statement = statement.where(_user.c.id < decode_cursor(after, "u", 1)[0])
    rows = (await connection.execute(statement)).all()
    lines = [_line(row) for row in rows[:first]]
    return UserPage(lines, [encode_cursor("u", line.id) for line in lines], len(rows) > first, total)


async def user_line(connection: AsyncConnection, user_id: int) -> UserLine:
    return _line((await connection.execute(_LINE.where(_user.c.id == user_id))).one())


async def every_user(connection: AsyncConnection, scope: AdminScope, f: UserFilter, *, batch: int):
    """Every user of the search, newest first, `batch` at a time (for the Excel report)."""
    result = await connection.stream(_LINE.where(*user_conditions(scope, f)).order_by(_user.c.id.desc())
                                     .execution_options(yield_per=batch))
    async for rows in result.partitions():
        yield [_line(row) for row in rows]


async def count_users(connection: AsyncConnection, scope: AdminScope, f: UserFilter) -> int:
    return (await connection.execute(select(func.count()).select_from(_user)
                                     .where(*user_conditions(scope, f)))).scalar_one()



# ------------------------------------------------------------------------------------------ the Excel user report

REPORT_COLUMNS = (
    Column("Kullanıcı Yetki Tipi", ColumnKind.TEXT, 22),
    Column("İl", ColumnKind.TEXT, 14),
    Column("İlçe", ColumnKind.TEXT, 14),
    Column("Detay Birimleri", ColumnKind.TEXT, 50),
    Column("T.C. Kimlik No", ColumnKind.TEXT, 14),
    Column("Adı", ColumnKind.TEXT, 16),
    Column("Soyadı", ColumnKind.TEXT, 16),
    Column("Cep Telefonu", ColumnKind.TEXT, 13),
    Column("Durum", ColumnKind.TEXT, 8),
    Column("Oluşturan", ColumnKind.TEXT, 22),
    Column("Oluşturma Tarihi", ColumnKind.DATETIME, 17),
    Column("Güncelleyen", ColumnKind.TEXT, 22),
    Column("Güncelleme Tarihi", ColumnKind.DATETIME, 17),
)


def report_row(line: UserLine) -> tuple:
    return (line.role.value, line.province and line.province[1], line.district and line.district[1],
            "; ".join(f"{no} {name}" for no, name in line.units), line.tckn, line.first_name, line.last_name,
            line.phone, "Etkin" if line.active else "Pasif", line.created_by, line.created_at, line.updated_by,
            line.updated_at)


@dataclass(frozen=True)
class UserReport:
    """Kullanıcı Arama's Rapor Al: the users of the search (services/exports.py runs it)."""

    scope: AdminScope
    filter: UserFilter
    sheet = "Kullanıcılar"
    columns = REPORT_COLUMNS

    async def prepare(self, connection: AsyncConnection, user_id: int) -> int:
        return await count_users(connection, self.scope, self.filter)

    async def batches(self, connection: AsyncConnection):
        async for lines in every_user(connection, self.scope, self.filter, batch=500):
            yield [report_row(line) for line in lines]
