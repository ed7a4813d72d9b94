"""The per-request GraphQL context: settings, services, the client's address and the signed-in actor."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from acikkapi.permissions.actor import ANONYMOUS, Actor
from acikkapi.services.eicisleri import EIcisleri
from acikkapi.services.exports import ExportRunner
from acikkapi.services.identity import IdentityService
from acikkapi.services.reference_cache import ReferenceCache
from acikkapi.services.storage import Storage
from acikkapi.settings import Settings


@dataclass
class Services:
    settings: Settings
    sessionmaker: async_sessionmaker
    reads: AsyncEngine  # the same pool, in autocommit: a read needs no BEGIN and no ROLLBACK
    reference: ReferenceCache  # the server's copy of the reference data
    identity: IdentityService
    eicisleri: EIcisleri
    storage: Storage
    exports: ExportRunner  # Rapor Al's background jobs
    wake_outbox: Callable[[], None] = lambda: None  # a committed change may have queued messages


@dataclass
class Context:
    request: Request
    services: Services
    client_ip: str | None
    actor: Actor = ANONYMOUS
    # (application id, field) of the applicant's personal data already recorded as read in this request (KVKK)
    personal_reads: set[tuple[int, str]] = field(default_factory=set)
    # The compiled path's one pooled connection for the whole request (acikkapi/schema/compiled.py); its
    # operations call no outside service and open no ORM session.
    held: AsyncConnection | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @asynccontextmanager
    async def mutation(self) -> AsyncIterator[AsyncSession]:
        """One transaction per mutation field: commit on success, roll back on any error, except errors that
        must keep what they wrote (a used-up code try)."""
        assert self.held is None, "a compiled operation opens no transaction of its own"
        async with self.services.sessionmaker() as session:
            try:
                yield session
            except Exception as error:
                if getattr(error, "keep_changes", False):
                    await session.commit()
                else:
                    await session.rollback()
                raise
            await session.commit()
        self.services.wake_outbox()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """Reads in autocommit (each statement sees what is committed): a pooled connection only for the
        block, never across an outside call or while a client sends its body."""
        async with AsyncSession(self.held or self.services.reads, expire_on_commit=False, autoflush=False) as session:
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """Like `reading`, without an ORM session: for the hot reads and steps that run Core statements."""
        if self.held is not None:
            yield self.held
            return
        async with self.services.reads.connect() as connection:
            yield connection
