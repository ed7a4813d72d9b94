"""Yetki İşlemleri: importing the DETSİS directory. Glue only: the ministry's user admins; the file is read and
checked on its own outside any transaction, then checked against the database and applied in one."""

import asyncio
from typing import BinaryIO

from acikkapi.context import Context
from acikkapi.permissions.admin import national_admin
from acikkapi.services import detsis_import
from acikkapi.services.detsis_import import ImportReport
from acikkapi.services.errors import PermissionDenied, Unauthenticated, raises


@raises(Unauthenticated, PermissionDenied, *detsis_import.read_file.raises, *detsis_import.import_units.raises)
async def import_units(context: Context, *, file: BinaryIO, file_name: str | None) -> ImportReport:
    national_admin(context.actor)
    limit = context.settings.detsis_max_file_bytes
    data = await asyncio.to_thread(file.read, limit + 1)  # one byte more tells a file over the limit
    read = await asyncio.to_thread(detsis_import.read_file, data, name=file_name, max_bytes=limit)
    async with context.mutation() as session:
        return await detsis_import.import_units(await session.connection(), context.actor.user, read)
