"""The staff lists (SPEC §6, seed 000 §3.2, §4.1, §5.1): Başvuru Arama for the office, a Yetkili's inbox of
their units' routings, and the office's overdue routings.

Each list is keyset-paged: a page is the rows after the cursor's sort key, so a page never repeats or skips a
row while new applications arrive. A page is one prepared statement (the rows with their categories and routings
as arrays of records, as the staff view reads them, and the total when asked for), built once per list, scope and
filter shape. Scope comes from the same conditions as every other read (permissions/applications.py); which of
the applicant's data a reader may see is decided above.
"""

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from sqlalchemy import (
    Boolean, Integer, Select, String, and_, any_, bindparam, case, cast, exists, func, literal, select, true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import Prepared, records
from acikkapi.models import (
    Application, ApplicationCategory, ApplicationKind, ApplicationResult, ApplicationStatus, Channel,
    PriorityGroup, Routing, RoutingStatus, ServiceCategory, Unit,
)
from acikkapi.permissions.applications import Scope, visible_applications, visible_routings
from acikkapi.services.business_days import ISTANBUL
from acikkapi.services.errors import ValidationFailed
from acikkapi.services.tracking import CategoryLine, Named

SUMMARY_LENGTH = 200  # the subject as the list shows it
DEFAULT_PAGE = 50
MAX_PAGE = 200

_a, _row, _r, _unit = Application.__table__, ApplicationCategory.__table__, Routing.__table__, Unit.__table__
_category, _subcategory = ServiceCategory.__table__.alias("category"), ServiceCategory.__table__.alias("subcategory")
_listed = _r.alias("listed_routing")  # an application's routings in a row; `routing` is the inbox's own row
_NAMES = ARRAY(String(32))  # enumerated values as stored: their names


class InvalidCursor(ValidationFailed):
    code = "INVALID_CURSOR"
    message = "Sayfa imleci geçersiz; listeyi baştan isteyiniz."


@dataclass(frozen=True)
class Filter:
    """Başvuru Arama's criteria; every one given must hold. Names are folded words (services/unit_search.fold),
    each matching the beginning of a word of the name."""

    tracking_no: int | None = None
    tckn: str | None = None
    first_name_words: tuple[str, ...] = ()
    last_name_words: tuple[str, ...] = ()
    category_id: int | None = None
    subcategory_id: int | None = None
    statuses: frozenset[ApplicationStatus] = frozenset()
    results: frozenset[ApplicationResult] = frozenset()
    kinds: frozenset[ApplicationKind] = frozenset()
    channels: frozenset[Channel] = frozenset()
    priority_groups: frozenset[PriorityGroup] = frozenset()
    is_special: bool | None = None
    is_confidential: bool | None = None
    registered_from: date | None = None  # Istanbul days, both ends included
    registered_to: date | None = None
    unit_no: int | None = None  # routed to this unit
    overdue: bool | None = None  # a routing waits past its due date
    ihbar_names_hidden: bool = False  # the reader may not see who made an ihbar: a name never finds one

    @property
    def shape(self) -> tuple:
        """What decides the filter's conditions: which criteria are given (and whether overdue or not)."""
        return tuple(value if name in ("overdue", "ihbar_names_hidden") else value not in (None, (), frozenset())
                     for name, value in self.__dict__.items())


@dataclass(frozen=True)
class ListedRouting:
    id: int
    unit: Named
    status: RoutingStatus
    due_date: date
    overdue: bool
    routed_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class ApplicationLine:
    """One row of Başvuru Arama: the screen's columns. `due_date` (Son Cevap Verme Tarihi) is the soonest of the
    routings still waiting, `unit_arrival` (Birime Geliş Tarihi) the first routing's time."""

    id: int
    tracking_no: int
    status: ApplicationStatus
    result: ApplicationResult | None
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
    subject_summary: str
    categories: list[CategoryLine]
    routings: list[ListedRouting]

    @property
    def unit_arrival(self) -> datetime | None:
        return min((r.routed_at for r in self.routings), default=None)

    @property
    def due_date(self) -> date | None:
        return min((r.due_date for r in self.routings if r.status is not RoutingStatus.ANSWERED), default=None)

    @property
    def overdue(self) -> bool:
        return any(r.overdue for r in self.routings)


@dataclass(frozen=True)
class RoutingLine:
    """One routing of a Yetkili's inbox or of the overdue view, with its application's row."""

    routing: ListedRouting
    days_late: int  # calendar days past the due date; 0 when not late
    application: ApplicationLine


@dataclass(frozen=True)
class Page:
    lines: list
    cursors: list[str]
    has_next: bool
    total: int | None = None  # the rows of the whole filter, when counted with the page


# ------------------------------------------------------------------------------------------------- cursors

def encode_cursor(kind: str, *key: int) -> str:
    text = ".".join([kind, *map(str, key)])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, parts: int) -> tuple[int, ...]:
    """The sort key a cursor of list `kind` holds; a cursor of another list, or not one at all, is refused."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(field="after") from None
    name, *key = text.split(".")
    if name != kind or len(key) != parts or not all(k.isdigit() and len(k) <= 18 for k in key):
        raise InvalidCursor(field="after")
    if int(key[-1]) > _MAX_ID:  # the last part is always a row's id
        raise InvalidCursor(field="after")
    return tuple(map(int, key))


_MAX_ID = 2**31 - 1


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    try:
        return _EPOCH + micros * _MICROSECOND
    except OverflowError:
        raise InvalidCursor(field="after") from None


# ---------------------------------------------------------------------------------------------- conditions

def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), ISTANBUL)


def _name_query(first: tuple[str, ...], last: tuple[str, ...]) -> str:
    """A tsquery: each word a prefix of a first-name (A) or surname (B) word. Folded words are [a-z0-9]+."""
    return " & ".join([f"{word}:*A" for word in first] + [f"{word}:*B" for word in last])


def _waiting(routing) -> object:
    return routing.c.status != RoutingStatus.ANSWERED


def application_conditions(f: Filter, today: date) -> tuple[list, dict]:
    """The filter as conditions on `application` and their parameters."""
    conditions, params = [], {}

    def equal(column, name, value):
        if value is not None:
            conditions.append(column == bindparam(name, type_=column.type))
            params[name] = value

    def among(column, name, values):
        if values:
            conditions.append(column == any_(bindparam(name, type_=_NAMES)))
            params[name] = sorted(value.name for value in values)

    equal(_a.c.tracking_no, "tracking_no", f.tracking_no)
    equal(_a.c.applicant_tckn, "tckn", f.tckn)
    if f.first_name_words or f.last_name_words:
        conditions.append(_a.c.applicant_name_words.op("@@")(cast(bindparam("name_query"), TSQUERY)))
        params["name_query"] = _name_query(f.first_name_words, f.last_name_words)
        if f.ihbar_names_hidden:
            conditions.append(_a.c.kind != ApplicationKind.IHBAR)
    if f.category_id is not None or f.subcategory_id is not None:
        row = [_row.c.application_id == _a.c.id]
        for column, name, value in ((_row.c.category_id, "category_id", f.category_id),
                                    (_row.c.subcategory_id, "subcategory_id", f.subcategory_id)):
            if value is not None:
                row.append(column == bindparam(name))
                params[name] = value
        conditions.append(exists().where(*row))
    among(_a.c.status, "statuses", f.statuses)
    among(_a.c.result, "results", f.results)
    among(_a.c.kind, "kinds", f.kinds)
    among(_a.c.channel, "channels", f.channels)
    among(_a.c.priority_group, "priority_groups", f.priority_groups)
    equal(_a.c.is_special, "is_special", f.is_special)
    equal(_a.c.is_confidential, "is_confidential", f.is_confidential)
    if f.registered_from is not None:
        conditions.append(_a.c.created_at >= bindparam("registered_from"))
        params["registered_from"] = _day_start(f.registered_from)
    if f.registered_to is not None:
        conditions.append(_a.c.created_at < bindparam("registered_before"))
        params["registered_before"] = _day_start(f.registered_to + timedelta(days=1))
    if f.unit_no is not None:
        conditions.append(exists().where(_listed.c.application_id == _a.c.id,
                                         _listed.c.unit_no == bindparam("unit_no")))
        params["unit_no"] = f.unit_no
    if f.overdue:
        # The few late ones, gathered once (the waiting routings' due-date index) and looked up by id: as a
        # semi-join the planner would rather walk the whole office in date order, hoping to meet them soon.
        late = select(func.array_agg(_listed.c.application_id)).where(_waiting(_listed),
                                                                      _listed.c.due_date < bindparam("today"))
        conditions.append(_a.c.id == any_(cast(late.scalar_subquery(), ARRAY(Integer))))  # an array, not rows
        params["today"] = today
    elif f.overdue is False:
        conditions.append(~exists().where(_listed.c.application_id == _a.c.id, _waiting(_listed),
                                          _listed.c.due_date < bindparam("today")))
        params["today"] = today
    return conditions, params


# -------------------------------------------------------------------------------------------------- reading

_CATEGORIES = records(
    _row.c.position, _category.c.name, _subcategory.c.name, _row.c.description, order_by=[_row.c.position],
    select_from=_row.join(_category, _category.c.id == _row.c.category_id)
    .join(_subcategory, _subcategory.c.id == _row.c.subcategory_id),
    where=[_row.c.application_id == _a.c.id]).label("categories")


def _routings(scope: Scope):
    """The routings of the row's application that the scope sees."""
    return records(
        _listed.c.id, _listed.c.unit_no, _unit.c.name, _listed.c.status, _listed.c.due_date, _listed.c.created_at,
        _listed.c.answered_at, order_by=[_listed.c.id],
        select_from=_listed.join(_unit, _unit.c.detsis_no == _listed.c.unit_no),
        where=[_listed.c.application_id == _a.c.id, visible_routings(scope, _listed)]).label("routings")


