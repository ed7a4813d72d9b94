from datetime import date, datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from acikkapi.models import (
    ApplicationKind, ApplicationResult, ApplicationStatus, Gender, PublicStatus,
)
from acikkapi.resolvers import applications
from acikkapi.schema.errors import as_payload, payload_union
from acikkapi.schema.reference import District, Place, Province
from acikkapi.services import applications as service
from acikkapi.services.errors import DomainError
from acikkapi.services.links import signed_path
from acikkapi.services.reports import citizen_status, public_status
from acikkapi.services.tracking import TrackingView

Kind = strawberry.enum(ApplicationKind, name="ApplicationKind", description="Talep, şikâyet, ihbar, görüş ve öneri.")
strawberry.enum(ApplicationStatus, description="Where an application is in the office's workflow.")
strawberry.enum(ApplicationResult, description="Olumlu, olumsuz, or kısmen olumlu kısmen olumsuz.")
strawberry.enum(PublicStatus, description="The status the citizen follows.")
strawberry.enum(Gender)


@strawberry.type(description="İkametgâh adresi from the identity service; the records are null if unmatched.")
class ResidenceAddress:
    address: str
    province_name: str
    district_name: str
    place_name: str
    province: Province | None
    district: District | None
    place: Place | None


@strawberry.type(description="Kimlik ve İkametgâh Bilgileri of the verified applicant, to pre-fill the form.")
class ApplicantProfile:
    tc_kimlik_no: str
    first_name: str
    last_name: str
    birth_date: date | None
    gender: Gender | None
    gender_label: str | None
    phone: str
    residence: ResidenceAddress


@strawberry.input
class CategoryRowInput:
    category_id: int = strawberry.field(description="Hizmet Başlığı.")
    subcategory_id: int = strawberry.field(description="Hizmet Alt Başlığı.")
    description: str | None = None


@strawberry.input
class SubmitApplicationInput:
    kind: Kind = ApplicationKind.TALEP
    same_as_residence: bool = strawberry.field(
        default=False, description="“İkametgâh adresi ile başvuruya konu olan adres aynı mı?”")
    subject_address: str | None = None
    province_id: int | None = None
    district_id: int | None = None
    place_id: int | None = None
    phone: str
    email: str | None = None
    categories: list[CategoryRowInput]
    subject: str = strawberry.field(description="Başvuru Konusu.")
    files: list[Upload] = strawberry.field(default_factory=list)


@strawberry.type
class SubmitApplicationSuccess:
    tracking_no: int = strawberry.field(description="Başvuru Takip No.")
    message: str = "Başvurunuz başarıyla alınmıştır. Başvuru takip numarası ile durum takibi yapabilirsiniz."


SubmitApplicationPayload = payload_union("SubmitApplicationPayload", SubmitApplicationSuccess,
                                         applications.submit_application)
RegisterApplicationPayload = payload_union("RegisterApplicationPayload", SubmitApplicationSuccess,
                                           applications.register_application)


@strawberry.type
class CategoryLine:
    position: int
    category: str
    subcategory: str
    description: str | None


@strawberry.type
class AttachmentFile:
    id: strawberry.ID
    file_name: str
    content_type: str
    size: int
    download_url: str = strawberry.field(description="A link for this session, valid for a few minutes.")


@strawberry.type(description="One row of İşlem Hareketleri.")
class HistoryEntry:
    position: int
    status: ApplicationStatus
    status_label: str
    note: str | None
    at: datetime


@strawberry.type(description="What the citizen sees of their application; nothing here can be changed.")
class CitizenApplication:
    tracking_no: int
    status: PublicStatus
    status_label: str = strawberry.field(description="“İşlem Görüyor” until closed, then “Sonuçlandı (result)”.")
    result: ApplicationResult | None
    result_label: str | None
    answer: str | None = strawberry.field(description="The office's answer, once the application is closed.")
    closed: bool
    kind: ApplicationKind
    kind_label: str
    created_at: datetime
    tc_kimlik_no: str
    first_name: str
    last_name: str
    residence_address: str
    subject_address: str
    province: Province
    district: District
    place: Place
    phone: str
    email: str | None
    subject: str
    categories: list[CategoryLine]
    files: list[AttachmentFile]
    history: list[HistoryEntry]
    report_url: str = strawberry.field(description="The printable report (Başvuru Raporu), valid for a few minutes.")

    @classmethod
    def of(cls, a: TrackingView, context) -> "CitizenApplication":
        settings, session_id = context.settings, context.actor.session.id

        def link(path: str) -> str:
            return signed_path(settings.link_key, path, session_id, settings.download_link_seconds,
                               base_url=settings.public_base_url)

        closed = a.status is ApplicationStatus.SONUCLANDI
        return cls(
            tracking_no=a.tracking_no, closed=closed, kind=a.kind, kind_label=a.kind.value, created_at=a.created_at,
            status=public_status(a), status_label=citizen_status(a),
            result=a.result if closed else None, result_label=a.result.value if closed and a.result else None,
            answer=a.answer if closed else None,
            tc_kimlik_no=a.tckn, first_name=a.first_name, last_name=a.last_name,
            residence_address=a.residence_line, subject_address=a.subject_address,
            province=a.province, district=a.district, place=a.place,
            phone=a.phone, email=a.email, subject=a.subject,
            categories=a.categories,  # rows fit CategoryLine as they are
            files=[AttachmentFile(id=strawberry.ID(str(f.id)), file_name=f.file_name, content_type=f.content_type,
                                  size=f.size, download_url=link(f"/files/{f.id}")) for f in a.files],
            history=[HistoryEntry(position=i, status=e.status, status_label=e.status.value, note=e.note, at=e.at)
                     for i, e in enumerate(a.history, start=1)],
            report_url=link(f"/reports/applications/{a.tracking_no}"),
        )


