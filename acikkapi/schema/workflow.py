"""The staff workflow in GraphQL: the staff application view, a Yetkili's routings, and one mutation per step of
the table in services/workflow.py, each with a payload union of exactly its errors."""

from datetime import date, datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from acikkapi.models import (
    ApplicationKind, ApplicationResult, ApplicationStatus, Channel as ChannelValue, EventAction as EventActionValue,
    Gender, PriorityGroup as PriorityGroupValue, RoutingStatus as RoutingStatusValue,
)
from acikkapi.permissions.applications import reads_personal_data, shows_identity
from acikkapi.resolvers import workflow
from acikkapi.schema.applications import AttachmentFile, CategoryLine, CategoryRowInput
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.schema.reference import District, Place, Province
from acikkapi.schema.signin import StaffRole
from acikkapi.services.applications import CategoryRow
from acikkapi.services.applications import Upload as UploadedFile
from acikkapi.services.errors import DomainError
from acikkapi.services.links import signed_path
from acikkapi.services.staff_view import FileLine, StaffView

Channel = strawberry.enum(ChannelValue, name="Channel", description="Where the application came in.")
PriorityGroup = strawberry.enum(PriorityGroupValue, name="PriorityGroup",
                                description="Applicants served first (directive): şehit yakını, gazi, …")
RoutingStatus = strawberry.enum(RoutingStatusValue, name="RoutingStatus",
                                description="Where a routing is: waiting for the unit's answer, or answered.")
EventAction = strawberry.enum(EventActionValue, name="EventAction", description="What a history row records.")


@strawberry.type(description="A DETSİS unit an application is routed to.")
class RoutedUnit:
    detsis_no: int
    name: str


@strawberry.type(name="Routing", description="One assignment of the application to a unit: its state, due date "
                                             "(Son Cevap Verme Tarihi), answer and files.")
class RoutingView:
    id: strawberry.ID
    parent_id: strawberry.ID | None = strawberry.field(description="The routing a sub-unit's was made under.")
    unit: RoutedUnit
    status: RoutingStatus
    status_label: str
    due_date: date = strawberry.field(description="The last day to answer: 7 business days after routing.")
    overdue: bool = strawberry.field(description="Still waiting for an answer after its due date.")
    routed_at: datetime
    routed_by: str
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    return_reason: str | None = strawberry.field(description="Why the AKS sent the last answer back, if it did.")
    files: list[AttachmentFile]


@strawberry.type(description="One row of İşlem Hareketleri as staff see it, internal rows included.")
class StaffHistoryEntry:
    position: int
    action: EventAction
    action_label: str
    status: ApplicationStatus
    status_label: str
    note: str | None
    actor: str = strawberry.field(description="Who: name and role, or “Vatandaş”.")
    role: StaffRole | None
    role_label: str | None
    public: bool = strawberry.field(description="Shown to the citizen too.")
    routing_id: strawberry.ID | None
    at: datetime


@strawberry.type(description="An application as staff see it (Başvuru Raporu). The applicant's personal data is "
                             "null for roles that may not read it, and the name for the units of an ihbar.")
class StaffApplication:
    id: strawberry.ID
    tracking_no: int
    version: int = strawberry.field(description="Pass it as `expectedVersion` to act only on what you saw.")
    status: ApplicationStatus
    status_label: str
    result: ApplicationResult | None
    result_label: str | None
    answer: str | None = strawberry.field(description="The answer to the citizen, once closed.")
    closed: bool
    kind: ApplicationKind
    kind_label: str
    channel: Channel
    channel_label: str
    created_at: datetime
    arrival_date: date | None
    is_special: bool = strawberry.field(description="Özellikli: to be seen by the MİA.")
    is_confidential: bool = strawberry.field(description="Gizli: only the MİA and the office handle it.")
    priority_group: PriorityGroup | None
    priority_group_label: str | None
    first_name: str | None
    last_name: str | None
    tc_kimlik_no: str | None
    birth_date: date | None
    gender: Gender | None
    gender_label: str | None
    phone: str | None
    email: str | None
    residence_address: str | None
    subject_address: str
    province: Province
    district: District
    place: Place
    subject: str
    categories: list[CategoryLine]
    files: list[AttachmentFile] = strawberry.field(description="The applicant's files.")
    routings: list[RoutingView]
    history: list[StaffHistoryEntry]
    report_url: str = strawberry.field(description="The printable report (Başvuru Raporu), valid for a few minutes.")


