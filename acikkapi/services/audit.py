"""The audit log of Yetki İşlemleri: every change an admin makes (users, service categories, DETSİS units) is
written in the same transaction as the change, with who made it and the changed fields before → after.
The table is append-only (migration 0014)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.models import AuditAction, AuditEntity, AuditEvent, User
from acikkapi.services.search import decode_cursor, encode_cursor

_event = AuditEvent.__table__


def changed(before: Mapping, after: Mapping) -> tuple[dict, dict]:
    """The fields whose value differs, as (before, after)."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def event_values(actor: User, entity: AuditEntity, entity_id: object, action: AuditAction, *,
                 province_id: int | None, before: Mapping | None = None, after: Mapping | None = None) -> dict:
    """One row of the log; JSON values only in `before` and `after`."""
    return {"actor_id": actor.id, "actor_label": f"{actor.full_name} ({actor.role.value})",
            "actor_role": actor.role, "entity": entity, "entity_id": str(entity_id), "action": action,
            "province_id": province_id, "before": before, "after": after}


async def record(connection, actor: User, entity: AuditEntity, entity_id: object, action: AuditAction, *,
                 province_id: int | None, before: Mapping | None = None, after: Mapping | None = None) -> None:
    """Write one change in the caller's transaction (a connection or an ORM session)."""
    await connection.execute(insert(_event), [event_values(actor, entity, entity_id, action, province_id=province_id,
                                                           before=before, after=after)])


@dataclass(frozen=True)
class AuditFilter:
    entity: AuditEntity | None = None
    entity_id: str | None = None
    action: AuditAction | None = None
    actor_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None  # excluded


@dataclass(frozen=True)
class AuditPage:
    events: list
    cursors: list[str]
    has_next: bool
    total: int


async def audit_page(connection: AsyncConnection, province_id: int | None, f: AuditFilter, *, first: int,
                     after: str | None) -> AuditPage:
    """The events of a province (`province_id`; None: every event, for the ministry's admins) that meet `f`,
    newest first, with how many meet it."""
    conditions = [] if province_id is None else [_event.c.province_id == province_id]
    for column, value in ((_event.c.entity, f.entity), (_event.c.entity_id, f.entity_id),
                          (_event.c.action, f.action), (_event.c.actor_id, f.actor_id)):
        if value is not None:
            conditions.append(column == value)
    if f.since is not None:
        conditions.append(_event.c.created_at >= f.since)
    if f.until is not None:
        conditions.append(_event.c.created_at < f.until)
    total = (await connection.execute(select(func.count()).select_from(_event).where(*conditions))).scalar_one()
    statement = select(_event).where(*conditions).order_by(_event.c.id.desc()).limit(first + 1)
    if after is not None:
        statement = statement.where(_event.c.id < decode_cursor(after, "e", 1)[0])
    rows = (await connection.execute(statement)).all()
    events = rows[:first]
    return AuditPage(events, [encode_cursor("e", row.id) for row in events], len(rows) > first, total)