_SUMMARY = case((func.length(_a.c.subject) > SUMMARY_LENGTH, func.left(_a.c.subject, SUMMARY_LENGTH - 1) + "…"),
                else_=_a.c.subject).label("subject_summary")
_APPLICATION_COLUMNS = (
    _a.c.id, _a.c.tracking_no, _a.c.status, _a.c.result, _a.c.kind, _a.c.channel, _a.c.created_at,
    _a.c.arrival_date, _a.c.is_special, _a.c.is_confidential, _a.c.priority_group, _a.c.applicant_tckn,
    _a.c.applicant_first_name, _a.c.applicant_last_name, _SUMMARY, _CATEGORIES)


def _application_line(row, offset: int, today: date) -> ApplicationLine:
    (id, tracking_no, status, result, kind, channel, created_at, arrival_date, is_special, is_confidential,
     priority_group, tckn, first_name, last_name, summary, categories, routings) = row[offset:offset + 17]
    return ApplicationLine(
        id=id, tracking_no=tracking_no, status=status, result=result, kind=kind, channel=channel,
        created_at=created_at, arrival_date=arrival_date, is_special=is_special, is_confidential=is_confidential,
        priority_group=priority_group, tckn=tckn, first_name=first_name, last_name=last_name,
        subject_summary=summary, categories=[CategoryLine(*line) for line in categories or ()],
        routings=[_listed_routing(*line, today=today) for line in routings or ()])


