"""The staff workflow as one table (seed 000 §3–5, SPEC §4): for each (status, action), the next status, the
roles that may take it, its guards, the history row it writes and the SMS it sends.

Every step runs the same way (`take`), on one autocommit connection, in two prepared statements:
1. `see`: the application (with the routing acted on) through the actor's scope, with the facts the guards need;
2. `step_for`: the table decides, before anything is written;
3. `advance`: one statement writes the step: the new status and version, only if the version is still the one
   read, and from that the step's own rows (services/routing.py, services/decisions.py), the history row and
   the SMS. It is atomic, so nothing is half-written; a step that lost the race to another one writes nothing,
   and is decided again on what the other one left: refused by the table or by `expectedVersion`, or taken
   after it. No transaction stays open between statements and no lock is held while Python decides.
Statements are Core, built once per kind of scope; a step takes the same two whatever the application's
number of routings or events.
"""

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import CTE, Boolean, Text, bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import Prepared
from acikkapi.models import (
    Application, ApplicationEvent, ApplicationKind, ApplicationStatus, EventAction, OutboxMessage, Role, Routing,
    RoutingStatus,
)
from acikkapi.permissions.actor import Actor, require_staff
from acikkapi.permissions.applications import Scope, scope_of, scope_params, visible_applications, visible_routings
from acikkapi.services.errors import DomainError, NotFound, PermissionDenied, Unauthenticated, raises
from acikkapi.services.outbox import TEMPLATES

S = ApplicationStatus


class Action(enum.Enum):
    UPDATE_CATEGORIES = "Güncelle (Hizmet Başlıkları)"
    SET_FLAGS = "Başvuru Niteliklerini Belirle"
    ROUTE = "İlgili Birime Yönlendir"
    ANSWER = "Başvuru Cevapla"
    RETURN_ANSWER = "Cevabı İade Et"
    SEND_TO_MIA = "MİA Onayına Gönder"
    MIA_REVIEW = "MİA Değerlendirmesi"
    CLOSE = "İşlemi Kapat"


class TransitionNotAllowed(DomainError):
    """The application's status does not allow this step (it is with the MİA, closed, …); nothing changed."""

    code = "TRANSITION_NOT_ALLOWED"
    message = "Başvurunun şu anki durumunda bu işlem yapılamaz."

    @classmethod
    def at(cls, status: ApplicationStatus, action: Action) -> "TransitionNotAllowed":
        return cls(f"“{action.value}” işlemi, başvuru “{status.value}” durumundayken yapılamaz.")


class ConcurrentChange(DomainError):
    """Someone changed the application after the version the request names: reload it and try again."""

    code = "CONCURRENT_CHANGE"
    message = ("Başvuru, siz işlem yaparken başka bir kullanıcı tarafından değiştirildi. "
               "Lütfen başvuruyu yeniden açıp işlemi tekrar deneyiniz.")


class MiaReviewRequired(DomainError):
    """An özellikli application is closed only after the MİA has evaluated it (directive md. 10(c))."""

    code = "MIA_REVIEW_REQUIRED"
    message = ("Özellikli başvurular, Mülki İdare Amiri tarafından değerlendirilmeden sonuçlandırılamaz. "
               "Lütfen önce MİA onayına gönderiniz.")


class ConfidentialNotRoutable(DomainError):
    """A gizli application stays with the MİA and the office: it is not routed to units through the system."""

    code = "CONFIDENTIAL_NOT_ROUTABLE"
    message = ("Gizli başvurular sistem üzerinden birimlere yönlendirilemez; "
               "Mülki İdare Amiri ve Açık Kapı bürosu tarafından takip edilir.")


class RoutingNotOpen(DomainError):
    """The routing has been answered: its unit can only read and print it until the AKS returns the answer."""

    code = "ROUTING_NOT_OPEN"
    message = "Bu yönlendirme cevaplanmıştır; cevap yalnızca görüntülenebilir ve yazdırılabilir."


class RoutingNotAnswered(DomainError):
    """Only an answer can be returned: the routing is still waiting for one."""

    code = "ROUTING_NOT_ANSWERED"
    message = "Bu yönlendirmenin henüz cevabı yok; iade edilecek bir cevap bulunmamaktadır."


