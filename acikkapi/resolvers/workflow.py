"""The staff workflow: the staff application view, a Yetkili's routings, and every step of the table
(services/workflow.py). Glue only: the role check, checks of the input, then the step in one transaction."""

from collections.abc import Collection
from datetime import UTC, datetime

from acikkapi.context import Context
from acikkapi.models import ApplicationResult, PriorityGroup, Routing
from acikkapi.permissions.actor import require_staff
from acikkapi.permissions.applications import PERSONAL_FIELDS, Scope, reads_personal_data, scope_of, scope_params
from acikkapi.services import applications, decisions, kvkk, routing, staff_view, workflow
from acikkapi.services.applications import CategoryRow, Upload
from acikkapi.services.checks import id_number
from acikkapi.services.errors import NotFound, PermissionDenied, ValidationFailed, raises
from acikkapi.services.staff_view import StaffView
from acikkapi.services.storage import settle_files
from acikkapi.services.workflow import Action, Advanced


def _staff_scope(context: Context) -> Scope:
    require_staff(context.actor)
    scope = scope_of(context.actor)
    if scope not in (Scope.PROVINCE, Scope.DISTRICT, Scope.UNITS):  # user admins and analysts have other screens
        raise PermissionDenied()
    return scope


async def staff_application(context: Context, tracking_no: int, selected: Collection[str]) -> StaffView:
    """The application as the actor's scope sees it. A read of the applicant's personal data (`selected`: the
    GraphQL fields asked for) by a role allowed to see it is recorded in the KVKK access log, once per
    application and field in a request."""
    actor = context.actor
    scope = _staff_scope(context)
    async with context.connection() as connection:
        view = await staff_view.staff_view(connection, scope, scope_params(actor), tracking_no, datetime.now(UTC))
        read = {(view.id, name) for name in PERSONAL_FIELDS if name in selected} - context.personal_reads
        if read and reads_personal_data(actor):
            context.personal_reads |= read  # before the await: aliases of this field run concurrently
            await kvkk.record_read(connection, user_id=actor.user.id, application_id=view.id,
                                   fields=[name for _, name in read])
    return view


def routing_number(routing_id: str) -> int:
    """A routing's id from its GraphQL ID; one that names no routing is not found."""
    number = id_number(routing_id, Routing.id)
    if number is None:
        raise NotFound("Yönlendirme bulunamadı.")
    return number


async def _take(context: Context, step, **arguments) -> Advanced:
    """The service's `step` on the request's pooled connection; the outbox is woken for its SMS."""
    async with context.connection() as connection:
        advanced = await step(connection, context.actor, **arguments)
    if advanced.sms:
        context.services.wake_outbox()
    return advanced


@raises(*workflow.ensure_may.raises, *decisions.check_category_rows.raises, *decisions.update_categories.raises)
async def update_categories(context: Context, *, tracking_no: int, rows: list[CategoryRow],
                            expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.UPDATE_CATEGORIES)
    async with context.connection() as connection:
        await decisions.check_category_rows(connection, rows)
    return await _take(context, decisions.update_categories, tracking_no=tracking_no, rows=rows,
                       expected_version=expected_version)


@raises(*workflow.ensure_may.raises, *decisions.set_flags.raises)
async def set_flags(context: Context, *, tracking_no: int, is_special: bool, is_confidential: bool,
                    priority_group: PriorityGroup | None, expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.SET_FLAGS)
    return await _take(context, decisions.set_flags, tracking_no=tracking_no, is_special=is_special,
                       is_confidential=is_confidential, priority_group=priority_group,
                       expected_version=expected_version)


@raises(*workflow.ensure_may.raises, *routing.check_unit_nos.raises, *routing.route_to_units.raises)
async def route(context: Context, *, tracking_no: int, unit_nos: list[int], expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.ROUTE)
    return await _take(context, routing.route_to_units, tracking_no=tracking_no,
                       unit_nos=routing.check_unit_nos(unit_nos), expected_version=expected_version)


@raises(*workflow.ensure_may.raises, ValidationFailed, NotFound, *applications.pending_files.raises,
        *routing.answer_routing.raises)
async def answer(context: Context, *, routing_id: str, text: str, files: list[Upload]) -> Advanced:
    """Başvuru Cevapla, with optional files under the citizen's upload rules: written to storage before the
    answer is, moved into place once it is (deleted if it was not)."""
    workflow.ensure_may(context.actor, Action.ANSWER)
    number = routing_number(routing_id)
    text = routing.check_answer(text)
    storage = context.services.storage
    async with applications.pending_files(storage, files, context.settings) as stored:
        advanced = await _take(context, routing.answer_routing, routing_id=number, answer=text, stored=stored)
        keys = [key for key, _ in stored]
        stored.clear()  # taken over: pending_files no longer deletes them
    await settle_files(storage, keys, committed=True)
    return advanced


@raises(*workflow.ensure_may.raises, ValidationFailed, NotFound, *routing.return_answer.raises)
async def return_answer(context: Context, *, routing_id: str, reason: str, expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.RETURN_ANSWER)
    return await _take(context, routing.return_answer, routing_id=routing_number(routing_id),
                       reason=routing.check_reason(reason), expected_version=expected_version)


@raises(*workflow.ensure_may.raises, *decisions.check_confirmed.raises, ValidationFailed,
        *decisions.send_to_mia.raises)
async def send_to_mia(context: Context, *, tracking_no: int, confirm: bool, note: str | None,
                      expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.SEND_TO_MIA)
    decisions.check_confirmed(confirm)
    return await _take(context, decisions.send_to_mia, tracking_no=tracking_no, note=decisions.check_note(note),
                       expected_version=expected_version)


@raises(*workflow.ensure_may.raises, ValidationFailed, *decisions.review_as_mia.raises)
async def review(context: Context, *, tracking_no: int, note: str, expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.MIA_REVIEW)
    return await _take(context, decisions.review_as_mia, tracking_no=tracking_no,
                       note=decisions.check_note(note, required=True), expected_version=expected_version)


@raises(*workflow.ensure_may.raises, *decisions.check_closing_answer.raises, *decisions.close_application.raises)
async def close(context: Context, *, tracking_no: int, result: ApplicationResult, answer: str | None,
                expected_version: int | None) -> Advanced:
    workflow.ensure_may(context.actor, Action.CLOSE)
    return await _take(context, decisions.close_application, tracking_no=tracking_no, result=result,
                       answer=decisions.check_closing_answer(result, answer), expected_version=expected_version)
