"""İlgili Birime Yönlendir, Başvuru Cevapla and returning an answer (seed 000 §3.2.3, §4.1.1; seed 003): the steps
on routings. Each runs in its mutation's transaction through services/workflow.py."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Integer, any_, bindparam, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from acikkapi.models import Attachment, Routing, RoutingStatus, Unit
from acikkapi.permissions.actor import Actor
from acikkapi.services import workflow
from acikkapi.services.business_days import due_date
from acikkapi.services.checks import fits
from acikkapi.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, raises
from acikkapi.services.applications import StoredFiles
from acikkapi.services.tckn import check_text
from acikkapi.services.workflow import (
    Action, Advanced, ConcurrentChange, ConfidentialNotRoutable, RoutingNotAnswered, RoutingNotOpen,
    TransitionNotAllowed,
)

MAX_UNITS = 10  # units in one routing step
MAX_ANSWER_LENGTH = 5000
MAX_REASON_LENGTH = 2000


class UnitAlreadyRouted(DomainError):
    """One of the units already has this application: each unit is routed an application once."""

    code = "UNIT_ALREADY_ROUTED"
    message = "Başvuru seçilen birime zaten yönlendirilmiş."


@dataclass(frozen=True)
class UnitRef:
    detsis_no: int
    name: str


_routing, _attachment, _unit = Routing.__table__, Attachment.__table__, Unit.__table__
_UNITS = select(_unit.c.detsis_no, _unit.c.name).where(
    _unit.c.detsis_no == any_(bindparam("unit_nos", type_=ARRAY(Integer))), _unit.c.active)


def _array(column, name: str):
    return bindparam(name, type_=ARRAY(column.type))


# New routings, one per unit; a unit that has the application already makes no row (and the step is refused).
_NEW_UNITS = func.unnest(_array(_routing.c.unit_no, "p_units")).table_valued("unit_no").render_derived()
_ROUTE = (
    pg_insert(_routing).from_select(
        ["application_id", "unit_no", "due_date", "created_by_id"],
        select(bindparam("p_application", type_=Integer), _NEW_UNITS.c.unit_no,
               bindparam("p_due", type_=_routing.c.due_date.type), bindparam("p_user", type_=Integer)),
        include_defaults=False)
    .on_conflict_do_nothing(index_elements=["application_id", "unit_no"])
    .returning(_routing.c.unit_no))

# The answer and its files, in one statement. Parameters are prefixed (see workflow._advancing).
_answered = (update(_routing).where(_routing.c.id == bindparam("p_routing"))
             .values(status=RoutingStatus.ANSWERED, answer=bindparam("p_answer"), answered_by_id=bindparam("p_user"),
                     answered_at=func.now(), version=_routing.c.version + 1)
             .returning(_routing.c.id, _routing.c.application_id).cte("answered"))
_FILE_COLUMNS = ("storage_key", "file_name", "content_type", "size", "sha256")
_files = func.unnest(*(_array(_attachment.c[name], f"p_{name}") for name in _FILE_COLUMNS)) \
    .table_valued(*_FILE_COLUMNS).render_derived()
_ANSWER = select(_answered.c.id).add_cte(insert(_attachment).from_select(
    ["application_id", "routing_id", "uploaded_by_id", *_FILE_COLUMNS],
    select(_answered.c.application_id, _answered.c.id, bindparam("p_user", type_=Integer), *_files.c)
    .select_from(_answered).join(_files, true()),
    include_defaults=False).cte("answer_files"))
_RETURN = (update(_routing).where(_routing.c.id == bindparam("p_routing"))
           .values(status=RoutingStatus.RETURNED, return_reason=bindparam("p_reason"),
                   version=_routing.c.version + 1))


def _required_text(value: str, field: str, max_length: int, what: str) -> str:
    check_text(value, field)
    value = value.strip()
    if not value:
        raise ValidationFailed(f"{what} zorunludur.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{what} en fazla {max_length} karakter olabilir.", field=field)
    return value


@raises(ValidationFailed)
async def find_units(connection: AsyncConnection, unit_nos: list[int]) -> list[UnitRef]:
    """The active units to route to, in the order given; checked before the transaction opens."""
    unit_nos = list(dict.fromkeys(unit_nos))
    if not 1 <= len(unit_nos) <= MAX_UNITS:
        raise ValidationFailed(f"En az bir, en fazla {MAX_UNITS} birim seçiniz.", field="unitNos")
    found = {} if not all(fits(no, Unit.detsis_no) for no in unit_nos) else {
        row.detsis_no: UnitRef(*row) for row in await connection.execute(_UNITS, {"unit_nos": unit_nos})}
    if len(found) < len(unit_nos):
        raise ValidationFailed("Seçilen birim bulunamadı veya kullanımda değil.", field="unitNos")
    return [found[no] for no in unit_nos]


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied, ConfidentialNotRoutable,
        UnitAlreadyRouted)
async def route_to_units(session: AsyncSession, actor: Actor, *, tracking_no: int, units: list[UnitRef],
                         expected_version: int | None = None) -> Advanced:
    """Route the application to `units`, each due in 7 business days; the first routing tells the applicant by
    SMS."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.ROUTE, actor.role)
    made = (await session.execute(_ROUTE, {
        "p_application": app.id, "p_units": [unit.detsis_no for unit in units], "p_user": actor.user.id,
        "p_due": due_date(datetime.now(UTC))})).scalars().all()
    if len(made) < len(units):
        again = ", ".join(unit.name for unit in units if unit.detsis_no not in set(made))
        raise UnitAlreadyRouted(f"Başvuru şu birime zaten yönlendirilmiş: {again}.", field="unitNos")
    return await workflow.advance(session, actor, app, step, note=", ".join(unit.name for unit in units))


