"""The outbox dispatcher against an SMS gateway that does NOT de-duplicate: every request it takes is an SMS
on someone's phone. Leases, the pool of concurrent sends, per-send timeouts, code priority and expiry.

The tests run their own dispatchers, as several server processes would; the server runs none (had it one, its
first poll, at start, could take a test's messages)."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.outbox.support import dispatcher_factory, queue, received, rows, run_until_idle, wait_until

SETTINGS = {"outbox_in_server": False}


@pytest.fixture(autouse=True)
async def gateway_without_dedupe(world):
    await world.control("sms", dedupe=False, hang=[], down=False)
    yield
    await world.control("sms", dedupe=True, hang=[], down=False)
    await world.sql("DELETE FROM outbox_message")  # a test's leftover lease must not reach the next one


@pytest.fixture
async def make_dispatcher(world):
    async with dispatcher_factory(world) as make:
        yield make


async def statuses(world, phones: list[str]) -> set[str]:
    return {row["status"] for row in await rows(world, phones)}


async def test_concurrent_dispatchers_send_each_message_once(world, make_dispatcher):
    phones = [f"53500001{n:02d}" for n in range(40)]
    await queue(world, phones)
    await asyncio.gather(*(run_until_idle(make_dispatcher(concurrency=4)) for _ in range(4)))
    for phone in phones:
        assert len(await received(world, phone)) == 1, phone
    assert await statuses(world, phones) == {"SENT"}


async def test_the_gateway_gets_the_row_id_as_its_message_reference(world, make_dispatcher):
    [message_id] = await queue(world, ["5350000150"])
    await run_until_idle(make_dispatcher())
    [sms] = await received(world, "5350000150")
    assert sms["referans"] == f"outbox-{message_id}"


async def test_a_hung_message_does_not_hold_up_the_others(world, make_dispatcher):
    hung, other = "5350000200", "5350000201"
    await queue(world, [hung, other])  # the hung one first
    await world.control("sms", hang=["90" + hung])
    task = asyncio.create_task(make_dispatcher(send_timeout_seconds=60).dispatch_due())
    try:
        await wait_until(lambda: received(world, other), message="the other message")
        assert not task.done()  # the hung send is still waiting
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_dispatcher_claims_only_for_its_free_slots_and_refills_one_as_it_frees_up(world, make_dispatcher):
    hung, waiting = ["5350000220", "5350000221"], "5350000222"
    await queue(world, hung)
    await queue(world, [waiting])  # queued later: claimed after the hung ones
    await world.control("sms", hang=["90" + phone for phone in hung])
    dispatcher = make_dispatcher(concurrency=2, send_timeout_seconds=60)  # polls hourly: only a freed slot wakes it
    task = asyncio.create_task(dispatcher.run_forever())
    try:
        async def both_in_flight():
            return all(row["leased_until"] for row in await rows(world, hung))

        await wait_until(both_in_flight, message="the hung sends")
        [row] = await rows(world, [waiting])
        assert (row["leased_until"], row["attempts"]) == (None, 0)  # no slot was free for it
        await world.control("sms", hang=["90" + hung[1]])  # the first hung send is answered: its slot frees up
        await wait_until(lambda: received(world, waiting), message="the waiting message")
        await world.control("sms", hang=[])
        await wait_until(lambda: _all_sent(world, hung + [waiting]), message="every message sent")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    for phone in hung + [waiting]:
        assert len(await received(world, phone)) == 1, phone


async def test_a_hung_send_gives_up_after_its_timeout_and_is_tried_again(world, make_dispatcher):
    phone = "5350000250"
    await queue(world, [phone])
    await world.control("sms", hang=["90" + phone])
    dispatcher = make_dispatcher(send_timeout_seconds=0.3)
    assert await dispatcher.dispatch_due() == 1  # it returns although the gateway never answered
    [row] = await rows(world, [phone])
    assert (row["status"], row["attempts"], row["leased_until"]) == ("PENDING", 1, None)
    assert "0.3 s" in row["last_error"]
    assert row["next_attempt_at"] > datetime.now(UTC)
    await world.control("sms", hang=[])
    await world.sql("UPDATE outbox_message SET next_attempt_at = now() WHERE phone = $1", phone)
    assert await dispatcher.dispatch_due() == 1
    assert len(await received(world, phone)) == 1
    assert await statuses(world, [phone]) == {"SENT"}


async def test_a_dispatcher_that_dies_mid_batch_sends_nothing_twice(world, make_dispatcher):
    others, hung = ["5350000300", "5350000301"], "5350000302"
    await queue(world, others + [hung])  # a one-by-one dispatcher reaches the hung one last
    await world.control("sms", hang=["90" + hung])
    dying = make_dispatcher(send_timeout_seconds=60)
    task = asyncio.create_task(dying.dispatch_due())
    # each sent message is marked at once, not when the whole batch is done
    await wait_until(lambda: _all_sent(world, others), message="SENT marks of the answered messages")
    task.cancel()  # the process dies with the hung send in flight
    await asyncio.gather(task, return_exceptions=True)
    await world.control("sms", hang=[])
    [row] = await rows(world, [hung])
    assert row["status"] == "PENDING" and row["leased_until"] > datetime.now(UTC)

    successor = make_dispatcher()
    assert await successor.dispatch_due() == 0  # the dead dispatcher's lease still holds the message
    await world.sql("UPDATE outbox_message SET leased_until = now() - interval '1 second' WHERE phone = $1",
                    hung)  # time passes: the lease runs out
    assert await successor.dispatch_due() == 1
    for phone in others + [hung]:
        assert len(await received(world, phone)) == 1, phone
    assert await statuses(world, others + [hung]) == {"SENT"}


async def _all_sent(world, phones: list[str]) -> bool:
    return await statuses(world, phones) == {"SENT"}


async def test_one_time_codes_go_before_older_messages(world, make_dispatcher):
    notifications = [f"53500004{n:02d}" for n in range(5)]
    await queue(world, notifications)
    code_phone = "5350000410"
    await queue(world, [code_phone], template="onay_kodu", params={"kod": "123456", "dakika": 3},
                not_after=datetime.now(UTC) + timedelta(minutes=3))
    assert await make_dispatcher(concurrency=1).dispatch_due() == 1
    [sms] = await received(world, code_phone)
    assert sms["mesaj"].startswith("Açık Kapı onay kodunuz: 123456. Kod 3 dakika geçerlidir;")
    assert await statuses(world, notifications) == {"PENDING"}


async def test_an_expired_code_is_never_sent_and_loses_its_code(world, make_dispatcher):
    phone = "5350000500"
    await queue(world, [phone], template="onay_kodu", params={"kod": "654321", "dakika": 3},
                not_after=datetime.now(UTC) - timedelta(seconds=1))
    assert await make_dispatcher().dispatch_due() == 0
    [row] = await rows(world, [phone])
    assert (row["status"], row["attempts"]) == ("EXPIRED", 0)
    assert json.loads(row["params"]) == {"dakika": 3}
    assert await received(world, phone) == []
