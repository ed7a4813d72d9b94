"""Yetki İşlemleri (seed 000 §6): Kullanıcı Kayıt, Kullanıcı Arama (a Relay connection), Güncelle, Silme
(deactivation), the Excel user report, and the audit log of what admins changed."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from acikkapi.models import AuditAction as AuditActionValue, AuditEntity as AuditEntityValue, User
from acikkapi.resolvers import users
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.schema.reference import District, Province
from acikkapi.schema.search import After, ExportJobType, ExportStarted, First, PageInfo
from acikkapi.schema.signin import StaffRole
from acikkapi.schema.workflow import RoutedUnit
from acikkapi.services.audit import AuditPage
from acikkapi.services.checks import id_number
from acikkapi.services.errors import DomainError
from acikkapi.services.search import DEFAULT_PAGE
from acikkapi.services.users import UserLine, UserPage

AuditEntity = strawberry.enum(AuditEntityValue, name="AuditEntity", description="What a change was made to.")
AuditAction = strawberry.enum(AuditActionValue, name="AuditAction", description="What the change was.")


@strawberry.type(name="StaffUser", description="A row of Kullanıcı Arama: a staff user as their admin sees them.")
class StaffUserType:
    id: strawberry.ID
    role: StaffRole = strawberry.field(description="Kullanıcı Yetki Tipi.")
    role_label: str
    tc_kimlik_no: str
    first_name: str
    last_name: str
    phone: str = strawberry.field(description="Cep Telefonu, 10 digits.")
    active: bool = strawberry.field(description="False once deactivated (Silme): they can no longer sign in.")
    version: int = strawberry.field(description="Give it to `updateUser` to refuse a change made meanwhile.")
    province: Province | None = strawberry.field(description="İl; null for a national account.")
    district: District | None = strawberry.field(description="A kaymakamlık's office.")
    units: list[RoutedUnit] = strawberry.field(description="Detay Birimleri (a Yetkili's).")
    created_at: datetime
    created_by: str | None = strawberry.field(description="Who registered them (null: loaded with the system).")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, u: UserLine) -> "StaffUserType":
        return cls(id=strawberry.ID(str(u.id)), role=u.role, role_label=u.role.value, tc_kimlik_no=u.tckn,
                   first_name=u.first_name, last_name=u.last_name, phone=u.phone, active=u.active,
                   version=u.version, province=u.province and Province(id=u.province[0], name=u.province[1]),
                   district=u.district and District(id=u.district[0], name=u.district[1]),
                   units=[RoutedUnit(detsis_no=no, name=name) for no, name in u.units], created_at=u.created_at,
                   created_by=u.created_by, updated_at=u.updated_at, updated_by=u.updated_by)


@strawberry.type
class StaffUserEdge:
    cursor: str
    node: StaffUserType


@strawberry.type
class StaffUserConnection:
    edges: list[StaffUserEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="The users meeting the filter, on every page.")


def _page_info(cursors: list[str], has_next: bool) -> PageInfo:
    return PageInfo(has_next_page=has_next, has_previous_page=False, start_cursor=cursors[0] if cursors else None,
                    end_cursor=cursors[-1] if cursors else None)


@strawberry.input(description="Kullanıcı Arama: every criterion given must hold.")
class StaffUserFilter:
    role: StaffRole | None = None
    tc_kimlik_no: str | None = None
    province_id: int | None = None
    district_id: int | None = strawberry.field(default=None, description="A kaymakamlık's office.")
    unit_no: int | None = strawberry.field(default=None, description="Has this Detay Birim.")
    first_name: str | None = strawberry.field(default=None, description="Beginning of the first name, Turkish "
                                                                       "case and accents ignored.")
    last_name: str | None = None
    phone: str | None = None
    active: bool | None = None


@strawberry.input(description="Kullanıcı Kayıt's fields.")
class StaffUserFields:
    role: StaffRole = strawberry.field(description="Kullanıcı Yetki Tipi (Sorumlu: AKS).")
    province_id: int | None = strawberry.field(description="İl; null only for the ministry's analysts and admins.")
    district_id: int | None = strawberry.field(default=None, description="For a kaymakamlık's AKS or MİA.")
    phone: str = strawberry.field(description="Cep Telefonu.")
    first_name: str
    last_name: str
    unit_nos: list[int] | None = strawberry.field(default=None, description="Detay Birim: a Yetkili's DETSİS "
                                                                           "units (of the province, or national).")


@strawberry.input
class RegisterUserInput(StaffUserFields):
    tc_kimlik_no: str = strawberry.field(description="Confirmed with the name by the identity service.")


@strawberry.input
class UpdateUserInput(StaffUserFields):
    id: strawberry.ID
    expected_version: int | None = strawberry.field(default=None, description="The `version` you read.")


@strawberry.type(description="The user is saved.")
class UserSaved:
    user: StaffUserType


RegisterUserPayload = payload_union("RegisterUserPayload", UserSaved, users.register_user)
UpdateUserPayload = payload_union("UpdateUserPayload", UserSaved, users.update_user)
SetUserActivePayload = payload_union("SetUserActivePayload", UserSaved, users.set_active)
StartUserExportPayload = payload_union("StartUserExportPayload", ExportStarted, users.start_user_export)


@strawberry.type(name="AuditEvent", description="One change made in Yetki İşlemleri.")
class AuditEventType:
    id: strawberry.ID
    entity: AuditEntity
    entity_label: str
    entity_id: str = strawberry.field(description="The user's id, the category's id, the unit's DETSİS number.")
    action: AuditAction
    action_label: str
    actor_label: str = strawberry.field(description="Who, with their role at the time.")
    province_id: int | None
    before: JSON | None = strawberry.field(description="The changed fields before the change.")
    after: JSON | None = strawberry.field(description="The changed fields after it.")
    created_at: datetime


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEventType


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input(description="Every criterion given must hold.")
class AuditEventFilter:
    entity: AuditEntity | None = None
    entity_id: str | None = None
    action: AuditAction | None = None
    actor_id: int | None = strawberry.field(default=None, description="The admin's user id.")
    since: datetime | None = None
    until: datetime | None = strawberry.field(default=None, description="Before this moment.")


def _user_id(value: strawberry.ID) -> int:
    return id_number(value, User.id) or 0  # 0 is no user's: not found


async def _saved(info: Info, user_id: int) -> UserSaved:
    return UserSaved(user=StaffUserType.of(await users.saved_user(info.context, user_id)))


def _connection(page: UserPage) -> StaffUserConnection:
    return StaffUserConnection(
        edges=[StaffUserEdge(cursor=cursor, node=StaffUserType.of(line)) for cursor, line in zip(page.cursors,
                                                                                                  page.lines)],
        page_info=_page_info(page.cursors, page.has_next), total_count=page.total)


def _events(page: AuditPage) -> AuditEventConnection:
    return AuditEventConnection(edges=[AuditEventEdge(cursor=cursor, node=AuditEventType(
        id=strawberry.ID(str(e.id)), entity=e.entity, entity_label=e.entity.value, entity_id=e.entity_id,
        action=e.action, action_label=e.action.value, actor_label=e.actor_label, province_id=e.province_id,
        before=e.before, after=e.after, created_at=e.created_at)) for cursor, e in zip(page.cursors, page.events)],
        page_info=_page_info(page.cursors, page.has_next), total_count=page.total)


@strawberry.type
class UserQuery:
    @strawberry.field(description="Kullanıcı Arama (Yetki İşlemleri): the users you manage, newest first.")
    async def staff_users(self, info: Info, filter: StaffUserFilter | None = None, first: First = DEFAULT_PAGE,
                          after: After = None) -> StaffUserConnection:
        return _connection(await users.search_users(info.context, vars(filter) if filter else {}, first=first,
                                                    after=after))

    @strawberry.field(description="Yetki İşlemleri: the audit log of your scope, newest first.")
    async def audit_events(self, info: Info, filter: AuditEventFilter | None = None, first: First = DEFAULT_PAGE,
                           after: After = None) -> AuditEventConnection:
        return _events(await users.audit_events(info.context, vars(filter) if filter else {}, first=first,
                                                after=after))


@strawberry.type
class UserMutation:
    @strawberry.mutation(description="Kullanıcı Kayıt: register a staff user of your scope.")
    async def register_user(self, info: Info, input: RegisterUserInput) -> RegisterUserPayload:
        try:
            user_id = await users.register_user(info.context, vars(input))
        except DomainError as error:
            return as_payload(error, users.register_user)
        return await _saved(info, user_id)

    @strawberry.mutation(description="Güncelle: the form replaces the user's fields (not the T.C. Kimlik No).")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UpdateUserPayload:
        try:
            user_id = await users.update_user(info.context, _user_id(input.id), vars(input), input.expected_version)
        except DomainError as error:
            return as_payload(error, users.update_user)
        return await _saved(info, user_id)

    @strawberry.mutation(description="Silme: deactivate a user (`active: false`; their sessions end at once), or "
                                     "reactivate one.")
    async def set_user_active(self, info: Info, id: strawberry.ID, active: bool) -> SetUserActivePayload:
        try:
            user_id = await users.set_active(info.context, _user_id(id), active)
        except DomainError as error:
            return as_payload(error, users.set_active)
        return await _saved(info, user_id)

    @strawberry.mutation(description="Rapor Al: the users of the search as an Excel workbook, written in the "
                                     "background; poll `exportJob`.")
    async def start_user_export(self, info: Info, filter: StaffUserFilter | None = None) -> StartUserExportPayload:
        try:
            job = await users.start_user_export(info.context, vars(filter) if filter else {})
        except DomainError as error:
            return as_payload(error, users.start_user_export)
        return ExportStarted(job=ExportJobType.of(job, info.context))