@dataclass(frozen=True)
class Seen:
    """The application as a step read it, with the facts the table's guards need."""

    id: int
    tracking_no: int
    status: ApplicationStatus
    version: int
    kind: ApplicationKind
    is_special: bool
    is_confidential: bool
    phone: str
    applicant_name: str
    has_routings: bool
    open_routings: int  # routings waiting for an answer (open or returned)
    mia_reviewed: bool
    routing_id: int | None = None  # the routing acted on (answer, return)
    routing_status: RoutingStatus | None = None
    routing_unit_no: int | None = None
    units: list | None = None  # the units asked for (routing): (detsis_no, name, already routed) of active ones


Guard = Callable[[Seen], DomainError | None]


def _not_confidential(app: Seen) -> DomainError | None:
    return ConfidentialNotRoutable() if app.is_confidential else None


def _reviewed_if_special(app: Seen) -> DomainError | None:
    return MiaReviewRequired() if app.is_special and not app.mia_reviewed else None


def _routing_open(app: Seen) -> DomainError | None:
    return RoutingNotOpen() if app.routing_status is RoutingStatus.ANSWERED else None


def _routing_answered(app: Seen) -> DomainError | None:
    return RoutingNotAnswered() if app.routing_status is not RoutingStatus.ANSWERED else None


def _first_routing(app: Seen) -> bool:
    return not app.has_routings


@dataclass(frozen=True)
class Step:
    roles: frozenset[Role]
    to: ApplicationStatus | None  # None: the status stays
    event: EventAction
    public: bool = False  # the history row is shown to the citizen (and its note with it)
    guards: tuple[Guard, ...] = ()
    when_all_answered: ApplicationStatus | None = None  # the status once no routing waits for an answer
    sms: str | None = None  # a template of services/outbox.py, sent to the applicant
    sms_when: Callable[[Seen], bool] = field(default=lambda app: True)


WITH_THE_AKS = (S.HAVUZDA, S.YONLENDIRILDI, S.CEVAPLANDI, S.MIA_DEGERLENDIRDI)
AKS, YETKILI, MIA = frozenset({Role.AKS}), frozenset({Role.YETKILI}), frozenset({Role.MIA})


def _in(statuses: tuple[ApplicationStatus, ...], action: Action, step: Step) -> dict:
    return {(status, action): step for status in statuses}


# Anything not in this table is refused with TransitionNotAllowed: nothing while the MİA has the application
# (MIA_ONAYINDA) but the MİA's evaluation, nothing at all once it is closed (SONUCLANDI).
WORKFLOW: dict[tuple[ApplicationStatus, Action], Step] = {
    **_in(WITH_THE_AKS, Action.UPDATE_CATEGORIES, Step(AKS, None, EventAction.CATEGORIES_UPDATED)),
    **_in(WITH_THE_AKS, Action.SET_FLAGS, Step(AKS, None, EventAction.FLAGS_SET)),
    # More units can be added later: the application goes back to waiting for their answers.
    **_in(WITH_THE_AKS, Action.ROUTE, Step(AKS, S.YONLENDIRILDI, EventAction.ROUTED, public=True,
                                           guards=(_not_confidential,), sms="yonlendirildi",
                                           sms_when=_first_routing)),
    (S.YONLENDIRILDI, Action.ANSWER): Step(YETKILI, S.YONLENDIRILDI, EventAction.ANSWERED, guards=(_routing_open,),
                                           when_all_answered=S.CEVAPLANDI),
    **_in((S.YONLENDIRILDI, S.CEVAPLANDI, S.MIA_DEGERLENDIRDI), Action.RETURN_ANSWER,
          Step(AKS, S.YONLENDIRILDI, EventAction.ANSWER_RETURNED, guards=(_routing_answered,))),
    # Not while units are still answering: their answers would arrive while the MİA has it.
    **_in((S.HAVUZDA, S.CEVAPLANDI, S.MIA_DEGERLENDIRDI), Action.SEND_TO_MIA,
          Step(AKS, S.MIA_ONAYINDA, EventAction.SENT_TO_MIA)),
    (S.MIA_ONAYINDA, Action.MIA_REVIEW): Step(MIA, S.MIA_DEGERLENDIRDI, EventAction.MIA_REVIEWED),
    **_in(WITH_THE_AKS, Action.CLOSE, Step(AKS, S.SONUCLANDI, EventAction.CLOSED, public=True,
                                           guards=(_reviewed_if_special,), sms="sonuclandi")),
}
ROLES = {action: frozenset().union(*(step.roles for (_, a), step in WORKFLOW.items() if a is action))
         for action in Action}