def _listed_routing(id, unit_no, unit_name, status, due_date, routed_at, answered_at, *, today: date):
    status = RoutingStatus[status] if isinstance(status, str) else status
    return ListedRouting(id=id, unit=Named(unit_no, unit_name), status=status, due_date=due_date,
                         overdue=status is not RoutingStatus.ANSWERED and due_date < today, routed_at=routed_at,
                         answered_at=answered_at)


def today_in_istanbul(now: datetime) -> date:
    return now.astimezone(ISTANBUL).date()


def _applications(scope: Scope, f: Filter, today: date, *columns) -> tuple[Select, dict]:
    """The applications `scope` sees that meet `f`, newest first."""
    conditions, values = application_conditions(f, today)
    statement = (select(*columns).where(visible_applications(scope), *conditions)
                 .order_by(_a.c.created_at.desc(), _a.c.id.desc()))
    return statement, values


# A page's and a total's statements, prepared (db.Prepared) once per list, scope and filter shape: the conditions
# a filter adds depend only on which criteria it gives (`Filter.shape`), never on their values.
_PREPARED: dict[tuple, Prepared] = {}


def _prepared(key: tuple, build) -> Prepared:
    prepared = _PREPARED.get(key)
    if prepared is None:
        if len(_PREPARED) >= 4096:  # shapes are few in practice; a flood of odd ones must not grow memory
            _PREPARED.clear()
        prepared = _PREPARED[key] = Prepared(build())
    return prepared


_LIMIT = bindparam("limit", type_=Integer)
_AFTER_ID = bindparam("after_id", type_=Integer)


