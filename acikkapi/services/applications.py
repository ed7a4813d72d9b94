"""Başvuru: submission and the loaded view that the citizen's tracking page and report print from."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, NamedTuple

from sqlalchemy import Integer, any_, bindparam, func, insert, literal_column, null, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from acikkapi.models import (
    Application, ApplicationCategory, ApplicationEvent, ApplicationKind, ApplicationStatus, Attachment,
    Channel, District, EventAction, Gender, Place, ServiceCategory,
)
from acikkapi.services.attachments import CheckedFile, FileTooLarge, FileTypeNotAllowed, TooManyFiles, check_file
from acikkapi.services.checks import fits
from acikkapi.services.errors import NotFound, ValidationFailed, raises
from acikkapi.services.identity import Person, ResidenceAddress
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


class Submitted(NamedTuple):
    id: int
    tracking_no: int


# Intake runs on Core statements built once: its rows are written once and never changed in the same
# transaction, so the ORM's unit of work would buy nothing but CPU.
_application = Application.__table__
_district, _place, _category = District.__table__, Place.__table__, ServiceCategory.__table__
_parent = _category.alias("parent")

_RESIDENCE = (
    select(_district.c.province_id, _district.c.id, _place.c.id)
    .join(_place, _place.c.district_id == _district.c.id)
    .where(_district.c.province_id == bindparam("residence_province"),
           _district.c.name == bindparam("residence_district"), _place.c.name == bindparam("residence_place"))
    .limit(1))
# What a draft refers to, in one round trip, one tagged row per finding: the residence's records (if our
# address data has them), the subject address (if its place, district and province belong together) and the
# valid (category, subcategory) pairs among the subcategories named.
_REFERENCES = union_all(
    _RESIDENCE.add_columns(literal_column("'residence'")),
    select(_district.c.province_id, _district.c.id, _place.c.id, literal_column("'address'"))
    .join(_place, _place.c.district_id == _district.c.id)
    .where(_place.c.id == bindparam("place"), _district.c.id == bindparam("district"),
           _district.c.province_id == bindparam("province")),
    select(null(), _category.c.parent_id, _category.c.id, literal_column("'pair'"))
    .join(_parent, _parent.c.id == _category.c.parent_id)
    .where(_category.c.id == any_(bindparam("subcategories", type_=ARRAY(Integer))), _category.c.active,
           _parent.c.active))
_SUBMITTED = select(_application.c.id, _application.c.tracking_no)
_BY_ID = _SUBMITTED.where(_application.c.id == bindparam("application_id"))
_BY_KEY = _SUBMITTED.where(_application.c.created_by_id == bindparam("user_id"),
                           _application.c.idempotency_key == bindparam("key"))
_INSERT_APPLICATION = insert(_application).returning(_application.c.id, _application.c.tracking_no)
_INSERT_CATEGORIES = insert(ApplicationCategory.__table__)
_INSERT_ATTACHMENTS = insert(Attachment.__table__)
_INSERT_EVENT = insert(ApplicationEvent.__table__)


def _residence_params(residence: ResidenceAddress | None) -> dict:
    if residence is None:  # NULL matches no row
        return dict.fromkeys(("residence_province", "residence_district", "residence_place"))
    return {"residence_province": residence.province_code, "residence_district": residence.district,
            "residence_place": residence.place}


async def resolve_residence(session: AsyncSession, person: Person) -> tuple[int, int, int] | None:
    """(province, district, place) ids of the identity service's residence address, if our data has it."""
    row = (await session.execute(_RESIDENCE, _residence_params(person.residence))).first()
    return tuple(row) if row else None


@dataclass(frozen=True)
class _References:
    residence: tuple[int, int, int] | None
    address_found: bool
    pairs: set[tuple[int, int]]


async def _read_references(session: AsyncSession, draft: ApplicationDraft,
                           residence: ResidenceAddress | None) -> _References:
    """The residence's records (with `residence`), the draft's own subject address (unless it is the
    residence) and its category pairs, as `_REFERENCES` finds them. A number no column can hold is sent as
    NULL, which matches nothing: it is no row's id."""
    address = ((draft.province_id, _district.c.province_id), (draft.district_id, _district.c.id),
               (draft.place_id, _place.c.id))
    own_address = not draft.same_as_residence and all(fits(value, column) for value, column in address)
    params = {
        **_residence_params(residence),
        "province": draft.province_id if own_address else None,
        "district": draft.district_id if own_address else None,
        "place": draft.place_id if own_address else None,
        "subcategories": [row.subcategory_id for row in draft.categories[:MAX_CATEGORY_ROWS]
                          if fits(row.subcategory_id, _category.c.id)],
    }
    residence_ids, address_found, pairs = None, False, set()
    for a, b, c, finding in (await session.execute(_REFERENCES, params)).all():
        if finding == "residence":
            residence_ids = (a, b, c)
        elif finding == "address":
            address_found = True
        else:
            pairs.add((b, c))
    return _References(residence_ids, address_found, pairs)


def _check_address(draft: ApplicationDraft, found: bool) -> None:
    if not (draft.province_id and draft.district_id and draft.place_id):
        raise ValidationFailed("Başvuruya konu olan adresin il, ilçe ve mahalle/köy bilgileri zorunludur.",
                               field="subjectAddress")
    if not found:
        raise ValidationFailed("Seçilen il, ilçe ve mahalle/köy birbiriyle uyuşmuyor.", field="subjectAddress")