assert all(step.sms in TEMPLATES for step in WORKFLOW.values() if step.sms)


@raises(Unauthenticated, PermissionDenied)
def ensure_may(actor: Actor, action: Action) -> None:
    """The role check, before anything is read: a role that never takes `action` is refused at once."""
    user = require_staff(actor)
    if user.role not in ROLES[action]:
        raise PermissionDenied()


def step_for(app: Seen, action: Action, role: Role) -> Step:
    """The table's decision for `action` on `app` as it is now, guards included."""
    step = WORKFLOW.get((app.status, action))
    if step is None:
        raise TransitionNotAllowed.at(app.status, action)
    if role not in step.roles:
        raise PermissionDenied()
    for guard in step.guards:
        if error := guard(app):
            raise error
    return step


# ---------------------------------------------------------------------------------------------- see

_application, _routing, _event = Application.__table__, Routing.__table__, ApplicationEvent.__table__
_outbox = OutboxMessage.__table__
_counted = _routing.alias("counted")


def reading(scope: Scope, *, by_routing: bool, extra: tuple = ()) -> Prepared:
    """The application (and the routing acted on) through `scope`, with the guards' facts and `extra`
    columns."""
    a = _application
    statement = select(
        a.c.id, a.c.tracking_no, a.c.status, a.c.version, a.c.kind, a.c.is_special, a.c.is_confidential, a.c.phone,
        (a.c.applicant_first_name + " " + a.c.applicant_last_name).label("applicant_name"),
        exists().where(_counted.c.application_id == a.c.id).label("has_routings"),
        select(func.count()).where(_counted.c.application_id == a.c.id,
                                   _counted.c.status != RoutingStatus.ANSWERED)
        .scalar_subquery().label("open_routings"),
        exists().where(_event.c.application_id == a.c.id, _event.c.action == EventAction.MIA_REVIEWED)
        .label("mia_reviewed"),
        *extra)
    if by_routing:
        return Prepared(
            statement.add_columns(_routing.c.id.label("routing_id"), _routing.c.status.label("routing_status"),
                                  _routing.c.unit_no.label("routing_unit_no"))
            .join_from(a, _routing, _routing.c.application_id == a.c.id)
            .where(_routing.c.id == bindparam("routing_id"), visible_routings(scope)))
    return Prepared(statement.where(a.c.tracking_no == bindparam("tracking_no"), visible_applications(scope)))


_READ = {(scope, by_routing): reading(scope, by_routing=by_routing) for scope in Scope for by_routing in (False, True)}


@raises(NotFound, ConcurrentChange)
async def see(connection: AsyncConnection, actor: Actor, read: Prepared, *, tracking_no: int | None = None,
              routing_id: int | None = None, expected_version: int | None = None, **params) -> Seen:
    """The application by tracking number, or the routing by id with its application: NotFound if the actor's
    scope does not see it. With `expected_version`, ConcurrentChange if the application has changed since the
    actor saw it."""
    row = await read.first(connection, {**scope_params(actor), "tracking_no": tracking_no, "routing_id": routing_id,
                                        **params})
    if row is None:
        raise NotFound("Yönlendirme bulunamadı." if routing_id is not None else "Başvuru bulunamadı.")
    seen = Seen(**dict(zip(read.keys, row)))
    if expected_version is not None and seen.version != expected_version:
        raise ConcurrentChange()
    return seen


ATTEMPTS = 5  # another step writing first this many times in a row: the caller is told to try again


@raises(NotFound, ConcurrentChange)
async def take(connection: AsyncConnection, actor: Actor, attempt: Callable[[Seen], Awaitable["Advanced | None"]],
               *, read: Prepared | None = None, tracking_no: int | None = None, routing_id: int | None = None,
               expected_version: int | None = None, **params) -> "Advanced":
    """One step: `attempt` decides on the application as read (the table, its own checks) and writes it with
    `advance`; when another step wrote first, it is decided again on what that one left."""
    read = read or _READ[scope_of(actor), routing_id is not None]
    for _ in range(ATTEMPTS):
        seen = await see(connection, actor, read, tracking_no=tracking_no, routing_id=routing_id,
                         expected_version=expected_version, **params)
        if (advanced := await attempt(seen)) is not None:
            return advanced
    raise ConcurrentChange()


# ---------------------------------------------------------------------------------------------- advance

