"""The office's decisions on an application (seed 000 §3.2.1–3.2.4, §5): its category rows, the directive's
flags, sending it for the MİA's approval, the MİA's evaluation, and closing it with the answer to the
citizen. Each is one step of services/workflow.py."""

from sqlalchemy import Integer, any_, bindparam, delete, insert, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import unnested
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


def _replace_categories(advanced):
    """The application's category rows replaced: the old ones deleted, the new ones inserted."""
    rows = unnested(_row, *_ROW_COLUMNS, prefix="p_")
    return [delete(_row).where(_row.c.application_id == advanced.c.id).cte("replaced"),
            insert(_row).from_select(["application_id", *_ROW_COLUMNS],
                                     select(advanced.c.id, *rows.c).select_from(advanced).join(rows, true()),
                                     include_defaults=False).cte("categories")]


_CATEGORIES = workflow.advancing(then=_replace_categories)
_FLAGS = workflow.advancing("is_special", "is_confidential", "priority_group")
_CLOSE = workflow.advancing("result", "answer")


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
async def update_categories(connection: AsyncConnection, actor: Actor, *, tracking_no: int, rows: list[CategoryRow],
                            expected_version: int | None = None) -> Advanced:
    """Güncelle: the AKS replaces the application's category rows (and nothing of the citizen's own data)."""
    values = [(position, row.category_id, row.subcategory_id, (row.description or "").strip() or None)
              for position, row in enumerate(rows, start=1)]
    columns = {f"p_{name}": list(column) for name, column in zip(_ROW_COLUMNS, zip(*values))}
    return await workflow.decide(connection, actor, Action.UPDATE_CATEGORIES, _CATEGORIES,
                                 tracking_no=tracking_no, expected_version=expected_version, **columns)


def _yes(flag: bool) -> str:
    return "Evet" if flag else "Hayır"


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def set_flags(connection: AsyncConnection, actor: Actor, *, tracking_no: int, is_special: bool,
                    is_confidential: bool, priority_group: PriorityGroup | None,
                    expected_version: int | None = None) -> Advanced:
    """The directive's flags: özellikli (to be seen by the MİA), gizli, and the applicant's priority group."""
    note = (f"Özellikli: {_yes(is_special)}, Gizli: {_yes(is_confidential)}, "
            f"Öncelikli grup: {priority_group.value if priority_group else 'Yok'}")
    return await workflow.decide(connection, actor, Action.SET_FLAGS, _FLAGS, tracking_no=tracking_no,
                                 expected_version=expected_version, note=note, p_is_special=is_special,
                                 p_is_confidential=is_confidential, p_priority_group=priority_group)


@raises(ConfirmationRequired)
def check_confirmed(confirm: bool) -> None:
    if confirm is not True:
        raise ConfirmationRequired(field="confirm")


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def send_to_mia(connection: AsyncConnection, actor: Actor, *, tracking_no: int, note: str | None,
                      expected_version: int | None = None) -> Advanced:
    """MİA Onayına Gönder (confirmed by the caller): the application waits for the MİA's evaluation."""
    return await workflow.decide(connection, actor, Action.SEND_TO_MIA, tracking_no=tracking_no,
                                 expected_version=expected_version, note=note)


@raises(NotFound, ConcurrentChange, TransitionNotAllowed, PermissionDenied)
async def review_as_mia(connection: AsyncConnection, actor: Actor, *, tracking_no: int, note: str,
                        expected_version: int | None = None) -> Advanced:
    """The MİA of the office evaluates an application sent for approval and returns it to the AKS with a note."""
    return await workflow.decide(connection, actor, Action.MIA_REVIEW, tracking_no=tracking_no,
                                 expected_version=expected_version, note=note)


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
async def close_application(connection: AsyncConnection, actor: Actor, *, tracking_no: int,
                            result: ApplicationResult, answer: str | None,
                            expected_version: int | None = None) -> Advanced:
    """İşlemi Kapat: the answer to the citizen and the result; the applicant is told by SMS. Final."""
    return await workflow.decide(connection, actor, Action.CLOSE, _CLOSE, tracking_no=tracking_no,
                                 expected_version=expected_version, note=f"Sonuç: {result.value}", p_result=result,
                                 p_answer=answer)
