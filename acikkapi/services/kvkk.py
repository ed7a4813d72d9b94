"""The KVKK access log: every staff read of an applicant's personal data, recorded as it is served."""

from collections.abc import Collection

from sqlalchemy import Integer, Select, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from acikkapi.db import unnested
from acikkapi.models import KvkkAccessLog

_LOG = insert(KvkkAccessLog.__table__)


async def record_read(connection: AsyncConnection, *, user_id: int, application_id: int,
                      fields: Collection[str]) -> None:
    """One row: `user_id` read `fields` (GraphQL names) of the applicant of `application_id`, now."""
    await connection.execute(_LOG, {"user_id": user_id, "application_id": application_id, "fields": sorted(fields)})


_LOG_MANY = insert(KvkkAccessLog.__table__).from_select(
    ["user_id", "application_id", "fields"],
    select(bindparam("user_id", type_=Integer), unnested(KvkkAccessLog.__table__, "application_id").c.application_id,
           bindparam("fields", type_=KvkkAccessLog.__table__.c.fields.type)))


async def record_reads(connection: AsyncConnection, *, user_id: int, application_ids: Collection[int],
                       fields: Collection[str]) -> None:
    """One row per application of a list: `user_id` read `fields` of each applicant, now."""
    await connection.execute(_LOG_MANY, {"user_id": user_id, "application_id": list(application_ids),
                                         "fields": sorted(fields)})


async def record_reads_of(connection: AsyncConnection, ids: Select, params: dict, *, user_id: int,
                          fields: Collection[str]) -> None:
    """One row per application `ids` selects (an export's): `user_id` read `fields` of each applicant, now."""
    read = ids.subquery()
    await connection.execute(
        insert(KvkkAccessLog.__table__).from_select(
            ["user_id", "application_id", "fields"],
            select(bindparam("reader", type_=Integer), read.c.id,
                   bindparam("read_fields", type_=KvkkAccessLog.__table__.c.fields.type))),
        {**params, "reader": user_id, "read_fields": sorted(fields)})