async def search_applications(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *, first: int,
                              after: str | None, now: datetime, with_total: bool) -> Page:
    """A page of the applications `scope` sees that meet `f`, newest first; `with_total`: and how many meet it,
    counted in the same statement (so on the same snapshot)."""
    today = today_in_istanbul(now)
    _, values = application_conditions(f, today)
    values.update(params, limit=first + 1)
    if after is not None:
        created, values["after_id"] = decode_cursor(after, "a", 2)
        values["after_created"] = _moment(created)

    def build():
        # uncorrelated (an InitPlan, run once), though it names the outer statement's tables
        total = ((_applications(scope, f, today, func.count())[0].order_by(None).correlate(None)
                  .scalar_subquery(),) if with_total else ())
        statement, _ = _applications(scope, f, today, *_APPLICATION_COLUMNS, _routings(scope), *total)
        if after is not None:
            statement = statement.where(tuple_(_a.c.created_at, _a.c.id) < tuple_(
                bindparam("after_created", type_=_a.c.created_at.type), _AFTER_ID))
        return statement.limit(_LIMIT)

    rows = await _prepared(("a", scope, f.shape, after is not None, with_total), build).fetch(connection, values)
    lines = [_application_line(row, 0, today) for row in rows[:first]]
    cursors = [encode_cursor("a", _micros(line.created_at), line.id) for line in lines]
    return Page(lines, cursors, len(rows) > first, _total(rows, with_total, after))


def _total(rows: list, with_total: bool, after: str | None) -> int | None:
    """The total a page's rows carry (each row, in its last column); none when they cannot tell: no rows
    after a cursor."""
    if not with_total:
        return None
    return rows[0][-1] if rows else (0 if after is None else None)


async def count_applications(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *,
                             now: datetime) -> int:
    today = today_in_istanbul(now)
    _, values = application_conditions(f, today)
    prepared = _prepared(("a#", scope, f.shape), lambda: _applications(scope, f, today, func.count())[0]
                         .order_by(None))
    return (await prepared.first(connection, {**params, **values}))[0]


async def count_applications_in(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *,
                                now: datetime) -> int:
    """The total inside a transaction (an export's), where a prepared statement may not run."""
    statement, values = _applications(scope, f, today_in_istanbul(now), func.count())
    return (await connection.execute(statement.order_by(None), {**params, **values})).scalar_one()


def _export_statement(scope: Scope, f: Filter, today: date) -> Select:
    """The export's columns of the search's applications, newest first: the texts of the categories and of the
    routed units, the first routing's time and the soonest waiting due date made by PostgreSQL from the rows the
    scope sees, enumerated values as their names. The applicant's identity is masked by the caller."""
    separator = literal("; ")
    categories = (select(func.string_agg(_category.c.name + " / " + _subcategory.c.name,
                                         aggregate_order_by(separator, _row.c.position)))
                  .select_from(_row.join(_category, _category.c.id == _row.c.category_id)
                               .join(_subcategory, _subcategory.c.id == _row.c.subcategory_id))
                  .where(_row.c.application_id == _a.c.id).scalar_subquery())
    routed = (select(func.string_agg(_unit.c.name, aggregate_order_by(separator, _listed.c.id)).label("units"),
                     func.min(_listed.c.created_at).label("arrival"),
                     func.min(_listed.c.due_date).filter(_waiting(_listed)).label("due"))
              .select_from(_listed.join(_unit, _unit.c.detsis_no == _listed.c.unit_no))
              .where(_listed.c.application_id == _a.c.id, visible_routings(scope, _listed)).lateral("routed"))
    name = partial(cast, type_=String)
    statement, _ = _applications(
        scope, f, today, _a.c.tracking_no, _a.c.created_at, name(_a.c.kind), name(_a.c.channel), _a.c.applicant_tckn,
        _a.c.applicant_first_name, _a.c.applicant_last_name, categories, _a.c.subject, routed.c.units,
        routed.c.arrival, routed.c.due, name(_a.c.status), name(_a.c.result))
    return statement.select_from(_a.join(routed, true()))


async def export_rows(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *, now: datetime,
                      batch: int) -> AsyncIterator[list[Sequence]]:
    """The export's rows (`_export_statement`), `batch` at a time from a server-side cursor of the connection's
    transaction."""
    today = today_in_istanbul(now)
    _, values = application_conditions(f, today)
    prepared = _prepared(("x", scope, f.shape), lambda: _export_statement(scope, f, today))
    async for rows in prepared.batches(connection, {**params, **values}, batch):
        yield rows