@raises(ValidationFailed)
def check_answer(text: str) -> str:
    return _required_text(text, "answer", MAX_ANSWER_LENGTH, "Cevap metni")


@raises(NotFound, TransitionNotAllowed, PermissionDenied, RoutingNotOpen)
async def answer_routing(session: AsyncSession, actor: Actor, *, routing_id: int, answer: str,
                         stored: StoredFiles) -> Advanced:
    """A Yetkili answers their unit's routing (with files already in storage's pending area, `stored`); when no
    routing waits for an answer any more, the application is “Birim Tarafından Cevaplandı”. The caller moves
    the files into place once the transaction has committed."""
    app = await workflow.lock(session, actor, routing_id=routing_id)
    step = workflow.step_for(app, Action.ANSWER, actor.role)
    files = [(key, info.file_name, info.content_type, info.size, info.sha256) for key, info in stored]
    await session.execute(_ANSWER, {
        "p_routing": routing_id, "p_answer": answer, "p_user": actor.user.id,
        **{f"p_{name}": list(values) for name, values in zip(_FILE_COLUMNS, zip(*files) if files else [()] * 5)}})
    return await workflow.advance(session, actor, app, step, note=answer, routing_id=routing_id, answered_now=1)


@raises(ValidationFailed)
def check_reason(reason: str) -> str:
    return _required_text(reason, "reason", MAX_REASON_LENGTH, "İade gerekçesi")


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied, RoutingNotAnswered)
async def return_answer(session: AsyncSession, actor: Actor, *, routing_id: int, reason: str,
                        expected_version: int | None = None) -> Advanced:
    """The AKS finds a unit's answer unsuitable and sends it back with `reason`: the unit answers again and
    the application waits for it."""
    app = await workflow.lock(session, actor, routing_id=routing_id, expected_version=expected_version)
    step = workflow.step_for(app, Action.RETURN_ANSWER, actor.role)
    await session.execute(_RETURN, {"p_routing": routing_id, "p_reason": reason})
    return await workflow.advance(session, actor, app, step, note=reason, routing_id=routing_id)

