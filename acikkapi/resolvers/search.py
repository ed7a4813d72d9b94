"""Başvuru Arama, a Yetkili's inbox, the overdue view and Rapor Al: the role and scope check, the filter's checks,
then a page (its total counted only when asked for) or an export job."""

import re
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime

from acikkapi.context import Context
from acikkapi.permissions.actor import require_staff
from acikkapi.models import Role
from acikkapi.permissions.applications import (
    OFFICE_ROLES, PERSONAL_FIELDS, Scope, reads_personal_data, scope_of, scope_params,
)
from acikkapi.services import exports, kvkk, search
from acikkapi.services.errors import NotFound, PermissionDenied, Unauthenticated, ValidationFailed, raises
from acikkapi.services.exports import ApplicationExport, ExportLimitReached, ExportRequest
from acikkapi.services.search import DEFAULT_PAGE, MAX_PAGE, Filter, Page
from acikkapi.services.unit_search import fold

MAX_NAME_LENGTH = 64
MAX_NAME_WORDS = 4
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9998, 12, 31)
_TCKN = re.compile(r"[0-9]{11}")


@dataclass(frozen=True)
class Listing:
    page: Page
    count: Callable[[], Awaitable[int]]  # the rows of the whole filter, counted when asked


def _name_words(value: str | None, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    words = tuple(dict.fromkeys(fold(value[:MAX_NAME_LENGTH + 1]).split()))
    if len(value) > MAX_NAME_LENGTH or len(words) > MAX_NAME_WORDS:
        raise ValidationFailed(f"Ad ve soyad en fazla {MAX_NAME_LENGTH} karakter ve {MAX_NAME_WORDS} kelime ile "
                               f"aranabilir.", field=field)
    if not words:
        raise ValidationFailed("Ad veya soyad ile aramak için en az bir harf giriniz.", field=field)
    return words


def checked_filter(context: Context, scope: Scope, values: dict) -> Filter:
    """The search criteria (`values`: the input's fields by Python name), checked. A Yetkili, who never sees
    the applicant's T.C. Kimlik No, may not search by it; nor by a unit not theirs."""
    actor = context.actor
    tckn = values.get("tc_kimlik_no")
    if tckn is not None:
        if scope is Scope.UNITS:
            raise PermissionDenied("Başvuran T.C. Kimlik No ile arama yetkiniz bulunmamaktadır.",
                                   field="filter.tcKimlikNo")
        if not _TCKN.fullmatch(tckn):
            raise ValidationFailed("T.C. Kimlik No 11 rakamdan oluşmalıdır.", field="filter.tcKimlikNo")
    first_day, last_day = values.get("registered_from"), values.get("registered_to")
    for day, field in ((first_day, "registeredFrom"), (last_day, "registeredTo")):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationFailed("Kayıt tarihi geçersiz.", field=f"filter.{field}")
    if first_day and last_day and first_day > last_day:
        raise ValidationFailed("Kayıt tarihi aralığının başlangıcı bitişinden sonra olamaz.",
                               field="filter.registeredFrom")
    unit_no = values.get("unit_no")
    if unit_no is not None and scope is Scope.UNITS and unit_no not in actor.unit_nos:
        raise PermissionDenied("Yalnızca kendi biriminize yönlendirilen başvuruları arayabilirsiniz.",
                               field="filter.unitNo")
    return Filter(
        tracking_no=values.get("tracking_no"), tckn=tckn,
        first_name_words=_name_words(values.get("first_name"), "filter.firstName"),
        last_name_words=_name_words(values.get("last_name"), "filter.lastName"),
        category_id=values.get("category_id"), subcategory_id=values.get("subcategory_id"),
        statuses=frozenset(values.get("statuses") or ()), results=frozenset(values.get("results") or ()),
        kinds=frozenset(values.get("kinds") or ()), channels=frozenset(values.get("channels") or ()),
        priority_groups=frozenset(values.get("priority_groups") or ()), is_special=values.get("is_special"),
        is_confidential=values.get("is_confidential"), registered_from=first_day, registered_to=last_day,
        unit_no=unit_no, overdue=values.get("overdue"), ihbar_names_hidden=not reads_personal_data(actor))


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed(f"Bir sayfada 1 ile {MAX_PAGE} arasında kayıt listelenebilir.", field="first")
    return first


def _scope(context: Context, *roles: Role) -> Scope:
    require_staff(context.actor, *roles)
    scope = scope_of(context.actor)
    if scope is Scope.NONE:
        raise PermissionDenied()
    return scope


def _counter(context: Context, page: Page, count, *arguments, **keywords) -> Callable[[], Awaitable[int]]:
    """The page's total: counted with it when asked for, else by a statement of its own (an empty page past a
    cursor carries none)."""
    async def counted() -> int:
        if page.total is not None:
            return page.total
        async with context.connection() as connection:
            return await count(connection, *arguments, **keywords)
    return counted


async def _record_reads(context: Context, connection, application_ids: list[int], selected: Collection[str]) -> None:
    """The KVKK log of the personal fields a listing serves (`selected`: the GraphQL fields asked for)."""
    actor = context.actor
    fields = [name for name in PERSONAL_FIELDS if name in selected]
    if fields and application_ids and reads_personal_data(actor):
        context.personal_reads |= {(id, name) for id in application_ids for name in fields}
        await kvkk.record_reads(connection, user_id=actor.user.id, application_ids=application_ids, fields=fields)


async def search_applications(context: Context, values: dict, *, first: int | None, after: str | None,
                              selected: Collection[str]) -> Listing:
    """Başvuru Arama for the office's staff (AKS, MİA): their office's applications, newest first."""
    scope = _scope(context, *OFFICE_ROLES)
    f, now, params = checked_filter(context, scope, values), datetime.now(UTC), scope_params(context.actor)
    first = page_size(first)
    async with context.connection() as connection:
        page = await search.search_applications(connection, scope, params, f, first=first, after=after, now=now,
                                                with_total="totalCount" in selected)
        await _record_reads(context, connection, [line.id for line in page.lines], selected)
    return Listing(page, _counter(context, page, search.count_applications, scope, params, f, now=now))


async def routing_inbox(context: Context, values: dict, *, first: int | None, after: str | None,
                        selected: Collection[str]) -> Listing:
    """A Yetkili's inbox: their units' routings, those waiting for an answer first, soonest due first."""
    return await _routings(context, (Role.YETKILI,), values, first=first, after=after, inbox=True,
                           selected=selected)


async def overdue_routings(context: Context, values: dict, *, first: int | None, after: str | None,
                           selected: Collection[str]) -> Listing:
    """The office's routings waiting past their due date, the most late first."""
    return await _routings(context, tuple(OFFICE_ROLES), {**values, "overdue": True}, first=first, after=after,
                           inbox=False, selected=selected)


async def _routings(context: Context, roles: tuple[Role, ...], values: dict, *, first: int | None, after: str | None,
                    inbox: bool, selected: Collection[str]) -> Listing:
    scope = _scope(context, *roles)
    f, now, params = checked_filter(context, scope, values), datetime.now(UTC), scope_params(context.actor)
    first = page_size(first)
    async with context.connection() as connection:
        page = await search.routing_page(connection, scope, params, f, first=first, after=after, now=now,
                                         inbox=inbox, with_total="totalCount" in selected)
        await _record_reads(context, connection, list({line.application.id: 0 for line in page.lines}), selected)
    return Listing(page, _counter(context, page, search.count_routings, scope, params, f, now=now))


@raises(Unauthenticated, PermissionDenied, ValidationFailed, ExportLimitReached)
async def start_export(context: Context, values: dict):
    """Rapor Al: the search (a Yetkili's: their units' applications) as a workbook, written in the background;
    the job as it starts."""
    actor = context.actor
    scope = _scope(context, *OFFICE_ROLES, Role.YETKILI)
    f, now = checked_filter(context, scope, values), datetime.now(UTC)
    async with context.connection() as connection:
        job_id = await exports.create_job(connection, context.settings, user_id=actor.user.id,
                                          file_name=exports.file_name(now))
        job = await exports.job_of(connection, job_id, actor.user.id)
    context.services.exports.submit(ExportRequest(job_id, actor.user.id, ApplicationExport(
        scope, scope_params(actor), f, reads_personal_data(actor), now)))
    return job


async def export_job(context: Context, job_id: str):
    """One of the user's own export jobs; anyone else's is not found."""
    user = require_staff(context.actor)
    try:
        number = uuid.UUID(job_id)
    except ValueError:
        raise NotFound("Rapor bulunamadı.") from None
    async with context.connection() as connection:
        job = await exports.job_of(connection, number, user.id)
    if job is None:
        raise NotFound("Rapor bulunamadı.")
    return job
