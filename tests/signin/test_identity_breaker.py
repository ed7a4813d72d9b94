"""The identity service's circuit breaker: after a run of failures, code requests are answered at once with
SERVICE_UNAVAILABLE without calling the service; after a pause one request tries it again."""

import asyncio

from tests.helpers import AYSE
from tests.signin.support import request_apply

SETTINGS = {"circuit_failures_to_open": 3, "circuit_open_seconds": 3.0, "http_timeout_seconds": 5}
PHONE = "5380000001"


async def timed_request(world) -> tuple[float, dict]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await request_apply(world, AYSE, PHONE)
    return loop.time() - started, result


def unavailable(result: dict) -> bool:
    return (result["__typename"], result.get("code")) == ("ServiceUnavailable", "SERVICE_UNAVAILABLE")


async def test_after_three_failures_requests_fail_at_once_without_calling_the_service_then_recover(world):
    try:
        await world.control("identity", down=True, delay=1.0)
        for _ in range(3):
            elapsed, result = await timed_request(world)
            assert unavailable(result), result
            assert elapsed >= 1.0  # the service was asked, and answered slowly that it is down
        # The service is back (and answers in 1 s): an open breaker does not ask it and answers at once.
        await world.control("identity", down=False)
        elapsed, result = await timed_request(world)
        assert unavailable(result), result
        assert elapsed < 0.8, elapsed
        # After the pause one request goes through, and the breaker closes.
        deadline = asyncio.get_running_loop().time() + 10
        while unavailable(result := (await timed_request(world))[1]):
            assert asyncio.get_running_loop().time() < deadline, "the breaker never closed again"
            await asyncio.sleep(0.1)
        assert result["__typename"] == "Challenge", result
        assert (await request_apply(world, AYSE, PHONE))["__typename"] == "Challenge"
    finally:
        await world.control("identity", down=False, delay=0)


async def test_answers_that_are_not_failures_keep_the_breaker_closed(world):
    for _ in range(4):  # more than the failures that would open it
        wrong = await request_apply(world, {**AYSE, "soyad": "BAŞKA"}, "5380000002")
        assert wrong["code"] == "IDENTITY_MISMATCH", wrong
    assert (await request_apply(world, AYSE, "5380000002"))["__typename"] == "Challenge"


async def test_requests_the_service_refuses_do_not_open_the_breaker_for_everyone(world):
    try:
        await world.control("identity", refuse=True)
        for _ in range(4):  # more than the failures that would open it
            assert unavailable(await request_apply(world, AYSE, "5380000003"))
    finally:
        await world.control("identity", refuse=False)
    assert (await request_apply(world, AYSE, "5380000003"))["__typename"] == "Challenge"
