"""Başvuru: submission and the loaded view that the citizen's tracking page and report print from."""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from acikkapi.models import (
    Application, ApplicationCategory, ApplicationEvent, ApplicationKind, ApplicationStatus, Attachment,
    Channel, District, EventAction, Gender, Place, ServiceCategory, tracking_no_seq_value,
)
from acikkapi.services.attachments import CheckedFile, FileTooLarge, FileTypeNotAllowed, TooManyFiles, check_file
from acikkapi.services.checks import fits
from acikkapi.services.errors import NotFound, ValidationFailed, raises
from acikkapi.services.identity import Person
from acikkapi.services.outbox import queue_sms
from acikkapi.services.storage import Storage, promote_after_commit
from acikkapi.services.tckn import check_phone, check_text
from acikkapi.settings import Settings

MAX_CATEGORY_ROWS = 10
MAX_SUBJECT_LENGTH = 5000
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class CategoryRow:
    category_id: int
    subcategory_id: int
    description: str | None = None


@dataclass(frozen=True)
class Upload:
    file: BinaryIO
    name: str | None


@dataclass
class ApplicationDraft:
    kind: ApplicationKind
    subject: str
    phone: str
    categories: list[CategoryRow]
    same_as_residence: bool = False
    subject_address: str | None = None
    province_id: int | None = None
    district_id: int | None = None
    place_id: int | None = None
    email: str | None = None
    files: list[Upload] = field(default_factory=list)


class ResidenceNotResolved(ValidationFailed):
    """The residence could not be matched to the address records: choose the subject address."""

    code = "RESIDENCE_NOT_RESOLVED"
    message = ("İkametgâh adresiniz adres kayıtlarında eşleştirilemedi. "
               "Lütfen başvuruya konu olan adresi seçiniz.")


async def resolve_residence(session: AsyncSession, person: Person) -> tuple[int, int, int] | None:
    """(province, district, place) ids of the identity service's residence address, if our data has it."""
    residence = person.residence
    row = (await session.execute(
        select(District.province_id, District.id, Place.id)
        .join(Place, Place.district_id == District.id)
        .where(District.province_id == residence.province_code, District.name == residence.district,
               Place.name == residence.place)
        .limit(1)
    )).first()
    return tuple(row) if row else None


async def fill_subject_address(session: AsyncSession, person: Person,
                               draft: ApplicationDraft) -> tuple[int, int, int] | None:
    """Copy the residence into the subject address when the form says they are the same.
    Returns the residence's (province, district, place) ids, if our address data has it."""
    residence = await resolve_residence(session, person)
    if draft.same_as_residence:
        if residence is None:
            raise ResidenceNotResolved(field="subjectAddress")
        draft.province_id, draft.district_id, draft.place_id = residence
        draft.subject_address = person.residence.address
    return residence


async def _check_address(session: AsyncSession, draft: ApplicationDraft) -> None:
    if not (draft.province_id and draft.district_id and draft.place_id):
        raise ValidationFailed("Başvuruya konu olan adresin il, ilçe ve mahalle/köy bilgileri zorunludur.",
                               field="subjectAddress")
    ids = ((draft.province_id, District.province_id), (draft.district_id, District.id),
           (draft.place_id, Place.id))
    found = all(fits(value, column) for value, column in ids) and await session.scalar(
        select(Place.id).join(District, District.id == Place.district_id)
        .where(Place.id == draft.place_id, District.id == draft.district_id,
               District.province_id == draft.province_id))
    if not found:
        raise ValidationFailed("Seçilen il, ilçe ve mahalle/köy birbiriyle uyuşmuyor.", field="subjectAddress")


