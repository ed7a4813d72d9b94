"""The KVKK access log: every staff read of an applicant's personal data, recorded as it is served."""

from collections.abc import Collection

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.models import KvkkAccessLog

_LOG = insert(KvkkAccessLog.__table__)


async def record_read(connection: AsyncConnection, *, user_id: int, application_id: int,
                      fields: Collection[str]) -> None:
    """One row: `user_id` read `fields` (GraphQL names) of the applicant of `application_id`, now."""
    await connection.execute(_LOG, {"user_id": user_id, "application_id": application_id, "fields": sorted(fields)})
