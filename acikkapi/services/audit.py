"""The audit log of Yetki İşlemleri: every change an admin makes (users, service categories, DETSİS units) is
written in the same transaction as the change, with who made it and the changed fields before → after.
The table is append-only (migration 0014)."""

from collections.abc import Mapping

from sqlalchemy import insert

from acikkapi.models import AuditAction, AuditEntity, AuditEvent, User

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