async def _check_categories(session: AsyncSession, rows: list[CategoryRow]) -> None:
    if not rows:
        raise ValidationFailed("En az bir Hizmet Başlığı ve Hizmet Alt Başlığı ekleyiniz.", field="categories")
    if len(rows) > MAX_CATEGORY_ROWS:
        raise ValidationFailed(f"En fazla {MAX_CATEGORY_ROWS} hizmet başlığı eklenebilir.", field="categories")
    parent = ServiceCategory.__table__.alias("parent")
    pairs = {(row.category_id, row.subcategory_id) for row in rows}
    valid = set((await session.execute(
        select(ServiceCategory.parent_id, ServiceCategory.id)
        .join(parent, parent.c.id == ServiceCategory.parent_id)
        .where(ServiceCategory.id.in_([sub for _, sub in pairs if fits(sub, ServiceCategory.id)]),
               ServiceCategory.active, parent.c.active)
    )).all())
    if pairs - valid:
        raise ValidationFailed("Seçilen hizmet alt başlığı, hizmet başlığına ait değil veya kullanımda değil.",
                               field="categories")
    if any(row.description and len(row.description) > 1000 for row in rows):
        raise ValidationFailed("Hizmet açıklaması en fazla 1000 karakter olabilir.", field="categories")


def _check_text(draft: ApplicationDraft, *, address: bool = True) -> None:
    check_text(draft.subject, "subject")
    check_text(draft.subject_address, "subjectAddress")
    check_text(draft.email, "email")
    for row in draft.categories:
        check_text(row.description, "categories")
    if not draft.subject.strip():
        raise ValidationFailed("Başvuru Konusu zorunludur.", field="subject")
    if len(draft.subject) > MAX_SUBJECT_LENGTH:
        raise ValidationFailed(f"Başvuru Konusu en fazla {MAX_SUBJECT_LENGTH} karakter olabilir.",
                               field="subject")
    if address and not (draft.subject_address or "").strip():
        raise ValidationFailed("Başvuruya konu olan açık adres zorunludur.", field="subjectAddress")
    if len(draft.subject_address or "") > 500:
        raise ValidationFailed("Açık adres en fazla 500 karakter olabilir.", field="subjectAddress")
    if draft.email and (len(draft.email) > 254 or not EMAIL.fullmatch(draft.email)):
        raise ValidationFailed("Geçerli bir e-posta adresi giriniz.", field="email")


@raises(ValidationFailed)
async def check_draft(session: AsyncSession, draft: ApplicationDraft) -> None:
    """What the applicant's identity does not decide: checked before an identity lookup, so a form that cannot
    be registered costs no lookup. `submit_application` checks it all again in its transaction."""
    _check_text(draft, address=not draft.same_as_residence)
    check_phone(draft.phone)
    if not draft.same_as_residence:
        await _check_address(session, draft)
    await _check_categories(session, draft.categories)


StoredFiles = list[tuple[str, CheckedFile]]


@raises(TooManyFiles, FileTooLarge, FileTypeNotAllowed)
async def store_files(storage: Storage, uploads: list[Upload], settings: Settings) -> StoredFiles:
    """Check every file, then write them to storage's pending area. Called before any transaction opens: the
    hashing and writing hold no connection and no lock. On any failure nothing stays behind in storage."""
    if len(uploads) > settings.max_files_per_request:
        raise TooManyFiles(f"En fazla {settings.max_files_per_request} dosya eklenebilir.", field="files")
    checked = [await asyncio.to_thread(check_file, upload.file, upload.name, settings.max_file_bytes)
               for upload in uploads]
    stored: list[tuple[str, CheckedFile]] = []
    try:
        for upload, info in zip(uploads, checked):
            stored.append((await storage.save(upload.file), info))
    except BaseException:
        await discard_files(storage, stored)
        raise
    return stored


async def discard_files(storage: Storage, stored: StoredFiles) -> None:
    for key, _ in stored:
        await storage.delete(key)


