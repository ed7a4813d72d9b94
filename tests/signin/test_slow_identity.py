"""A slow identity service delays only the code requests waiting for it: they hold no database connection and
no lock while they wait, so unrelated queries stay fast and requests from one address run side by side."""

import asyncio

from tests.helpers import AYSE, MEHMET
from tests.signin.support import request_apply

SETTINGS = {"http_timeout_seconds": 10}
DELAY = 3.0
FAST = 0.5


async def timed(awaitable) -> tuple[float, object]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await awaitable
    return loop.time() - started, result


async def test_twenty_waiting_code_requests_do_not_slow_an_unrelated_query(world):
    phones = [f"53700000{n:02d}" for n in range(20)]
    try:
        await world.control("identity", delay=DELAY)
        requests = asyncio.ensure_future(asyncio.gather(*(request_apply(world, AYSE, phone) for phone in phones)))
        timings = []
        while not requests.done():  # ask for the provinces again and again while the code requests wait
            elapsed, data = await timed(world.gql("{ provinces { id name } }"))
            assert len(data["provinces"]) == 81
            timings.append(elapsed)
            await asyncio.wait([requests], timeout=0.1)
        results = await requests
    finally:
        await world.control("identity", delay=0)
    assert [result["__typename"] for result in results] == ["Challenge"] * 20, results
    assert len(timings) >= 10, timings
    assert max(timings) < FAST, timings


async def test_two_requests_from_one_address_do_not_wait_for_each_other(world):
    address = world.new_address()
    try:
        await world.control("identity", delay=DELAY)
        elapsed, results = await timed(asyncio.gather(request_apply(world, AYSE, "5370000101", address=address),
                                                      request_apply(world, MEHMET, "5370000102", address=address)))
    finally:
        await world.control("identity", delay=0)
    assert [result["__typename"] for result in results] == ["Challenge"] * 2, results
    assert DELAY <= elapsed < 1.5 * DELAY, elapsed
