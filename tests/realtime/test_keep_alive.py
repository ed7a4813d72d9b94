"""Keep-alive: the server pings; a client that answers stays, one that does not is closed."""

import asyncio
import json

import aiohttp
import pytest

from tests.helpers import AKS_ANKARA, staff_session
from tests.realtime.test_subscriptions import closing, subscribed

SETTINGS = {"ws_ping_seconds": 0.3}


async def test_a_client_that_answers_the_pings_stays_and_one_that_does_not_is_closed(world):
    token = await staff_session(world, AKS_ANKARA["tckn"])
    answering, silent = await subscribed(world, token), await subscribed(world, token)
    try:
        silent_frames = asyncio.create_task(_frames(silent.socket))
        with pytest.raises(TimeoutError):  # it answers each ping, and nothing else comes
            await asyncio.wait_for(answering.receive(), 1.5)
        assert await silent_frames == [{"type": "ping"}]
        assert silent.socket.close_code == 1001
        await answering.send({"type": "ping"})
        assert await answering.receive() == {"type": "pong"}
    finally:
        await closing(answering, silent)


async def _frames(socket: aiohttp.ClientWebSocketResponse) -> list[dict]:
    """What the server sends to a client that never answers, until it closes it."""
    frames = []
    while (message := await socket.receive(timeout=3)).type is aiohttp.WSMsgType.TEXT:
        frames.append(json.loads(message.data))
    return frames