@raises(ValidationFailed, ResidenceNotResolved)
async def submit_application(session: AsyncSession, storage: Storage, *, person: Person, draft: ApplicationDraft,
                             stored: StoredFiles, channel: Channel, actor_label: str,
                             created_by_id: int | None = None, arrival_date: date | None = None,
                             idempotency_key: str | None = None,
                             check_province: Callable[[int | None], None] | None = None) -> Application:
    """Register an application in the office's pool, with its history row and the tracking-number SMS.

    The files (`store_files`, before the transaction) are moved into place once the caller's transaction
    commits; if it does not, the rollback leaves the database clean and the files are deleted.
    """
    if idempotency_key is not None:
        # Serialise an officer's requests with one key: the second waits, then finds the first's application.
        lock_key = f"register:{created_by_id}:{idempotency_key}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(lock_key))))
        made = await registered_with_key(session, created_by_id, idempotency_key)
        if made is not None:
            await discard_files(storage, stored)
            return made
    promote_after_commit(session, storage, [key for key, _ in stored])
    residence = await fill_subject_address(session, person, draft)
    if check_province:  # the caller's rule on whose province this may be
        check_province(draft.province_id)
    _check_text(draft)
    draft.phone = check_phone(draft.phone)
    await _check_address(session, draft)
    await _check_categories(session, draft.categories)
    application = Application(
        tracking_no=await session.scalar(tracking_no_seq_value()),
        kind=draft.kind, channel=channel, status=ApplicationStatus.HAVUZDA,
        applicant_tckn=person.tckn, applicant_first_name=person.first_name,
        applicant_last_name=person.last_name, applicant_birth_date=person.birth_date,
        applicant_gender=Gender[person.gender] if person.gender in Gender.__members__ else None,
        residence_address=person.residence.address,
        residence_province_id=residence[0] if residence else None,
        residence_district_id=residence[1] if residence else None,
        subject_address=draft.subject_address.strip(), subject_province_id=draft.province_id,
        subject_district_id=draft.district_id, subject_place_id=draft.place_id,
        phone=draft.phone, email=draft.email or None, subject=draft.subject.strip(),
        arrival_date=arrival_date, created_by_id=created_by_id, idempotency_key=idempotency_key,
    )
    application.categories = [
        ApplicationCategory(position=index, category_id=row.category_id, subcategory_id=row.subcategory_id,
                            description=(row.description or "").strip() or None)
        for index, row in enumerate(draft.categories, start=1)
    ]
    application.attachments = [
        Attachment(storage_key=key, file_name=info.file_name, content_type=info.content_type,
                   size=info.size, sha256=info.sha256, uploaded_by_id=created_by_id)
        for key, info in stored
    ]
    application.events = [ApplicationEvent(
        action=EventAction.SUBMITTED, status=ApplicationStatus.HAVUZDA, actor_id=created_by_id,
        actor_label=actor_label)]
    session.add(application)
    queue_sms(session, phone=application.phone, template="takip_numarasi",
              params={"ad": f"{person.first_name} {person.last_name}", "takip_no": application.tracking_no})
    await session.flush()
    return application


async def registered_with_key(session: AsyncSession, user_id: int, key: str) -> Application | None:
    return await session.scalar(
        select(Application).where(Application.created_by_id == user_id, Application.idempotency_key == key))


def view_options():
    """Everything the tracking page and the printable report show, in a fixed number of statements."""
    return (
        selectinload(Application.categories).options(
            joinedload(ApplicationCategory.category), joinedload(ApplicationCategory.subcategory)),
        selectinload(Application.attachments),
        selectinload(Application.events),
        joinedload(Application.subject_province),
        joinedload(Application.subject_district),
        joinedload(Application.subject_place),
        joinedload(Application.residence_province),
        joinedload(Application.residence_district),
    )


async def load_application(session: AsyncSession, condition) -> Application:
    application = await session.scalar(select(Application).where(condition).options(*view_options()))
    if application is None:
        raise NotFound("Başvuru bulunamadı.")
    return application


def residence_line(application: Application) -> str:
    """“<açık adres> KEÇİÖREN / ANKARA”, as the tracking page prints it."""
    parts = [application.residence_address]
    if application.residence_district and application.residence_province:
        parts.append(f"{application.residence_district.name} / {application.residence_province.name}")
    return " ".join(parts)