def _check_categories(rows: list[CategoryRow], valid: set[tuple[int, int]]) -> None:
    if not rows:
        raise ValidationFailed("En az bir Hizmet Başlığı ve Hizmet Alt Başlığı ekleyiniz.", field="categories")
    if len(rows) > MAX_CATEGORY_ROWS:
        raise ValidationFailed(f"En fazla {MAX_CATEGORY_ROWS} hizmet başlığı eklenebilir.", field="categories")
    if {(row.category_id, row.subcategory_id) for row in rows} - valid:
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
    found = await _read_references(session, draft, residence=None)
    if not draft.same_as_residence:
        _check_address(draft, found.address_found)
    _check_categories(draft.categories, found.pairs)


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


@raises(*store_files.raises)
@asynccontextmanager
async def pending_files(storage: Storage, uploads: list[Upload], settings: Settings) -> AsyncIterator[StoredFiles]:
    """`store_files` for the block, before any transaction opens. The files a transaction takes over
    (`submit_application`) are moved into place when it commits; those left are deleted when the block ends."""
    stored = await store_files(storage, uploads, settings)
    try:
        yield stored
    finally:
        await discard_files(storage, stored)


@raises(ValidationFailed, ResidenceNotResolved)
async def submit_application(session: AsyncSession, storage: Storage, *, person: Person, draft: ApplicationDraft,
                             stored: StoredFiles, channel: Channel, actor_label: str,
                             created_by_id: int | None = None, arrival_date: date | None = None,
                             idempotency_key: str | None = None,
                             check_province: Callable[[int | None], None] | None = None) -> Submitted:
    """Register an application in the office's pool, with its history row and the tracking-number SMS.

    It takes the files over (`stored` is emptied): they are moved into place once the caller's transaction
    commits; if it does not, the rollback leaves the database clean and the files are deleted. Answering a
    repeated key, it leaves them to the caller.
    """
    if idempotency_key is not None:
        # Serialise an officer's requests with one key: the second waits, then finds the first's application.
        lock_key = f"register:{created_by_id}:{idempotency_key}"
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(lock_key))))
        made = await registered_with_key(session, created_by_id, idempotency_key)
        if made is not None:
            return made
    files, stored[:] = list(stored), []
    promote_after_commit(session, storage, [key for key, _ in files])
    found = await _read_references(session, draft, person.residence)
    residence = found.residence
    if draft.same_as_residence:
        if residence is None:
            raise ResidenceNotResolved(field="subjectAddress")
        draft.province_id, draft.district_id, draft.place_id = residence
        draft.subject_address = person.residence.address
    if check_province:  # the caller's rule on whose province this may be
        check_province(draft.province_id)
    _check_text(draft)
    draft.phone = check_phone(draft.phone)
    # The residence's records belong together: they were found joined.
    _check_address(draft, found.address_found or draft.same_as_residence)
    _check_categories(draft.categories, found.pairs)
    submitted = Submitted(*(await session.execute(_INSERT_APPLICATION, {
        "kind": draft.kind, "channel": channel, "status": ApplicationStatus.HAVUZDA,
        "applicant_tckn": person.tckn, "applicant_first_name": person.first_name,
        "applicant_last_name": person.last_name, "applicant_birth_date": person.birth_date,
        "applicant_gender": Gender[person.gender] if person.gender in Gender.__members__ else None,
        "residence_address": person.residence.address,
        "residence_province_id": residence[0] if residence else None,
        "residence_district_id": residence[1] if residence else None,
        "subject_address": draft.subject_address.strip(), "subject_province_id": draft.province_id,
        "subject_district_id": draft.district_id, "subject_place_id": draft.place_id,
        "phone": draft.phone, "email": draft.email or None, "subject": draft.subject.strip(),
        "arrival_date": arrival_date, "created_by_id": created_by_id, "idempotency_key": idempotency_key,
    })).one())
    await session.execute(_INSERT_CATEGORIES, [
        {"application_id": submitted.id, "position": index, "category_id": row.category_id,
         "subcategory_id": row.subcategory_id, "description": (row.description or "").strip() or None}
        for index, row in enumerate(draft.categories, start=1)])
    if files:
        await session.execute(_INSERT_ATTACHMENTS, [
            {"application_id": submitted.id, "storage_key": key, "file_name": info.file_name,
             "content_type": info.content_type, "size": info.size, "sha256": info.sha256,
             "uploaded_by_id": created_by_id}
            for key, info in files])
    await session.execute(_INSERT_EVENT, {
        "application_id": submitted.id, "action": EventAction.SUBMITTED, "status": ApplicationStatus.HAVUZDA,
        "actor_id": created_by_id, "actor_label": actor_label})
    await queue_sms(session, phone=draft.phone, template="takip_numarasi",
                    params={"ad": f"{person.first_name} {person.last_name}", "takip_no": submitted.tracking_no})
    return submitted


async def registered_with_key(session: AsyncSession, user_id: int, key: str) -> Submitted | None:
    row = (await session.execute(_BY_KEY, {"user_id": user_id, "key": key})).first()
    return Submitted(*row) if row else None


async def submitted_application(session: AsyncSession, application_id: int) -> Submitted:
    return Submitted(*(await session.execute(_BY_ID, {"application_id": application_id})).one())


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
