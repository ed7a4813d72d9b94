"""The SMS outbox: a gateway outage delays the tracking-number SMS but never loses or repeats it."""

import asyncio
import json

from tests.applications.support import wait_for_tracking_sms
from tests.helpers import AYSE, ZEYNEP, sign_in_to_apply, submit


async def outbox_rows(world, phone: str) -> list:
    """The tracking-number messages to `phone` (the sign-in code went to the same phone before)."""
    return await world.sql("SELECT * FROM outbox_message WHERE phone = $1 AND template = 'takip_numarasi' "
                           "ORDER BY id", phone)


async def wait_until(predicate, timeout: float = 10, message: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {message}"
        await asyncio.sleep(0.05)


async def held_rows(world, phone: str, attempts: int = 1) -> list:
    """The PENDING rows to `phone` once each has failed at least `attempts` times."""
    async def check():
        rows = await outbox_rows(world, phone)
        return rows if rows and all(r["attempts"] >= attempts and r["last_error"] for r in rows) else None
    return await wait_until(check, message=f"failed attempts on the outbox rows to {phone}")


async def test_a_submission_succeeds_while_the_sms_gateway_is_down(world):
    phone = "5330000501"
    token = await sign_in_to_apply(world, AYSE, phone)
    try:
        await world.control("sms", down=True)
        result = await submit(world, token, phone)
        assert result["__typename"] == "SubmitApplicationSuccess", result
        [row] = await held_rows(world, phone, attempts=2)
        assert row["status"] == "PENDING"
        assert row["attempts"] >= 2
        assert "503" in row["last_error"]
        assert row["sent_at"] is None
        assert (row["template"], json.loads(row["params"])["takip_no"]) == ("takip_numarasi", result["trackingNo"])
        assert len(await world.sms_to(phone)) == 1  # the sign-in code only
        # the application itself is registered
        rows = await world.sql("SELECT status FROM application WHERE tracking_no = $1", result["trackingNo"])
        assert [r["status"] for r in rows] == ["HAVUZDA"]
    finally:
        await world.control("sms", down=False)


async def test_the_held_sms_arrives_once_the_gateway_is_back(world):
    phone = "5330000503"
    token = await sign_in_to_apply(world, AYSE, phone)
    try:
        await world.control("sms", down=True)
        result = await submit(world, token, phone)
        assert result["__typename"] == "SubmitApplicationSuccess", result
        [held] = await held_rows(world, phone)
        assert held["status"] == "PENDING"
        await world.control("sms", down=False)
        await world.sql("UPDATE outbox_message SET next_attempt_at = now() WHERE phone = $1 AND status = 'PENDING'",
                        phone)
        message = await wait_for_tracking_sms(world, phone, result["trackingNo"])
        assert message.startswith("Sayın AYŞE YILMAZ, Açık Kapı üzerinden yapmış olduğunuz başvuruya ait "
                                  f"takip numarası: {result['trackingNo']}.")
        [row] = await wait_until(
            lambda: _all_sent(world, phone), message=f"SENT status of the outbox row to {phone}")
        assert row["id"] == held["id"]
        assert row["sent_at"] is not None
        assert row["attempts"] > held["attempts"]
    finally:
        await world.control("sms", down=False)


async def _all_sent(world, phone: str):
    rows = await outbox_rows(world, phone)
    return rows if rows and all(r["status"] == "SENT" for r in rows) else None


async def test_each_held_message_is_delivered_exactly_once(world):
    people = [(AYSE, "5330000505"), (ZEYNEP, "5330000507"), (AYSE, "5330000509")]
    tokens = [await sign_in_to_apply(world, person, phone) for person, phone in people]
    codes_before = {phone: len(await world.sms_to(phone)) for _, phone in people}
    try:
        await world.control("sms", down=True)
        tracking = {}
        for token, (_, phone) in zip(tokens, people):
            result = await submit(world, token, phone)
            assert result["__typename"] == "SubmitApplicationSuccess", result
            tracking[phone] = result["trackingNo"]
        for phone in tracking:
            await held_rows(world, phone, attempts=2)
            assert len(await world.sms_to(phone)) == codes_before[phone]
        await world.control("sms", down=False)
        # no nudging: the dispatcher's own backoff brings them out
        for phone, tracking_no in tracking.items():
            await wait_for_tracking_sms(world, phone, tracking_no, timeout=15)
        for phone in tracking:
            await wait_until(lambda: _all_sent(world, phone), message=f"SENT rows to {phone}")
        await world.drain_outbox()  # a duplicate would have been sent by now
        for phone, tracking_no in tracking.items():
            messages = await world.sms_to(phone)
            assert len(messages) == codes_before[phone] + 1, messages
            assert f"takip numarası: {tracking_no}." in messages[-1]
            assert len(await outbox_rows(world, phone)) == 1
    finally:
        await world.control("sms", down=False)
