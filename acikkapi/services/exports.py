"""Rapor Al (seed 000 §3.2, §5.1): the current search as an Excel workbook, written by a background job, with no
row cap.

A mutation records the job (QUEUED) and hands it to its server's runner. In one repeatable-read transaction the
job counts the rows, records the KVKK reads of the T.C. numbers it will write, and streams the rows from a
server-side cursor into the workbook (services/workbook.py, in a worker thread), reporting its progress on
the side; so the total, the log and the file agree, and the log commits only with a finished file. The file
is written in the pending area and moved into place once the job is DONE; it goes with its job after
`export_keep_hours`. A job whose process died stops moving: the retention sweep marks it FAILED.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from acikkapi.models import (
    ApplicationKind, ApplicationResult, ApplicationStatus, Channel, ExportJob, ExportStatus,
)
from acikkapi.permissions.applications import Scope
from acikkapi.services import kvkk, search
from acikkapi.services.errors import DomainError
from acikkapi.services.search import Filter
from acikkapi.services.storage import FileSystemStorage
from acikkapi.services.workbook import Column, ColumnKind, write_workbook_from_batches
from acikkapi.settings import Settings

log = logging.getLogger(__name__)
BATCH_ROWS = 1000
SHEET = "Başvurular"
COLUMNS = (
    Column("Başvuru Takip No", ColumnKind.INTEGER, 12),
    Column("Başvuru Kayıt Tarihi", ColumnKind.DATETIME, 17),
    Column("Başvuru Türü", ColumnKind.TEXT, 12),
    Column("Başvuru Kanalı", ColumnKind.TEXT, 10),
    Column("Başvuran T.C. Kimlik No", ColumnKind.TEXT, 14),
    Column("Başvuran Ad Soyad", ColumnKind.TEXT, 24),
    Column("Hizmet Başlıkları", ColumnKind.TEXT, 40),
    Column("Başvuru Konusu", ColumnKind.TEXT, 60),
    Column("Yönlendirilen Birimler", ColumnKind.TEXT, 40),
    Column("Birime Geliş Tarihi", ColumnKind.DATETIME, 17),
    Column("Son Cevap Verme Tarihi", ColumnKind.DATE, 12),
    Column("Başvuru Durumu", ColumnKind.TEXT, 36),
    Column("Sonuç", ColumnKind.TEXT, 14),
)
PERSONAL_COLUMNS = ("tcKimlikNo",)  # the KVKK log's name for what the T.C. column shows
STALE_AFTER = timedelta(minutes=15)  # a waiting or running job this long without a move has died


class ExportLimitReached(DomainError):
    code = "EXPORT_LIMIT_REACHED"
    message = "Hazırlanmakta olan raporlarınız bitmeden yeni rapor istenemez; lütfen biraz sonra tekrar deneyiniz."


class ExportSource(Protocol):
    """What a job writes: one sheet of `columns`."""

    sheet: str
    columns: Sequence[Column]

    async def prepare(self, connection: AsyncConnection, user_id: int) -> int:
        """In the export's transaction, before the rows: how many there will be (and any record of the read)."""

    def batches(self, connection: AsyncConnection) -> AsyncIterator[list[tuple]]:
        """The rows, a batch at a time, in the same transaction."""


@dataclass(frozen=True)
class ApplicationExport:
    """The search of a `scope`, masked as the reader sees it."""

    scope: Scope
    params: dict
    filter: Filter
    personal: bool  # the reader sees the applicant's T.C. Kimlik No (and an ihbar's name)
    now: datetime
    sheet = SHEET
    columns = COLUMNS

    async def prepare(self, connection: AsyncConnection, user_id: int) -> int:
        total = await search.count_applications_in(connection, self.scope, self.params, self.filter, now=self.now)
        if self.personal:  # the KVKK log of the T.C. numbers the file will show
            ids, values = search.ids_of(self.scope, self.filter, self.now)
            await kvkk.record_reads_of(connection, ids, {**self.params, **values}, user_id=user_id,
                                       fields=PERSONAL_COLUMNS)
        return total

    async def batches(self, connection: AsyncConnection) -> AsyncIterator[list[tuple]]:
        async for batch in search.export_rows(connection, self.scope, self.params, self.filter, now=self.now,
                                              batch=BATCH_ROWS):
            yield [row_of(record, self.personal) for record in batch]


@dataclass(frozen=True)
class ExportRequest:
    job_id: uuid.UUID
    user_id: int
    source: ExportSource


_job = ExportJob.__table__
_unfinished = _job.c.status.in_([ExportStatus.QUEUED, ExportStatus.RUNNING])
_CREATE = (
    insert(_job).from_select(
        ["user_id", "file_name"],
        select(bindparam("user_id"), bindparam("file_name")).where(
            select(func.count()).where(_job.c.user_id == bindparam("user_id"), _unfinished).scalar_subquery()
            < bindparam("limit")))
    .returning(_job.c.id))


