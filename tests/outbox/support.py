"""Dispatchers run by the test itself against the module's database and SMS simulator, and the rows they work on."""

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime

import aiohttp

from acikkapi.db import make_engine, make_sessionmaker, to_asyncpg_url
from acikkapi.services.outbox import OutboxDispatcher, queue_sms
from acikkapi.services.sms import HttpSmsGateway


@asynccontextmanager
async def dispatcher_factory(world):
    """A maker of dispatchers like the server's, each as a separate server process would run one."""
    engine = make_engine(to_asyncpg_url(world.db_url), pool_size=5)
    http = aiohttp.ClientSession()  # no client timeout of its own: only the dispatcher's bounds a send

    def make(**options) -> OutboxDispatcher:
        return OutboxDispatcher(engine, HttpSmsGateway(world.sms_url, "ACIKKAPI", http),
                                **{"poll_seconds": 3600, "max_attempts": 5, "backoff_seconds": 60, **options})

    try:
        yield make
    finally:
        await http.close()
        await engine.dispose()


async def queue(world, phones: list[str], *, template: str = "takip_numarasi", params: dict | None = None,
                not_after: datetime | None = None) -> list[int]:
    """Queue one message per phone in one transaction, as a mutation would; their ids in order."""
    engine = make_engine(to_asyncpg_url(world.db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return [await queue_sms(session, phone=phone, template=template, not_after=not_after,
                                    params=params or {"ad": "AYŞE YILMAZ", "takip_no": 1000 + n})
                    for n, phone in enumerate(phones)]
    finally:
        await engine.dispose()


async def received(world, phone: str) -> list[dict]:
    """Every request the gateway took for `phone` (with de-duplication off, each one is a delivered SMS)."""
    response = await world.http.get(f"{world.sms_url}/sms/mesajlar", params={"alici": "90" + phone})
    return response.json()


async def rows(world, phones: list[str]) -> list:
    return await world.sql("SELECT * FROM outbox_message WHERE phone = ANY($1::text[]) ORDER BY id", phones)


async def wait_until(predicate, timeout: float = 10, message: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await predicate()):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {message}"
        await asyncio.sleep(0.02)
    return value


async def run_until_idle(dispatcher: OutboxDispatcher) -> None:
    """Dispatch batch after batch until a claim finds nothing."""
    while await dispatcher.dispatch_due():
        pass
