"""Realtime inboxes: which staff hear of which step of an application, as it commits.

Every step writes its history row (application_event); a trigger (migration 0015) NOTIFYs the new rows' ids on
`acikkapi_events` when the transaction commits, so every worker of every host on the database hears of it, and
only of what committed. A worker loads each event once (`notices`) and tells the subscribers it concerns: the
audience of each role is the table `AUDIENCE`, the same one the catch-up query reads (`notices_after`), so a
client that reconnects gets exactly what it would have heard.

A notice carries the application's id, tracking number, new status, the action, who and when: nothing of the
applicant, so nothing to mask beyond who may hear of the application at all (a unit never hears of a gizli one).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, any_, bindparam, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import Prepared
from acikkapi.models import Application, ApplicationEvent, ApplicationStatus, EventAction, Role, Routing
from acikkapi.permissions.actor import Actor
from acikkapi.services.checks import fits
from acikkapi.services.errors import DomainError
from acikkapi.services.search import decode_cursor, encode_cursor

EVENTS_CHANNEL = "acikkapi_events"  # payload: the ids of the history rows a statement wrote, comma-separated
SESSIONS_CHANNEL = "acikkapi_sessions"  # payload: "s:<session id>" ended, or "u:<user id>" deactivated
MAX_PAGE = 200


class SubscriptionOverHttp(DomainError):
    """Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql, not over HTTP."""

    code = "SUBSCRIPTION_OVER_HTTP"
    message = "Abonelikler yalnızca WebSocket (graphql-transport-ws) üzerinden sunulur."


@dataclass(frozen=True)
class Audience:
    """Who of a role hears of an event: its office's staff, or the units the step concerns; `actions` None: every
    action."""

    by_units: bool
    actions: frozenset[EventAction] | None


AUDIENCE = {
    # the desk follows every step of its office's applications
    Role.AKS: Audience(by_units=False, actions=None),
    # the MİA hears of what is sent for their approval
    Role.MIA: Audience(by_units=False, actions=frozenset({EventAction.SENT_TO_MIA})),
    # a unit hears of an application routed to it, or of its answer returned to it
    Role.YETKILI: Audience(by_units=True, actions=frozenset({EventAction.ROUTED, EventAction.ANSWER_RETURNED})),
}


@dataclass(frozen=True)
class Notice:
    id: int  # the history row's: the cursor
    application_id: int
    tracking_no: int
    status: ApplicationStatus
    action: EventAction
    actor_label: str
    actor_role: Role | None
    at: datetime
    province_id: int
    district_id: int | None
    is_confidential: bool
    unit_nos: frozenset[int]  # the units the step concerns: those routed, or the routing's

    @property
    def cursor(self) -> str:
        return encode_cursor("v", self.id)


@dataclass(frozen=True)
class Listener:
    """A subscriber's standing: what decides which notices reach them. Equal standings hear the same."""

    role: Role
    province_id: int | None
    district_id: int | None
    unit_nos: frozenset[int]

    @classmethod
    def of(cls, actor: Actor) -> "Listener | None":
        """The actor's standing, if their role hears of steps at all."""
        if actor.user is None or actor.role not in AUDIENCE:
            return None
        return cls(actor.role, actor.province_id, actor.district_id, actor.unit_nos)

    def hears(self, notice: Notice) -> bool:
        audience = AUDIENCE[self.role]
        if audience.actions is not None and notice.action not in audience.actions:
            return False
        if audience.by_units:
            return not notice.is_confidential and not self.unit_nos.isdisjoint(notice.unit_nos)
        if self.district_id is not None:
            return notice.district_id == self.district_id
        return notice.province_id == self.province_id


_e, _a, _r = ApplicationEvent.__table__, Application.__table__, Routing.__table__
_step = _r.alias("step_routing")
# The units a step concerns: the routing it names (an answer, a return), or those a routing step made (they
# share the transaction's time: now()).
_UNITS = func.coalesce(
    select(func.array_agg(_step.c.unit_no)).where(or_(
        _step.c.id == _e.c.routing_id,
        and_(_e.c.routing_id.is_(None), _e.c.action == EventAction.ROUTED, _step.c.application_id == _e.c.application_id,
             _step.c.created_at == _e.c.created_at))).scalar_subquery(),
    literal([], ARRAY(Integer)))
_NOTICE = select(_e.c.id, _e.c.application_id, _a.c.tracking_no, _e.c.status, _e.c.action, _e.c.actor_label,
                 _e.c.actor_role, _e.c.created_at, _a.c.subject_province_id, _a.c.subject_district_id,
                 _a.c.is_confidential, _UNITS.label("unit_nos")).select_from(_e.join(_a, _a.c.id == _e.c.application_id))
_BY_IDS = Prepared(_NOTICE.where(_e.c.id == any_(bindparam("ids", type_=ARRAY(Integer)))).order_by(_e.c.id))


def _notice(row) -> Notice:
    (id, application_id, tracking_no, status, action, actor_label, actor_role, at, province_id, district_id,
     confidential, unit_nos) = row
    return Notice(id, application_id, tracking_no, status, action, actor_label, actor_role, at, province_id,
                  district_id, confidential, frozenset(unit_nos))


async def notices(connection: AsyncConnection, ids: list[int]) -> list[Notice]:
    """The events of these history rows, in their order (on an autocommit connection)."""
    return [_notice(row) for row in await _BY_IDS.fetch(connection, {"ids": ids})]


_AFTER = Prepared(select(_e.c.id).where(_e.c.id > bindparam("after", type_=Integer)).order_by(_e.c.id).limit(10_000))


_NEWEST = Prepared(select(func.coalesce(func.max(_e.c.id), 0)))


async def newest_id(connection: AsyncConnection) -> int:
    return (await _NEWEST.first(connection))[0]


async def ids_after(connection: AsyncConnection, after: int) -> list[int]:
    """The history rows written after `after` (a worker catching up after its LISTEN connection was lost)."""
    return [row[0] for row in await _AFTER.fetch(connection, {"after": after})]


def parse_ids(payload: str) -> list[int]:
    """A notification's ids; anything else (a bulk insert's "*") is none."""
    return [int(part) for part in payload.split(",") if part.isdigit() and fits(int(part), ApplicationEvent.id)]


def _hears(listener: Listener):
    """`Listener.hears` as a condition on the notice's row."""
    audience = AUDIENCE[listener.role]
    conditions = [true() if audience.actions is None else _e.c.action.in_(audience.actions)]
    if audience.by_units:
        conditions += [~_a.c.is_confidential,
                       _UNITS.op("&&")(bindparam("units", sorted(listener.unit_nos), type_=ARRAY(Integer)))]
    elif listener.district_id is not None:
        conditions.append(_a.c.subject_district_id == listener.district_id)
    else:
        conditions.append(_a.c.subject_province_id == listener.province_id)
    return and_(*conditions)


async def notices_after(connection: AsyncConnection, listener: Listener, after: str | None, first: int
                        ) -> tuple[list[Notice], bool]:
    """What `listener` would have heard after the cursor (from the start: the last `first`), oldest first; and
    whether there is more."""
    statement = _NOTICE.where(_hears(listener))
    if after is None:
        newest = statement.order_by(_e.c.id.desc()).limit(first).subquery()
        rows = (await connection.execute(select(newest).order_by(newest.c.id))).all()
        return [_notice(row) for row in rows], False
    rows = (await connection.execute(statement.where(_e.c.id > decode_cursor(after, "v", 1)[0]).order_by(_e.c.id)
                                     .limit(first + 1))).all()
    return [_notice(row) for row in rows[:first]], len(rows) > first