def linker(context):
    settings, session_id = context.settings, context.actor.session.id

    def link(path: str) -> str:
        return signed_path(settings.link_key, path, session_id, settings.download_link_seconds,
                           base_url=settings.public_base_url)

    return link


def _file(f: FileLine, link) -> AttachmentFile:
    return AttachmentFile(id=strawberry.ID(str(f.id)), file_name=f.file_name, content_type=f.content_type,
                          size=f.size, download_url=link(f"/files/{f.id}"))


def staff_application_of(a: StaffView, context) -> StaffApplication:
    actor, link = context.actor, linker(context)
    personal, identity = reads_personal_data(actor), shows_identity(actor, a.kind)

    def personal_data(value):
        return value if personal else None

    closed = a.status is ApplicationStatus.SONUCLANDI
    return StaffApplication(
        id=strawberry.ID(str(a.id)), tracking_no=a.tracking_no, version=a.version, status=a.status,
        status_label=a.status.value, result=a.result, result_label=a.result.value if a.result else None,
        answer=a.answer, closed=closed, kind=a.kind, kind_label=a.kind.value, channel=a.channel,
        channel_label=a.channel.value, created_at=a.created_at, arrival_date=a.arrival_date,
        is_special=a.is_special, is_confidential=a.is_confidential, priority_group=a.priority_group,
        priority_group_label=a.priority_group.value if a.priority_group else None,
        first_name=a.first_name if identity else None, last_name=a.last_name if identity else None,
        tc_kimlik_no=personal_data(a.tckn), birth_date=personal_data(a.birth_date), gender=personal_data(a.gender),
        gender_label=personal_data(a.gender.value if a.gender else None), phone=personal_data(a.phone),
        email=personal_data(a.email), residence_address=personal_data(a.residence_line),
        subject_address=a.subject_address, province=a.province, district=a.district, place=a.place,
        subject=a.subject, categories=a.categories, files=[_file(f, link) for f in a.files],
        routings=[RoutingView(
            id=strawberry.ID(str(r.id)), parent_id=strawberry.ID(str(r.parent_id)) if r.parent_id else None,
            unit=RoutedUnit(detsis_no=r.unit.id, name=r.unit.name), status=r.status, status_label=r.status.value,
            due_date=r.due_date, overdue=r.overdue, routed_at=r.created_at, routed_by=r.created_by, answer=r.answer,
            answered_at=r.answered_at, answered_by=r.answered_by, return_reason=r.return_reason,
            files=[_file(f, link) for f in r.files]) for r in a.routings],
        history=[StaffHistoryEntry(
            position=i, action=e.action, action_label=e.action.value, status=e.status, status_label=e.status.value,
            note=e.note, actor=e.actor_label, role=e.actor_role,
            role_label=e.actor_role.value if e.actor_role else None,
            public=e.public, routing_id=strawberry.ID(str(e.routing_id)) if e.routing_id else None, at=e.at)
            for i, e in enumerate(a.history, start=1)],
        report_url=link(f"/reports/applications/{a.tracking_no}"))