def ids_of(scope: Scope, f: Filter, now: datetime) -> tuple[Select, dict]:
    """The ids of the search's applications, as a statement (to record them in the KVKK log at once)."""
    statement, values = _applications(scope, f, today_in_istanbul(now), _a.c.id)
    return statement.order_by(None), values


_ROUTING_COLUMNS = (_r.c.id, _r.c.unit_no, _unit.c.name, _r.c.status, _r.c.due_date, _r.c.created_at,
                    _r.c.answered_at)
# An inbox lists the routings waiting for an answer first, soonest due first; the overdue view the most late
# first. Each order is a list's sort key (ascending) and the name its cursors carry.
_INBOX = ("i", (_r.c.status == RoutingStatus.ANSWERED, _r.c.due_date, _r.c.id))
_OVERDUE = ("o", (_r.c.due_date, _r.c.id))


def _routing_statement(scope: Scope, f: Filter, today: date):
    """The routings' source and conditions: `f` on their applications, its unit and overdue on the routing."""
    conditions, values = application_conditions(replace(f, unit_no=None, overdue=None), today)
    if f.unit_no is not None:
        conditions.append(_r.c.unit_no == bindparam("unit_no"))
        values["unit_no"] = f.unit_no
    if f.overdue is not None:
        late = and_(_waiting(_r), _r.c.due_date < bindparam("today"))
        conditions.append(late if f.overdue else ~late)
        values["today"] = today
    source = _r.join(_a, _a.c.id == _r.c.application_id).join(_unit, _unit.c.detsis_no == _r.c.unit_no)
    return source, [visible_routings(scope), *conditions], values


def _sort_key(routing: ListedRouting, inbox: bool) -> tuple[int, ...]:
    key = (routing.due_date.toordinal(), routing.id)
    return (int(routing.status is RoutingStatus.ANSWERED), *key) if inbox else key


async def routing_page(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *, first: int,
                       after: str | None, now: datetime, inbox: bool, with_total: bool) -> Page:
    """A page of the routings `scope` sees whose applications meet `f`, in the order of an inbox or (not
    `inbox`) of the overdue view; `with_total` as for `search_applications`."""
    today = today_in_istanbul(now)
    kind, key = _INBOX if inbox else _OVERDUE
    _, _, values = _routing_statement(scope, f, today)
    values.update(params, limit=first + 1)
    if after is not None:
        *answered, due, values["after_id"] = decode_cursor(after, kind, len(key))
        if not 1 <= due <= date.max.toordinal():
            raise InvalidCursor(field="after")
        values["after_due"] = date.fromordinal(due)
        if answered:
            values["after_answered"] = bool(answered[0])

    def build():
        source, conditions, _ = _routing_statement(scope, f, today)
        total = ((select(func.count()).select_from(source).where(*conditions).correlate(None).scalar_subquery(),)
                 if with_total else ())
        statement = (select(*_ROUTING_COLUMNS, *_APPLICATION_COLUMNS, _routings(scope), *total).select_from(source)
                     .where(*conditions).order_by(*key).limit(_LIMIT))
        if after is not None:
            bounds = [bindparam("after_due", type_=_r.c.due_date.type), _AFTER_ID]
            if inbox:
                bounds.insert(0, bindparam("after_answered", type_=Boolean))
            statement = statement.where(tuple_(*key) > tuple_(*bounds))
        return statement

    rows = await _prepared((kind, scope, f.shape, after is not None, with_total), build).fetch(connection, values)
    lines, cursors = [], []
    for row in rows[:first]:
        routing = _listed_routing(*row[:7], today=today)
        days_late = (today - routing.due_date).days if routing.overdue else 0
        lines.append(RoutingLine(routing, days_late, _application_line(row, 7, today)))
        cursors.append(encode_cursor(kind, *_sort_key(routing, inbox)))
    return Page(lines, cursors, len(rows) > first, _total(rows, with_total, after))


async def count_routings(connection: AsyncConnection, scope: Scope, params: dict, f: Filter, *,
                         now: datetime) -> int:
    today = today_in_istanbul(now)
    _, _, values = _routing_statement(scope, f, today)

    def build():
        source, conditions, _ = _routing_statement(scope, f, today)
        return select(func.count()).select_from(source).where(*conditions)

    return (await _prepared(("r#", scope, f.shape), build).first(connection, {**params, **values}))[0]
