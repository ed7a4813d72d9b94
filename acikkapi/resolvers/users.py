"""Yetki İşlemleri: the admin's scope, the form's checks, the identity check (outside any transaction), then
the change and its audit row in one transaction."""

from datetime import UTC, datetime

from acikkapi.context import Context
from acikkapi.models import LookupPurpose
from acikkapi.permissions.admin import AdminScope, admin_scope
from acikkapi.resolvers import identity_lookups
from acikkapi.resolvers.search import page_size
from acikkapi.services import audit, exports, users
from acikkapi.services.audit import AuditFilter, AuditPage
from acikkapi.services.errors import PermissionDenied, Unauthenticated, ValidationFailed, raises
from acikkapi.services.exports import ExportLimitReached, ExportRequest
from acikkapi.services.staff_lookups import IdentityLookupRefused
from acikkapi.services.tckn import check_phone, check_tckn
from acikkapi.services.users import UserFilter, UserForm, UserLine, UserPage


def _form(scope: AdminScope, values: dict) -> UserForm:
    return users.check_form(scope, role=values["role"], province_id=values.get("province_id"),
                            district_id=values.get("district_id"), phone=values["phone"],
                            first_name=values["first_name"], last_name=values["last_name"],
                            unit_nos=values.get("unit_nos") or [])


async def _confirm_identity(context: Context, tckn: str, form: UserForm) -> None:
    """The identity service confirms the name (the lookup recorded and counted as every staff lookup)."""
    try:
        person = await identity_lookups.person_of(context, tckn, LookupPurpose.REGISTER_USER)
    except IdentityLookupRefused:  # its message speaks of applications
        raise IdentityLookupRefused("Bu T.C. Kimlik No ile kimlik kaydı bulunamadı.", field="tcKimlikNo") from None
    users.check_identity(person, form)


@raises(Unauthenticated, PermissionDenied, *users.check_form.raises, *users.check_references.raises,
        *users.ensure_no_active_account.raises, *identity_lookups.person_of.raises,
        *users.check_identity.raises, *users.register_user.raises)
async def register_user(context: Context, values: dict) -> int:
    """Kullanıcı Kayıt: a new user of the admin's scope; their id."""
    scope = admin_scope(context.actor)
    tckn = check_tckn(values["tc_kimlik_no"])
    form = _form(scope, values)
    async with context.connection() as connection:
        await users.check_references(connection, form)
        await users.ensure_no_active_account(connection, tckn)
    await _confirm_identity(context, tckn, form)
    async with context.mutation() as session:
        return await users.register_user(session, context.actor.user, tckn, form)


@raises(Unauthenticated, PermissionDenied, *users.check_form.raises, *users.check_references.raises,
        *users.managed_user.raises, *identity_lookups.person_of.raises, *users.check_identity.raises,
        *users.update_user.raises)
async def update_user(context: Context, user_id: int, values: dict, expected_version: int | None) -> int:
    """Güncelle: the form replaces the user's fields; a new name is confirmed by the identity service."""
    scope = admin_scope(context.actor)
    async with context.mutation() as session:  # first: a user out of scope is not found, whatever the form
        before = await users.managed_user(session, scope, user_id)
    form = _form(scope, values)
    async with context.connection() as connection:
        await users.check_references(connection, form)
    if (before.form.first_name, before.form.last_name) != (form.first_name, form.last_name):
        await _confirm_identity(context, before.tckn, form)
    async with context.mutation() as session:
        await users.update_user(session, context.actor.user, scope, user_id, form, expected_version=expected_version)
    return user_id


@raises(Unauthenticated, PermissionDenied, *users.set_active.raises)
async def set_active(context: Context, user_id: int, active: bool) -> int:
    scope = admin_scope(context.actor)
    async with context.mutation() as session:
        await users.set_active(session, context.actor.user, scope, user_id, active)
    return user_id


async def saved_user(context: Context, user_id: int) -> UserLine:
    """The user as a step left them, for its answer."""
    async with context.connection() as connection:
        return await users.user_line(connection, user_id)


def user_filter(values: dict) -> UserFilter:
    tckn, phone = values.get("tc_kimlik_no"), values.get("phone")
    for name, field in (("first_name", "firstName"), ("last_name", "lastName")):
        if values.get(name) is not None and not 1 <= len(values[name].strip()) <= 64:
            raise ValidationFailed("Ad ve soyad 1 ile 64 karakter arasında aranabilir.", field=f"filter.{field}")
    return UserFilter(role=values.get("role"), tckn=tckn and check_tckn(tckn, "filter.tcKimlikNo"),
                      province_id=values.get("province_id"), district_id=values.get("district_id"),
                      unit_no=values.get("unit_no"),
                      first_name=values.get("first_name"), last_name=values.get("last_name"),
                      phone=phone and check_phone(phone, "filter.phone"), active=values.get("active"))


@raises(Unauthenticated, PermissionDenied, ValidationFailed)
async def search_users(context: Context, values: dict, *, first: int | None, after: str | None) -> UserPage:
    """Kullanıcı Arama: the users the admin manages, newest first."""
    scope = admin_scope(context.actor)
    f, first = user_filter(values), page_size(first)
    async with context.connection() as connection:
        return await users.user_page(connection, scope, f, first=first, after=after)


@raises(Unauthenticated, PermissionDenied, ValidationFailed, ExportLimitReached)
async def start_user_export(context: Context, values: dict):
    """Rapor Al: the users of the search as a workbook, written in the background; the job as it starts."""
    scope = admin_scope(context.actor)
    f, now, user_id = user_filter(values), datetime.now(UTC), context.actor.user.id
    async with context.connection() as connection:
        job_id = await exports.create_job(connection, context.settings, user_id=user_id,
                                          file_name=exports.file_name(now, "kullanicilar"))
        job = await exports.job_of(connection, job_id, user_id)
    context.services.exports.submit(ExportRequest(job_id, user_id, users.UserReport(scope, f)))
    return job


async def audit_events(context: Context, values: dict, *, first: int | None, after: str | None) -> AuditPage:
    """The audit log of the admin's scope: their province's events (the ministry's admins: every event)."""
    scope = admin_scope(context.actor)
    f = AuditFilter(entity=values.get("entity"), entity_id=values.get("entity_id"), action=values.get("action"),
                    actor_id=values.get("actor_id"), since=values.get("since"), until=values.get("until"))
    async with context.connection() as connection:
        return await audit.audit_page(connection, scope.province_id, f, first=page_size(first), after=after)