async def tracked_application(context) -> CitizenApplication:
    return CitizenApplication.of(await applications.tracked_application(context), context)


# Root fields the compiled read path may serve (acikkapi/schema/compiled.py): context → the field's object.
COMPILED_ROOTS = {"trackedApplication": tracked_application}


@strawberry.type
class ApplicationQuery:
    @strawberry.field(description="Kimlik ve İkametgâh Bilgileri for the applicant who verified a code to apply.")
    async def applicant_profile(self, info: Info) -> ApplicantProfile:
        person, phone, records = await applications.applicant_profile(info.context)
        residence = person.residence
        province, district, place = records or (None, None, None)
        gender = Gender.__members__.get(person.gender or "")
        return ApplicantProfile(
            tc_kimlik_no=person.tckn, first_name=person.first_name, last_name=person.last_name,
            birth_date=person.birth_date, gender=gender, gender_label=gender.value if gender else None, phone=phone,
            residence=ResidenceAddress(address=residence.address, province_name=residence.province,
                                       district_name=residence.district, place_name=residence.place,
                                       province=province, district=district, place=place))

    @strawberry.field(description="The application opened with a tracking code (Başvuru Sorgulama).")
    async def tracked_application(self, info: Info) -> CitizenApplication:
        return await tracked_application(info.context)


@strawberry.input(description="Başvuru Kayıt by an AKS for a citizen at the desk or in writing (channel: banko).")
class RegisterApplicationInput:
    tc_kimlik_no: str = strawberry.field(description="The citizen's; identity and residence are fetched by it.")
    arrival_date: date = strawberry.field(description="Başvuru Geliş Tarihi.")
    application: SubmitApplicationInput
    idempotency_key: str | None = strawberry.field(
        default=None, description="A fresh random key per registration (8-64 characters): a repeated request "
                                  "with the same key answers with the application it made instead of a second one.")


def draft_of(input: SubmitApplicationInput) -> service.ApplicationDraft:
    return service.ApplicationDraft(
        kind=input.kind, subject=input.subject, phone=input.phone, email=input.email,
        categories=[service.CategoryRow(r.category_id, r.subcategory_id, r.description) for r in input.categories],
        same_as_residence=input.same_as_residence, subject_address=input.subject_address,
        province_id=input.province_id, district_id=input.district_id, place_id=input.place_id,
        files=[service.Upload(file=f.file, name=f.filename) for f in input.files])


COMPILED_MUTATIONS = {"submitApplication"}


@strawberry.type
class ApplicationMutation:
    @strawberry.mutation(description="Kaydet: register the application and send its tracking number by SMS.")
    async def submit_application(self, info: Info, input: SubmitApplicationInput) -> SubmitApplicationPayload:
        try:
            application = await applications.submit_application(info.context, draft_of(input))
        except DomainError as error:
            return as_payload(error, applications.submit_application)
        return SubmitApplicationSuccess(tracking_no=application.tracking_no)

    @strawberry.mutation(description="AKS: register a citizen's written or in-person application in the pool.")
    async def register_application(self, info: Info, input: RegisterApplicationInput) -> RegisterApplicationPayload:
        try:
            application = await applications.register_application(
                info.context, tckn=input.tc_kimlik_no, arrival_date=input.arrival_date,
                draft=draft_of(input.application), idempotency_key=input.idempotency_key)
        except DomainError as error:
            return as_payload(error, applications.register_application)
        return SubmitApplicationSuccess(tracking_no=application.tracking_no)