def selected_names(info: Info) -> set[str]:
    """The names of the fields asked for directly below this one, through fragments too."""
    names: set[str] = set()

    def walk(selections) -> None:
        for selection in selections:
            if isinstance(selection, SelectedField):
                names.add(selection.name)
            else:
                walk(selection.selections)

    for field in info.selected_fields:
        walk(field.selections)
    if "genderLabel" in names:
        names.add("gender")
    return names


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="Staff: one application, as far as the role and office may see it: every field of "
                                  "the report, the routings with their answers and files, and İşlem Hareketleri. "
                                  "Reads of the applicant's personal data are recorded (KVKK).")
    async def staff_application(self, info: Info, tracking_no: int) -> StaffApplication:
        view = await workflow.staff_application(info.context, tracking_no, selected_names(info))
        return staff_application_of(view, info.context)


@strawberry.type(description="The step was taken; the application as it is now.")
class WorkflowStepDone:
    tracking_no: int
    status: ApplicationStatus
    status_label: str
    version: int


def _done(advanced) -> WorkflowStepDone:
    return WorkflowStepDone(tracking_no=advanced.tracking_no, status=advanced.status,
                            status_label=advanced.status.value, version=advanced.version)


EXPECTED_VERSION = strawberry.field(
    default=None, description="The `version` you saw: if the application changed since, nothing is done and "
                              "CONCURRENT_CHANGE is returned.")


@strawberry.input(description="Güncelle: the application's new category rows (nothing else of it changes).")
class UpdateCategoriesInput:
    tracking_no: int
    categories: list[CategoryRowInput]
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="The directive's flags.")
class SetFlagsInput:
    tracking_no: int
    is_special: bool = strawberry.field(description="Özellikli: to be seen by the MİA before it is closed.")
    is_confidential: bool = strawberry.field(description="Gizli: only the MİA and the office see it.")
    priority_group: PriorityGroup | None = None
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="İlgili Birime Yönlendir: one or more DETSİS units (found with `units`).")
class RouteApplicationInput:
    tracking_no: int
    unit_nos: list[int] = strawberry.field(description="DETSİS numbers.")
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="Başvuru Cevapla: the unit's answer, with optional files (as the citizen's).")
class AnswerRoutingInput:
    routing_id: strawberry.ID
    answer: str
    files: list[Upload] = strawberry.field(default_factory=list)


@strawberry.input(description="Send a unit's unsuitable answer back, saying why: the unit answers again.")
class ReturnRoutingAnswerInput:
    routing_id: strawberry.ID
    reason: str
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="MİA Onayına Gönder. After it, nothing can be done until the MİA returns it.")
class SendToMiaInput:
    tracking_no: int
    confirm: bool = strawberry.field(description="Must be true: “İşleme devam etmek istiyor musunuz?”")
    note: str | None = None
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="The MİA's evaluation: returns the application to the AKS with a note.")
class ReviewApplicationInput:
    tracking_no: int
    note: str
    expected_version: int | None = EXPECTED_VERSION


@strawberry.input(description="İşlemi Kapat: the answer to the citizen and the result. Final.")
class CloseApplicationInput:
    tracking_no: int
    result: ApplicationResult
    answer: str | None = strawberry.field(
        default=None, description="Required for Olumsuz and Kısmen (20 to 5,000 characters: why, and which body "
                                  "is responsible where another one is); optional for Olumlu.")
    expected_version: int | None = EXPECTED_VERSION


UpdateCategoriesPayload = payload_union("UpdateCategoriesPayload", WorkflowStepDone, workflow.update_categories)
SetFlagsPayload = payload_union("SetFlagsPayload", WorkflowStepDone, workflow.set_flags)
RouteApplicationPayload = payload_union("RouteApplicationPayload", WorkflowStepDone, workflow.route)
AnswerRoutingPayload = payload_union("AnswerRoutingPayload", WorkflowStepDone, workflow.answer)
ReturnRoutingAnswerPayload = payload_union("ReturnRoutingAnswerPayload", WorkflowStepDone, workflow.return_answer)
SendToMiaPayload = payload_union("SendToMiaPayload", WorkflowStepDone, workflow.send_to_mia)
ReviewApplicationPayload = payload_union("ReviewApplicationPayload", WorkflowStepDone, workflow.review)
CloseApplicationPayload = payload_union("CloseApplicationPayload", WorkflowStepDone, workflow.close)


