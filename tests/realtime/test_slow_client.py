"""A client that does not read its notices is closed once its queue is full; the others get every notice."""

import asyncio

import aiohttp
import asyncpg

from tests.helpers import AKS_ANKARA, staff_session
from tests.realtime.test_subscriptions import closing, subscribed
from tests.workflow.support import register

SETTINGS = {"ws_queue_frames": 64, "staff_identity_lookups_per_hour": 1000, "max_aliases": 100}
# The slow client asks for big notices (the actor's label 60 times over, ~3 kB each): they fill the sockets'
# buffers, which would otherwise hold megabytes on its behalf.
BIG = "subscription { applicationEvents { %s } }" % " ".join(f"a{i}: actorLabel" for i in range(60))
STEPS, PER_STATEMENT = 6000, 20  # a few MB of notices, more than the sockets' buffers hold, in small bursts


async def test_a_slow_client_is_closed_and_never_stalls_the_others(world):
    token = await staff_session(world, AKS_ANKARA["tckn"])
    tracking_no = await register(world, token)
    fast, slow = await subscribed(world, token), await subscribed(world, token, query=BIG)
    try:
        heard = asyncio.create_task(_count(fast, STEPS))
        writer = await asyncpg.connect(world.db_url)
        try:
            for _ in range(STEPS // PER_STATEMENT):  # history rows of many steps, as many workers would write
                await writer.execute(
                    "INSERT INTO application_event (application_id, action, status, actor_label, actor_role) "
                    "SELECT id, 'FLAGS_SET', status, 'Elif Arslan (AKS)', 'AKS' FROM application, "
                    "generate_series(1, $2) WHERE tracking_no = $1", tracking_no, PER_STATEMENT)
        finally:
            await writer.close()
        assert await asyncio.wait_for(heard, 60) == STEPS
        closed = await slow.socket.receive(timeout=10)
        while closed.type is aiohttp.WSMsgType.TEXT:  # what was on its way before the close
            closed = await slow.socket.receive(timeout=10)
        assert slow.socket.close_code == 1013
    finally:
        await closing(fast, slow)


async def _count(client, expected: int) -> int:
    heard = 0
    while heard < expected:
        await client.next(timeout=30)
        heard += 1
    return heard