async def create_job(connection: AsyncConnection, settings: Settings, *, user_id: int, file_name: str) -> uuid.UUID:
    """A new QUEUED job of `user_id`, unless they already have `max_unfinished_exports` waiting or running."""
    job_id = (await connection.execute(_CREATE, {"user_id": user_id, "file_name": file_name,
                                                 "limit": settings.max_unfinished_exports})).scalar()
    if job_id is None:
        raise ExportLimitReached()
    return job_id


def file_name(now: datetime, stem: str = "basvurular") -> str:
    return f"{stem}-{search.today_in_istanbul(now).isoformat()}.xlsx"


_LABELS = {kind.name: kind.value for enum in (ApplicationKind, Channel, ApplicationStatus, ApplicationResult)
           for kind in enum}  # the names are distinct across the four


def row_of(record: Sequence, personal: bool) -> tuple:
    """The workbook's row of a record of `search.export_rows`, masked: the T.C. Kimlik No for `personal`
    readers only, an ihbar's name too."""
    (tracking_no, created_at, kind, channel, tckn, first_name, last_name, categories, subject, units, arrival, due,
     status, result) = record
    identity = personal or kind != _IHBAR
    return (tracking_no, created_at, _LABELS[kind], _LABELS[channel], tckn if personal else None,
            f"{first_name} {last_name}" if identity else None, categories, subject, units, arrival, due,
            _LABELS[status], _LABELS[result] if result else None)


_IHBAR = ApplicationKind.IHBAR.name


class ExportRunner:
    """Runs this server's export jobs, `max_concurrent_exports` at a time."""

    def __init__(self, engine: AsyncEngine, storage: FileSystemStorage, settings: Settings) -> None:
        self.engine = engine
        self.autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.storage = storage
        self.settings = settings
        self.slots = asyncio.Semaphore(settings.max_concurrent_exports)
        self.tasks: set[asyncio.Task] = set()

    def submit(self, request: ExportRequest) -> None:
        task = asyncio.create_task(self._run(request), name=f"export {request.job_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        """At shutdown: the jobs still running fail (their users ask again)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _run(self, request: ExportRequest) -> None:
        try:
            async with self.slots:
                await self._export(request)
        except BaseException as error:
            if not isinstance(error, asyncio.CancelledError):
                log.exception("export %s failed", request.job_id)
            await self._set(request.job_id, **_ended(self.settings, ExportStatus.FAILED))
            if isinstance(error, asyncio.CancelledError):
                raise

    async def _set(self, job_id: uuid.UUID, **values) -> None:
        async with self.autocommit.connect() as connection:
            await connection.execute(update(_job).where(_job.c.id == job_id).values({"updated_at": func.now(),
                                                                                      **values}))

    async def _export(self, r: ExportRequest) -> None:
        key, path = self.storage.new_pending()
        written = 0

        def progress(rows: int) -> None:
            nonlocal written
            written = rows

        async def batches(connection):
            reported = time.monotonic()
            async for batch in r.source.batches(connection):
                yield batch
                if time.monotonic() - reported >= self.settings.export_progress_seconds:
                    reported = time.monotonic()
                    await self._set(r.job_id, rows_written=written)

        try:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="REPEATABLE READ")
                total = await r.source.prepare(connection, r.user_id)
                await self._set(r.job_id, status=ExportStatus.RUNNING, rows_total=total)
                rows = await write_workbook_from_batches(path, r.source.sheet, r.source.columns,
                                                         batches(connection), progress=progress)
                await connection.commit()
        except BaseException:
            await self.storage.delete(key)
            raise
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        await self._set(r.job_id, rows_written=rows, storage_key=key, file_size=size,
                        **_ended(self.settings, ExportStatus.DONE))
        await self.storage.promote(key)


async def job_of(connection: AsyncConnection, job_id: uuid.UUID, user_id: int):
    """The job, if it is `user_id`'s (anyone else's is not found)."""
    statement = select(_job).where(_job.c.id == job_id, _job.c.user_id == user_id)
    return (await connection.execute(statement)).first()


async def sweep(connection: AsyncConnection, storage: FileSystemStorage, settings: Settings) -> int:
    """Jobs that stopped moving fail; expired jobs go with their files. Returns how many went."""
    await connection.execute(update(_job).where(_unfinished, _job.c.updated_at < func.now() - STALE_AFTER)
                             .values(_ended(settings, ExportStatus.FAILED)))
    keys = (await connection.execute(_job.delete().where(_job.c.expires_at < func.now())
                                     .returning(_job.c.storage_key))).scalars().all()
    for key in filter(None, keys):
        await storage.delete(key)
    return len(keys)


def _ended(settings: Settings, status: ExportStatus) -> dict:
    """A job's end: its row (and file) kept `export_keep_hours` from now."""
    return {"status": status, "finished_at": func.now(), "updated_at": func.now(),
            "expires_at": func.now() + timedelta(hours=settings.export_keep_hours)}
