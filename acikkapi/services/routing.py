"""İlgili Birime Yönlendir, Başvuru Cevapla and returning an answer (seed 000 §3.2.3, §4.1.1; seed 003): the steps
on routings. Each is one step of services/workflow.py: its own writes go into the step's statement."""

from datetime import UTC, datetime

from sqlalchemy import Integer, any_, bindparam, exists, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import unnested
from acikkapi.models import Application, Attachment, Routing, RoutingStatus, Unit
from acikkapi.permissions.actor import Actor
from acikkapi.permissions.applications import Scope, scope_of
from acikkapi.services import workflow
from acikkapi.services.business_days import due_date
from acikkapi.services.checks import fits
from acikkapi.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, raises
from acikkapi.services.applications import StoredFiles
from acikkapi.services.tckn import check_text
from acikkapi.services.workflow import (
    Action, Advanced, ConcurrentChange, ConfidentialNotRoutable, RoutingNotAnswered, RoutingNotOpen, Seen,
    TransitionNotAllowed,
)

MAX_UNITS = 10  # units in one routing step
MAX_ANSWER_LENGTH = 5000
MAX_REASON_LENGTH = 2000


class UnitAlreadyRouted(DomainError):
    """One of the units already has this application: each unit is routed an application once."""

    code = "UNIT_ALREADY_ROUTED"
    message = "Başvuru seçilen birime zaten yönlendirilmiş."


_routing, _attachment, _unit = Routing.__table__, Attachment.__table__, Unit.__table__
_requested, _routed = _unit.alias("requested"), _routing.alias("routed")
_application = Application.__table__


def _array(column, name: str):
    return bindparam(name, type_=ARRAY(column.type))


# The units asked for that are active: (DETSİS number, name, whether the application is routed to it already).
_UNITS = (select(func.array_agg(func.row(
    _requested.c.detsis_no, _requested.c.name,
    exists().where(_routed.c.application_id == _application.c.id, _routed.c.unit_no == _requested.c.detsis_no)
    .correlate(_application, _requested))))
    .where(_requested.c.detsis_no == any_(_array(_unit.c.detsis_no, "p_units")), _requested.c.active)
    .scalar_subquery().label("units"))
_READ_UNITS = {scope: workflow.reading(scope, by_routing=False, extra=(_UNITS,)) for scope in Scope}


def _routings(advanced):
    """New routings, one per unit."""
    units = func.unnest(_array(_routing.c.unit_no, "p_units")).table_valued("unit_no").render_derived()
    return [insert(_routing).from_select(
        ["application_id", "unit_no", "due_date", "created_by_id"],
        select(advanced.c.id, units.c.unit_no, bindparam("p_due", type_=_routing.c.due_date.type),
               bindparam("p_actor", type_=Integer)).select_from(advanced).join(units, true()),
        include_defaults=False).cte("routed")]


_FILE_COLUMNS = ("storage_key", "file_name", "content_type", "size", "sha256")


def _answer(advanced):
    """The routing's answer and its files."""
    answered = (update(_routing).where(_routing.c.id == bindparam("p_routing"),
                                       _routing.c.application_id == advanced.c.id)
                .values(status=RoutingStatus.ANSWERED, answer=bindparam("p_answer"),
                        answered_by_id=bindparam("p_actor"), answered_at=func.now(), version=_routing.c.version + 1)
                .returning(_routing.c.id, _routing.c.application_id).cte("answered"))
    files = unnested(_attachment, *_FILE_COLUMNS, prefix="p_")
    return [answered, insert(_attachment).from_select(
        ["application_id", "routing_id", "uploaded_by_id", *_FILE_COLUMNS],
        select(answered.c.application_id, answered.c.id, bindparam("p_actor", type_=Integer), *files.c)
        .select_from(answered).join(files, true()),
        include_defaults=False).cte("answer_files")]


def _return(advanced):
    """The routing back to its unit, with the reason."""
    return [update(_routing).where(_routing.c.id == bindparam("p_routing"), _routing.c.application_id == advanced.c.id)
            .values(status=RoutingStatus.RETURNED, return_reason=bindparam("p_reason"), version=_routing.c.version + 1)
            .cte("returned")]


