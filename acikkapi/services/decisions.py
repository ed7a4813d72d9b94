"""The office's decisions on an application (seed 000 §3.2.1–3.2.4, §5): its category rows, the directive's
flags, sending it for the MİA's approval, the MİA's evaluation, and closing it with the answer to the
citizen. Each runs in its mutation's transaction through services/workflow.py."""

from sqlalchemy import Integer, any_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from acikkapi.models import ApplicationCategory, ApplicationResult, PriorityGroup, ServiceCategory
from acikkapi.permissions.actor import Actor
from acikkapi.services import workflow
from acikkapi.services.applications import CategoryRow, check_categories
from acikkapi.services.checks import fits
from acikkapi.services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, raises
from acikkapi.services.tckn import check_text
from acikkapi.services.workflow import (
    Action, Advanced, ConcurrentChange, MiaReviewRequired, TransitionNotAllowed,
)

MAX_NOTE_LENGTH = 2000
MAX_ANSWER_LENGTH = 5000
MIN_REASONED_ANSWER = 20  # a negative or partial result says why (and which body is responsible)


class ConfirmationRequired(DomainError):
    """Sending for the MİA's approval must be confirmed: the AKS can do nothing until it comes back."""

    code = "CONFIRMATION_REQUIRED"
    message = ("MİA onayına gönderildikten sonra başvuru üzerinde işlem yapılamayacaktır. "
               "İşleme devam etmek için onaylayınız.")


_row, _category = ApplicationCategory.__table__, ServiceCategory.__table__
_parent = _category.alias("parent")
_PAIRS = (select(_category.c.parent_id, _category.c.id).join(_parent, _parent.c.id == _category.c.parent_id)
          .where(_category.c.id == any_(bindparam("subcategories", type_=ARRAY(Integer))), _category.c.active,
                 _parent.c.active))
_ROW_COLUMNS = ("position", "category_id", "subcategory_id", "description")
_new_rows = func.unnest(*(bindparam(f"p_{name}", type_=ARRAY(_row.c[name].type)) for name in _ROW_COLUMNS)) \
    .table_valued(*_ROW_COLUMNS).render_derived()
# The rows replaced in one statement: the old ones deleted, the new ones inserted.
_REPLACE_CATEGORIES = insert(_row).from_select(
    ["application_id", *_ROW_COLUMNS], select(bindparam("p_application", type_=Integer), *_new_rows.c),
    include_defaults=False).add_cte(
    delete(_row).where(_row.c.application_id == bindparam("p_application", type_=Integer)).cte("replaced"))


def _optional_text(value: str | None, field: str, max_length: int, what: str) -> str | None:
    check_text(value, field)
    value = (value or "").strip() or None
    if value and len(value) > max_length:
        raise ValidationFailed(f"{what} en fazla {max_length} karakter olabilir.", field=field)
    return value


@raises(ValidationFailed)
def check_note(note: str | None, *, required: bool = False) -> str | None:
    note = _optional_text(note, "note", MAX_NOTE_LENGTH, "Açıklama")
    if required and not note:
        raise ValidationFailed("Açıklama zorunludur.", field="note")
    return note


@raises(ValidationFailed)
async def check_category_rows(connection: AsyncConnection, rows: list[CategoryRow]) -> None:
    """The new rows name active (Hizmet Başlığı, Hizmet Alt Başlığı) pairs; checked before the transaction."""
    for row in rows:
        check_text(row.description, "categories")
    subcategories = [row.subcategory_id for row in rows if fits(row.subcategory_id, ServiceCategory.id)]
    pairs = {tuple(pair) for pair in await connection.execute(_PAIRS, {"subcategories": subcategories})}
    check_categories(rows, pairs)


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def update_categories(session: AsyncSession, actor: Actor, *, tracking_no: int, rows: list[CategoryRow],
                            expected_version: int | None = None) -> Advanced:
    """Güncelle: the AKS replaces the application's category rows (and nothing of the citizen's own data)."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.UPDATE_CATEGORIES, actor.role)
    values = [(position, row.category_id, row.subcategory_id, (row.description or "").strip() or None)
              for position, row in enumerate(rows, start=1)]
    await session.execute(_REPLACE_CATEGORIES, {
        "p_application": app.id, **{f"p_{name}": list(column) for name, column in zip(_ROW_COLUMNS, zip(*values))}})
    return await workflow.advance(session, actor, app, step)


def _yes(flag: bool) -> str:
    return "Evet" if flag else "Hayır"


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def set_flags(session: AsyncSession, actor: Actor, *, tracking_no: int, is_special: bool,
                    is_confidential: bool, priority_group: PriorityGroup | None,
                    expected_version: int | None = None) -> Advanced:
    """The directive's flags: özellikli (to be seen by the MİA), gizli, and the applicant's priority group."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.SET_FLAGS, actor.role)
    note = (f"Özellikli: {_yes(is_special)}, Gizli: {_yes(is_confidential)}, "
            f"Öncelikli grup: {priority_group.value if priority_group else 'Yok'}")
    return await workflow.advance(session, actor, app, step, note=note, is_special=is_special,
                                  is_confidential=is_confidential, priority_group=priority_group)


@raises(ConfirmationRequired)
def check_confirmed(confirm: bool) -> None:
    if confirm is not True:
        raise ConfirmationRequired(field="confirm")


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def send_to_mia(session: AsyncSession, actor: Actor, *, tracking_no: int, note: str | None,
                      expected_version: int | None = None) -> Advanced:
    """MİA Onayına Gönder (confirmed by the caller): the application waits for the MİA's evaluation."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.SEND_TO_MIA, actor.role)
    return await workflow.advance(session, actor, app, step, note=note)


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def review_as_mia(session: AsyncSession, actor: Actor, *, tracking_no: int, note: str,
                        expected_version: int | None = None) -> Advanced:
    """The MİA of the office evaluates an application sent for approval and returns it to the AKS with a note."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.MIA_REVIEW, actor.role)
    return await workflow.advance(session, actor, app, step, note=note)


@raises(ValidationFailed)
def check_closing_answer(result: ApplicationResult, answer: str | None) -> str | None:
    """The answer to the citizen: for a negative or partial result it must say why, and where another body is
    responsible, which one: 20 to 5,000 characters. An Olumlu result may go without."""
    answer = _optional_text(answer, "answer", MAX_ANSWER_LENGTH, "Vatandaşa verilecek cevap")
    if result is not ApplicationResult.OLUMLU and len(answer or "") < MIN_REASONED_ANSWER:
        raise ValidationFailed(
            f"Olumsuz veya kısmen olumlu sonuçlarda vatandaşa gerekçeli bir cevap (en az {MIN_REASONED_ANSWER} "
            "karakter) yazılmalı; başka bir kurum yetkiliyse o kurum belirtilmelidir.", field="answer")
    return answer


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied, MiaReviewRequired)
async def close_application(session: AsyncSession, actor: Actor, *, tracking_no: int, result: ApplicationResult,
                            answer: str | None, expected_version: int | None = None) -> Advanced:
    """İşlemi Kapat: the answer to the citizen and the result; the applicant is told by SMS. Final."""
    app = await workflow.lock(session, actor, tracking_no=tracking_no, expected_version=expected_version)
    step = workflow.step_for(app, Action.CLOSE, actor.role)
    return await workflow.advance(session, actor, app, step, note=f"Sonuç: {result.value}", result=result,
                                  answer=answer)

