"""Başvuru: submission and the loaded view that the citizen's tracking page and report print from."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, NamedTuple

from sqlalchemy import (
    Integer, Text, any_, bindparam, func, insert, literal_column, null, select, true, union_all, update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from acikkapi.db import Prepared, unnested
from acikkapi.models import (
    Application, ApplicationCategory, ApplicationEvent, ApplicationKind, ApplicationStatus, Attachment,
    AuthSession, Channel, District, EventAction, Gender, OutboxMessage, Place, Role, ServiceCategory,
)
from acikkapi.services.attachments import CheckedFile, FileTooLarge, FileTypeNotAllowed, TooManyFiles, check_file
from acikkapi.services.checks import fits
from acikkapi.services.errors import NotFound, ValidationFailed, raises
from acikkapi.services.identity import Person, ResidenceAddress
from acikkapi.services.outbox import TEMPLATES
from acikkapi.services.storage import Storage, settle_files
from acikkapi.services.tckn import check_phone, check_text
from acikkapi.settings import Settings

MAX_CATEGORY_ROWS = 10
MAX_SUBJECT_LENGTH = 5000
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SUBMITTED_SMS = "takip_numarasi"


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
_application, _category_row, _attachment = Application.__table__, ApplicationCategory.__table__, Attachment.__table__
_event, _outbox, _session = ApplicationEvent.__table__, OutboxMessage.__table__, AuthSession.__table__
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
_BY_SESSION = _SUBMITTED.join(_session, _session.c.application_id == _application.c.id).where(
    _session.c.id == bindparam("session_id"))
_APPLICATION_FIELDS = (
    "kind", "channel", "status", "applicant_tckn", "applicant_first_name", "applicant_last_name",
    "applicant_birth_date", "applicant_gender", "residence_address", "residence_province_id",
    "residence_district_id", "subject_address", "subject_province_id", "subject_district_id", "subject_place_id",
    "phone", "email", "subject", "arrival_date", "created_by_id", "idempotency_key")


def _values(table, *names: str, prefix: str = "") -> list:
    """Parameters for the columns `names`, named after them (with `prefix`)."""
    return [bindparam(prefix + name, type_=table.c[name].type) for name in names]


def _constant(value: str | int):
    """A constant of the code (a name or a number), written into the statement."""
    return literal_column(f"'{value}'" if isinstance(value, str) else str(int(value)))


def _intake(*, claims_session: bool, with_files: bool):
    """The whole registration as one statement, so one round trip and no BEGIN … COMMIT: the application, its
    category rows, attachments, history row and tracking-number SMS, all or nothing.

    It first claims what makes the registration happen once: a citizen's APPLY session (locked, and only if it
    has made no application yet: a concurrent submit on it waits, then finds it claimed and writes nothing), or
    an officer's idempotency key (the insert does nothing if the key has an application). A lost claim returns
    no row.

    Beware: SQLAlchemy adds to the SET clause of the session's UPDATE every parameter named like one of
    auth_session's columns, so no parameter here has such a name (hence `new_phone`, `sms_phone`)."""
    new_row = select(*_values(_application, *_APPLICATION_FIELDS, prefix="new_"))
    if claims_session:
        claim = (select(_session.c.id).where(_session.c.id == bindparam("session_id"),
                                              _session.c.application_id.is_(None))
                 .with_for_update().cte("claim"))
        new_row = new_row.select_from(claim)
    new_insert = pg_insert(_application).from_select(_APPLICATION_FIELDS, new_row, include_defaults=False)
    if not claims_session:
        new_insert = new_insert.on_conflict_do_nothing(
            index_elements=["created_by_id", "idempotency_key"], index_where=_application.c.idempotency_key.isnot(None))
    new = new_insert.returning(_application.c.id, _application.c.tracking_no).cte("new")
    category_rows = unnested(_category_row, "position", "category_id", "subcategory_id", "description")
    writes = [
        insert(_category_row).from_select(
            ["application_id", *category_rows.c.keys()],
            select(new.c.id, *category_rows.c).select_from(new).join(category_rows, true()), include_defaults=False),
        insert(_event).from_select(
            ["application_id", "action", "status", "actor_id", "actor_label", "actor_role"],
            select(new.c.id, *_values(_event, "action", "status", "actor_id", "actor_label", "actor_role")),
            include_defaults=False),
        insert(_outbox).from_select(
            ["phone", "template", "params", "priority"],
            select(bindparam("sms_phone", type_=_outbox.c.phone.type), _constant(SUBMITTED_SMS),
                   func.jsonb_build_object(_constant("ad"), bindparam("applicant_name", type_=Text),
                                           _constant("takip_no"), new.c.tracking_no),
                   _constant(TEMPLATES[SUBMITTED_SMS].priority)), include_defaults=False),
    ]
    if with_files:
        files = unnested(_attachment, "storage_key", "file_name", "content_type", "size", "sha256")
        writes.append(insert(_attachment).from_select(
            ["application_id", "uploaded_by_id", *files.c.keys()],
            select(new.c.id, bindparam("created_by_id", type_=_attachment.c.uploaded_by_id.type), *files.c)
            .select_from(new).join(files, true()), include_defaults=False))
    if claims_session:  # the claimed session now answers with its application and no longer holds the identity
        writes.append(update(_session).where(_session.c.id == select(claim.c.id).scalar_subquery())
                      .values(application_id=select(new.c.id).scalar_subquery(), identity=null()))
    return select(new.c.id, new.c.tracking_no).add_cte(*(write.cte() for write in writes))