def advancing(*columns: str, then: Callable[[CTE], Iterable[CTE]] = lambda advanced: ()) -> Prepared:
    """The statement of a step: the application's new status and version (and `columns`) if its version is
    still `p_seen`; then, from that row, the step's own writes (`then`), its history row and its SMS (sent
    when `p_send_sms`). It returns the new version, or no row when another step wrote first. Parameters are
    prefixed: SQLAlchemy would add a parameter named like one of application's columns to the UPDATE's SET
    clause."""
    a = _application
    values = {"status": bindparam("p_status", type_=a.c.status.type), "version": a.c.version + 1,
              **{column: bindparam(f"p_{column}", type_=a.c[column].type) for column in columns}}
    advanced = (update(a).where(a.c.id == bindparam("p_application"), a.c.version == bindparam("p_seen"))
                .values(**values).returning(a.c.id, a.c.version).cte("advanced"))
    history = insert(_event).from_select(
        ["application_id", "action", "status", "note", "actor_id", "actor_label", "actor_role", "public",
         "routing_id"],
        select(advanced.c.id, bindparam("p_action", type_=_event.c.action.type),
               bindparam("p_status", type_=_event.c.status.type), bindparam("p_note", type_=Text),
               bindparam("p_actor", type_=_event.c.actor_id.type),
               bindparam("p_label", type_=_event.c.actor_label.type),
               bindparam("p_role", type_=_event.c.actor_role.type), bindparam("p_public", type_=Boolean),
               bindparam("p_routing", type_=_event.c.routing_id.type)),
        include_defaults=False).cte("history")
    sms = insert(_outbox).from_select(
        ["phone", "template", "params", "priority"],
        select(bindparam("p_phone", type_=_outbox.c.phone.type), bindparam("p_template", type_=_outbox.c.template.type),
               func.jsonb_build_object("ad", bindparam("p_name", type_=Text),
                                       "takip_no", bindparam("p_tracking_no", type_=a.c.tracking_no.type)),
               0)
        .select_from(advanced).where(bindparam("p_send_sms", type_=Boolean)),
        include_defaults=False).cte("sms")
    return Prepared(select(advanced.c.version).add_cte(history, sms, *then(advanced)))


ADVANCE = advancing()


class Advanced(NamedTuple):
    tracking_no: int
    status: ApplicationStatus
    version: int
    sms: bool  # an SMS to the applicant was queued


async def advance(connection: AsyncConnection, actor: Actor, app: Seen, step: Step, write: Prepared = ADVANCE, *,
                  note: str | None = None, routing_id: int | None = None, answered_now: int = 0,
                  **params) -> Advanced | None:
    """Write the step with `write` (a statement of `advancing`, taking `params`): the application's next
    status, the step's own rows, its history row and its SMS. `answered_now` is how many waiting routings the
    step answers. None if another step wrote first (nothing is written then)."""
    status = step.to or app.status
    if step.when_all_answered and app.open_routings - answered_now <= 0:
        status = step.when_all_answered
    send_sms = step.sms is not None and step.sms_when(app)
    row = await write.first(connection, {
        "p_application": app.id, "p_seen": app.version, "p_status": status, "p_action": step.event, "p_note": note,
        "p_actor": actor.user.id, "p_label": actor.label, "p_role": actor.role, "p_public": step.public,
        "p_routing": routing_id, "p_phone": app.phone, "p_template": step.sms, "p_name": app.applicant_name,
        "p_tracking_no": app.tracking_no, "p_send_sms": send_sms, **params})
    return None if row is None else Advanced(app.tracking_no, status, row[0], send_sms)


async def decide(connection: AsyncConnection, actor: Actor, action: Action, write: Prepared = ADVANCE, *,
                 tracking_no: int | None = None, routing_id: int | None = None,
                 expected_version: int | None = None, note: str | None = None, answered_now: int = 0,
                 **params) -> Advanced:
    """A step that the table alone decides, on the application by `tracking_no` or on the routing `routing_id`:
    `write` writes it with `note` and `params`."""
    async def attempt(app: Seen) -> Advanced | None:
        return await advance(connection, actor, app, step_for(app, action, actor.role), write, note=note,
                             routing_id=routing_id, answered_now=answered_now, **params)

    return await take(connection, actor, attempt, tracking_no=tracking_no, routing_id=routing_id,
                      expected_version=expected_version)