async def _step(resolver, context, **arguments):
    try:
        return _done(await resolver(context, **arguments))
    except DomainError as error:
        return as_payload(error, resolver)


# The steps' JSON requests take the compiled path (schema/compiled.py); an answer with files takes the
# executor.
COMPILED_MUTATIONS = {"updateApplicationCategories", "setApplicationFlags", "routeApplication", "answerRouting",
                      "returnRoutingAnswer", "sendToMia", "reviewApplication", "closeApplication"}


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="AKS: replace the application's Hizmet Başlığı rows.")
    async def update_application_categories(self, info: Info, input: UpdateCategoriesInput) -> UpdateCategoriesPayload:
        rows = [CategoryRow(r.category_id, r.subcategory_id, r.description) for r in input.categories]
        return await _step(workflow.update_categories, info.context, tracking_no=input.tracking_no, rows=rows,
                           expected_version=input.expected_version)

    @strawberry.mutation(description="AKS: set özellikli, gizli and the priority group.")
    async def set_application_flags(self, info: Info, input: SetFlagsInput) -> SetFlagsPayload:
        return await _step(workflow.set_flags, info.context, tracking_no=input.tracking_no,
                           is_special=input.is_special, is_confidential=input.is_confidential,
                           priority_group=input.priority_group, expected_version=input.expected_version)

    @strawberry.mutation(description="AKS: route the application to units (more can be added later); each is due "
                                     "in 7 business days. The first routing tells the applicant by SMS.")
    async def route_application(self, info: Info, input: RouteApplicationInput) -> RouteApplicationPayload:
        return await _step(workflow.route, info.context, tracking_no=input.tracking_no, unit_nos=input.unit_nos,
                           expected_version=input.expected_version)

    @strawberry.mutation(description="Yetkili: answer your unit's routing. Once answered it can only be read, "
                                     "unless the AKS returns it.")
    async def answer_routing(self, info: Info, input: AnswerRoutingInput) -> AnswerRoutingPayload:
        files = [UploadedFile(file=f.file, name=f.filename) for f in input.files]
        return await _step(workflow.answer, info.context, routing_id=input.routing_id, text=input.answer,
                           files=files)

    @strawberry.mutation(description="AKS: send a unit's answer back with the reason; the unit answers again.")
    async def return_routing_answer(self, info: Info, input: ReturnRoutingAnswerInput) -> ReturnRoutingAnswerPayload:
        return await _step(workflow.return_answer, info.context, routing_id=input.routing_id, reason=input.reason,
                           expected_version=input.expected_version)

    @strawberry.mutation(description="AKS: send the application for the MİA's approval (`confirm: true`).")
    async def send_to_mia(self, info: Info, input: SendToMiaInput) -> SendToMiaPayload:
        return await _step(workflow.send_to_mia, info.context, tracking_no=input.tracking_no, confirm=input.confirm,
                           note=input.note, expected_version=input.expected_version)

    @strawberry.mutation(description="MİA: evaluate an application sent for approval and return it to the AKS.")
    async def review_application(self, info: Info, input: ReviewApplicationInput) -> ReviewApplicationPayload:
        return await _step(workflow.review, info.context, tracking_no=input.tracking_no, note=input.note,
                           expected_version=input.expected_version)

    @strawberry.mutation(description="AKS: close the application with the answer to the citizen and the result; "
                                     "the applicant is told by SMS.")
    async def close_application(self, info: Info, input: CloseApplicationInput) -> CloseApplicationPayload:
        return await _step(workflow.close, info.context, tracking_no=input.tracking_no, result=input.result,
                           answer=input.answer, expected_version=input.expected_version)