_ROUTE, _ANSWER, _RETURN = (workflow.advancing(then=then) for then in (_routings, _answer, _return))


def _required_text(value: str, field: str, max_length: int, what: str) -> str:
    check_text(value, field)
    value = value.strip()
    if not value:
        raise ValidationFailed(f"{what} zorunludur.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{what} en fazla {max_length} karakter olabilir.", field=field)
    return value


@raises(ValidationFailed)
def check_unit_nos(unit_nos: list[int]) -> list[int]:
    """One to ten units, each named once, in the order given."""
    unit_nos = list(dict.fromkeys(unit_nos))
    if not 1 <= len(unit_nos) <= MAX_UNITS:
        raise ValidationFailed(f"En az bir, en fazla {MAX_UNITS} birim seçiniz.", field="unitNos")
    return unit_nos


@raises(NotFound, ConcurrentChange, ValidationFailed, TransitionNotAllowed, PermissionDenied,
        ConfidentialNotRoutable, UnitAlreadyRouted)
async def route_to_units(connection: AsyncConnection, actor: Actor, *, tracking_no: int, unit_nos: list[int],
                         expected_version: int | None = None) -> Advanced:
    """Route the application to the active units `unit_nos` (checked by `check_unit_nos`), each due in 7
    business days; the first routing tells the applicant by SMS."""
    async def attempt(app: Seen) -> Advanced | None:
        units = {no: (name, routed) for no, name, routed in app.units or ()}
        if len(units) < len(unit_nos):
            raise ValidationFailed("Seçilen birim bulunamadı veya kullanımda değil.", field="unitNos")
        step = workflow.step_for(app, Action.ROUTE, actor.role)
        if again := [units[no][0] for no in unit_nos if units[no][1]]:
            raise UnitAlreadyRouted(f"Başvuru şu birime zaten yönlendirilmiş: {', '.join(again)}.", field="unitNos")
        return await workflow.advance(connection, actor, app, step, _ROUTE, note=", ".join(
            units[no][0] for no in unit_nos), p_units=unit_nos, p_due=due_date(datetime.now(UTC)))

    fitting = [no for no in unit_nos if fits(no, Unit.detsis_no)]
    return await workflow.take(connection, actor, attempt, read=_READ_UNITS[scope_of(actor)], tracking_no=tracking_no,
                               expected_version=expected_version, p_units=fitting)


@raises(ValidationFailed)
def check_answer(text: str) -> str:
    return _required_text(text, "answer", MAX_ANSWER_LENGTH, "Cevap metni")


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied, RoutingNotOpen)
async def answer_routing(connection: AsyncConnection, actor: Actor, *, routing_id: int, answer: str,
                         stored: StoredFiles) -> Advanced:
    """A Yetkili answers their unit's routing (with files already in storage's pending area, `stored`); when no
    routing waits for an answer any more, the application is “Birim Tarafından Cevaplandı”. The caller moves
    the files into place once the answer is written."""
    files = [(key, info.file_name, info.content_type, info.size, info.sha256) for key, info in stored]
    columns = {f"p_{name}": list(values) for name, values in zip(_FILE_COLUMNS, zip(*files) if files else [()] * 5)}

    return await workflow.decide(connection, actor, Action.ANSWER, _ANSWER, routing_id=routing_id, note=answer,
                                 answered_now=1, p_answer=answer, **columns)


@raises(ValidationFailed)
def check_reason(reason: str) -> str:
    return _required_text(reason, "reason", MAX_REASON_LENGTH, "İade gerekçesi")


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied, RoutingNotAnswered)
async def return_answer(connection: AsyncConnection, actor: Actor, *, routing_id: int, reason: str,
                        expected_version: int | None = None) -> Advanced:
    """The AKS finds a unit's answer unsuitable and sends it back with `reason`: the unit answers again and
    the application waits for it."""
    return await workflow.decide(connection, actor, Action.RETURN_ANSWER, _RETURN, routing_id=routing_id,
                                 expected_version=expected_version, note=reason, p_reason=reason)
