"""The SMS gateway's circuit breaker: after a run of gateway failures the outbox's sends fail at once without
asking the gateway (each message keeps its retry and backoff); after the pause one send tries it again.

The messages' backoff is long here: the test itself says when a retry is due."""

import pytest

from tests.helpers import AKS_ANKARA, REQUEST_STAFF
from tests.outbox.support import rows, wait_until

SETTINGS = {"circuit_failures_to_open": 3, "circuit_open_seconds": 3.0, "outbox_backoff_seconds": 3600}
PHONE = AKS_ANKARA["phone"]


@pytest.fixture(autouse=True)
async def gateway_up(world):
    yield
    await world.control("sms", down=False)


async def attempt(world, message_id: int, number: int) -> dict:
    """Make the message due now and wait for its `number`th attempt to be marked; the row after it."""
    if number > 1:
        await world.sql("UPDATE outbox_message SET next_attempt_at = now() WHERE id = $1", message_id)

    async def marked():
        [row] = await world.sql("SELECT * FROM outbox_message WHERE id = $1", message_id)
        return row if row["attempts"] == number and row["leased_until"] is None else None

    return await wait_until(marked, message=f"attempt {number}")


async def test_after_three_gateway_failures_sends_fail_at_once_without_asking_it_then_recover(world):
    await world.control("sms", down=True)
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": AKS_ANKARA["tckn"], "phone": PHONE}})
    assert data["requestStaffCode"]["__typename"] == "Challenge", data
    [message] = await rows(world, [PHONE])
    for number in (1, 2, 3):
        row = await attempt(world, message["id"], number)
        assert row["last_error"] == "gateway answered HTTP 503", row
    # The gateway is back, but the breaker is open: the send fails at once and the gateway never sees it.
    await world.control("sms", down=False)
    row = await attempt(world, message["id"], 4)
    assert (row["status"], row["last_error"]) == ("PENDING", "circuit breaker open: the gateway was not asked")
    assert await world.sms_to(PHONE) == []
    # The message's next try comes after the pause: it goes through and closes the breaker.
    await world.sql("UPDATE outbox_message SET next_attempt_at = now() + interval '3 seconds' WHERE id = $1",
                    message["id"])
    await world.wait_for_sms(PHONE)
    [row] = await rows(world, [PHONE])
    assert (row["status"], row["attempts"]) == ("SENT", 5)
