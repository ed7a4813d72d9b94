"""What staff read of an application: the full view (AKS Başvuru İşlemleri, Yetkili Başvuru Cevapla, MİA Başvuru
Görüntüleme), one statement per kind of scope, built once: the child rows (categories, files, routings,
history) come back as arrays of anonymous records, filtered by the same scoping conditions as every other lookup
(permissions/applications.py), and are mapped to plain objects.

Which of the applicant's personal fields a reader may see is decided above this module (the view holds them
all); see permissions/applications.py.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import records
from acikkapi.models import (
    Application, ApplicationCategory, ApplicationEvent, ApplicationKind, ApplicationResult, ApplicationStatus,
    Attachment, Channel, District, EventAction, Gender, Place, PriorityGroup, Province, Role, Routing,
    RoutingStatus, ServiceCategory, Unit, User,
)
from acikkapi.permissions.applications import (
    Scope, visible_applications, visible_attachments, visible_events, visible_routings,
)
from acikkapi.services.business_days import is_overdue
from acikkapi.services.errors import NotFound
from acikkapi.services.tracking import CategoryLine, Named, PlaceRef

_a, _row, _file = Application.__table__, ApplicationCategory.__table__, Attachment.__table__
_r, _e, _unit, _user = Routing.__table__, ApplicationEvent.__table__, Unit.__table__, User.__table__
_category, _subcategory = ServiceCategory.__table__.alias("category"), ServiceCategory.__table__.alias("subcategory")
_creator, _answerer = _user.alias("creator"), _user.alias("answerer")
_province, _district, _place = Province.__table__, District.__table__, Place.__table__
_residence_province, _residence_district = _province.alias("residence_province"), _district.alias("residence_district")


def _name(user):
    return user.c.first_name + " " + user.c.last_name


def _view(scope: Scope):
    categories = records(
        _row.c.position, _category.c.name, _subcategory.c.name, _row.c.description, order_by=[_row.c.position],
        select_from=_row.join(_category, _category.c.id == _row.c.category_id)
        .join(_subcategory, _subcategory.c.id == _row.c.subcategory_id),
        where=[_row.c.application_id == _a.c.id])
    files = records(
        _file.c.id, _file.c.routing_id, _file.c.file_name, _file.c.content_type, _file.c.size, _file.c.uploaded_at,
        order_by=[_file.c.uploaded_at, _file.c.id], select_from=_file,
        where=[_file.c.application_id == _a.c.id, visible_attachments(scope)])
    routings = records(
        _r.c.id, _r.c.parent_id, _r.c.unit_no, _unit.c.name, _r.c.status, _r.c.due_date, _r.c.created_at,
        _name(_creator), _r.c.answer, _r.c.answered_at, _name(_answerer), _r.c.return_reason,
        order_by=[_r.c.id],
        select_from=_r.join(_unit, _unit.c.detsis_no == _r.c.unit_no)
        .join(_creator, _creator.c.id == _r.c.created_by_id)
        .outerjoin(_answerer, _answerer.c.id == _r.c.answered_by_id),
        where=[_r.c.application_id == _a.c.id, visible_routings(scope)])
    history = records(
        _e.c.action, _e.c.status, _e.c.note, _e.c.actor_label, _e.c.actor_role, _e.c.public, _e.c.routing_id,
        _e.c.created_at, order_by=[_e.c.id], select_from=_e,
        where=[_e.c.application_id == _a.c.id, visible_events(scope)])
    return (
        select(_a.c.id, _a.c.tracking_no, _a.c.version, _a.c.status, _a.c.result, _a.c.answer, _a.c.kind,
               _a.c.channel, _a.c.created_at, _a.c.arrival_date, _a.c.is_special, _a.c.is_confidential,
               _a.c.priority_group, _a.c.applicant_tckn, _a.c.applicant_first_name, _a.c.applicant_last_name,
               _a.c.applicant_birth_date, _a.c.applicant_gender, _a.c.residence_address,
               _residence_district.c.name.label("residence_district"),
               _residence_province.c.name.label("residence_province"), _a.c.subject_address,
               _province.c.id.label("province_id"), _province.c.name.label("province_name"),
               _district.c.id.label("district_id"), _district.c.name.label("district_name"),
               _place.c.id.label("place_id"), _place.c.name.label("place_name"), _place.c.kind.label("place_kind"),
               _a.c.phone, _a.c.email, _a.c.subject, categories.label("categories"), files.label("files"),
               routings.label("routings"), history.label("history"))
        .join(_province, _province.c.id == _a.c.subject_province_id)
        .join(_district, _district.c.id == _a.c.subject_district_id)
        .join(_place, _place.c.id == _a.c.subject_place_id)
        .outerjoin(_residence_district, _residence_district.c.id == _a.c.residence_district_id)
        .outerjoin(_residence_province, _residence_province.c.id == _a.c.residence_province_id)
        .where(_a.c.tracking_no == bindparam("tracking_no"), visible_applications(scope)))


_VIEW = {scope: _view(scope) for scope in Scope}


@dataclass(frozen=True)
class FileLine:
    id: object  # uuid.UUID
    routing_id: int | None  # a unit's answer file; null for the applicant's
    file_name: str
    content_type: str
    size: int
    uploaded_at: datetime


@dataclass(frozen=True)
class RoutingLine:
    id: int
    parent_id: int | None
    unit: Named
    status: RoutingStatus
    due_date: date
    overdue: bool
    created_at: datetime
    created_by: str
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    return_reason: str | None
    files: list[FileLine]


@dataclass(frozen=True)
class EventLine:
    action: EventAction
    status: ApplicationStatus
    note: str | None
    actor_label: str
    actor_role: Role | None
    public: bool
    routing_id: int | None
    at: datetime


@dataclass(frozen=True)
class StaffView:
    id: int
    tracking_no: int
    version: int
    status: ApplicationStatus
    result: ApplicationResult | None
    answer: str | None
    kind: ApplicationKind
    channel: Channel
    created_at: datetime
    arrival_date: date | None
    is_special: bool
    is_confidential: bool
    priority_group: PriorityGroup | None
    tckn: str
    first_name: str
    last_name: str
    birth_date: date | None
    gender: Gender | None
    residence_line: str  # “<açık adres> KEÇİÖREN / ANKARA”
    subject_address: str
    province: Named
    district: Named
    place: PlaceRef
    phone: str
    email: str | None
    subject: str
    categories: list[CategoryLine]
    files: list[FileLine]  # the applicant's own files
    routings: list[RoutingLine]
    history: list[EventLine]


def _enum(kind, name: str | None):
    return kind[name] if name else None


async def staff_view(connection: AsyncConnection, scope: Scope, params: dict, tracking_no: int,
                     now: datetime) -> StaffView:
    """The application `tracking_no` as `scope` sees it (`params`: permissions.applications.scope_params)."""
    row = (await connection.execute(_VIEW[scope], {**params, "tracking_no": tracking_no})).mappings().first()
    if row is None:
        raise NotFound("Başvuru bulunamadı.")
    files = [FileLine(*line) for line in row["files"] or ()]
    routings = []
    for (id, parent_id, unit_no, unit_name, status, due, created_at, created_by, answer, answered_at, answered_by,
         return_reason) in row["routings"] or ():
        status = RoutingStatus[status]
        routings.append(RoutingLine(
            id=id, parent_id=parent_id, unit=Named(unit_no, unit_name), status=status, due_date=due,
            overdue=status is not RoutingStatus.ANSWERED and is_overdue(due, now), created_at=created_at,
            created_by=created_by, answer=answer, answered_at=answered_at, answered_by=answered_by,
            return_reason=return_reason, files=[f for f in files if f.routing_id == id]))
    residence = row["residence_address"]
    if row["residence_district"] and row["residence_province"]:
        residence = f"{residence} {row['residence_district']} / {row['residence_province']}"
    return StaffView(
        id=row["id"], tracking_no=row["tracking_no"], version=row["version"], status=row["status"],
        result=row["result"], answer=row["answer"], kind=row["kind"], channel=row["channel"],
        created_at=row["created_at"], arrival_date=row["arrival_date"], is_special=row["is_special"],
        is_confidential=row["is_confidential"], priority_group=row["priority_group"], tckn=row["applicant_tckn"],
        first_name=row["applicant_first_name"], last_name=row["applicant_last_name"],
        birth_date=row["applicant_birth_date"], gender=row["applicant_gender"], residence_line=residence,
        subject_address=row["subject_address"], province=Named(row["province_id"], row["province_name"]),
        district=Named(row["district_id"], row["district_name"]),
        place=PlaceRef(row["place_id"], row["place_name"], row["place_kind"]), phone=row["phone"],
        email=row["email"], subject=row["subject"],
        categories=[CategoryLine(*line) for line in row["categories"] or ()],
        files=[f for f in files if f.routing_id is None], routings=routings,
        history=[EventLine(EventAction[action], ApplicationStatus[status], note, label, _enum(Role, role), public,
                           routing_id, at)
                 for action, status, note, label, role, public, routing_id, at in row["history"] or ()])