_INTAKE = {(claims, files): Prepared(_intake(claims_session=claims, with_files=files))
           for claims in (True, False) for files in (True, False)}
_FIND_REFERENCES = Prepared(_REFERENCES)
_FIND_BY_ID, _FIND_BY_KEY, _FIND_BY_SESSION = Prepared(_BY_ID), Prepared(_BY_KEY), Prepared(_BY_SESSION)


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


async def _read_references(connection: AsyncConnection, draft: ApplicationDraft,
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
    for a, b, c, finding in await _FIND_REFERENCES.fetch(connection, params):
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


def check_categories(rows: list[CategoryRow], valid: set[tuple[int, int]]) -> None:
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
async def check_draft(connection: AsyncConnection, draft: ApplicationDraft) -> None:
    """What the applicant's identity does not decide: checked before an identity lookup, so a form that cannot
    be registered costs no lookup. `submit_application` checks it all again in its transaction."""
    _check_text(draft, address=not draft.same_as_residence)
    check_phone(draft.phone)
    found = await _read_references(connection, draft, residence=None)
    if not draft.same_as_residence:
        _check_address(draft, found.address_found)
    check_categories(draft.categories, found.pairs)


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
async def submit_application(connection: AsyncConnection, storage: Storage, *, person: Person,
                             draft: ApplicationDraft, stored: StoredFiles, channel: Channel, actor_label: str,
                             actor_role: Role | None = None, session_id: uuid.UUID | None = None,
                             created_by_id: int | None = None, arrival_date: date | None = None,
                             idempotency_key: str | None = None,
                             check_address: Callable[[int | None, int | None], None] | None = None) -> Submitted:
    """Register an application in the office's pool, with its history row and the tracking-number SMS, on an
    autocommit `connection`: the write is one statement (`_intake`).

    Once only: a citizen's APPLY session (`session_id`) makes one application, an officer's `idempotency_key`
    one; a repeated or concurrent request answers with the application the first one made. The files are
    taken over (`stored` is emptied) and moved into place once the application is written; otherwise they are
    left to the caller, who deletes them.
    """
    found = await _read_references(connection, draft, person.residence)
    residence = found.residence
    if draft.same_as_residence:
        if residence is None:
            raise ResidenceNotResolved(field="subjectAddress")
        draft.province_id, draft.district_id, draft.place_id = residence
        draft.subject_address = person.residence.address
    if check_address:  # the caller's rule on whose province and district this may be
        check_address(draft.province_id, draft.district_id)
    _check_text(draft)
    draft.phone = check_phone(draft.phone)
    # The residence's records belong together: they were found joined.
    _check_address(draft, found.address_found or draft.same_as_residence)
    check_categories(draft.categories, found.pairs)
    rows = [(index, row.category_id, row.subcategory_id, (row.description or "").strip() or None)
            for index, row in enumerate(draft.categories, start=1)]
    files = [(key, info.file_name, info.content_type, info.size, info.sha256) for key, info in stored]
    values = {
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
    }
    written = await _INTAKE[session_id is not None, bool(files)].first(connection, {
        **{f"new_{name}": value for name, value in values.items()}, "session_id": session_id,
        **dict(zip(("position", "category_id", "subcategory_id", "description"), map(list, zip(*rows)))),
        **dict(zip(("storage_key", "file_name", "content_type", "size", "sha256"), map(list, zip(*files)))),
        "action": EventAction.SUBMITTED, "status": ApplicationStatus.HAVUZDA, "actor_id": created_by_id,
        "actor_label": actor_label, "actor_role": actor_role, "created_by_id": created_by_id,
        "sms_phone": draft.phone, "applicant_name": f"{person.first_name} {person.last_name}",
    })
    if written is None:  # claimed first by a repeated or concurrent request
        if session_id is not None:
            return Submitted(*await _FIND_BY_SESSION.first(connection, {"session_id": session_id}))
        return await registered_with_key(connection, created_by_id, idempotency_key)
    stored.clear()
    await settle_files(storage, [key for key, *_ in files], committed=True)
    return Submitted(*written)


async def registered_with_key(connection: AsyncConnection, user_id: int, key: str) -> Submitted | None:
    row = await _FIND_BY_KEY.first(connection, {"user_id": user_id, "key": key})
    return Submitted(*row) if row else None


async def submitted_application(connection: AsyncConnection, application_id: int) -> Submitted:
    return Submitted(*await _FIND_BY_ID.first(connection, {"application_id": application_id}))


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
