"""The server's dispatcher is a pool of `outbox_concurrency` sends: a message hung at the gateway holds one
slot until its send timeout, and a one-time code queued after it leaves at once through another."""

import pytest

from tests.helpers import AKS_ANKARA, REQUEST_STAFF, YETKILI_ANKARA
from tests.outbox.support import rows, wait_until

SETTINGS = {"outbox_concurrency": 2, "outbox_send_timeout_seconds": 60, "http_timeout_seconds": 60}


@pytest.fixture(autouse=True)
async def gateway_answering(world):
    yield
    await world.control("sms", hang=[])


async def request_staff_code(world, staff: dict) -> None:
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": staff["tckn"], "phone": staff["phone"]}})
    assert data["requestStaffCode"]["__typename"] == "Challenge", data


async def test_a_code_queued_after_a_hung_message_goes_out_at_once(world):
    hung, other = AKS_ANKARA["phone"], YETKILI_ANKARA["phone"]
    await world.control("sms", hang=["90" + hung])
    await request_staff_code(world, AKS_ANKARA)

    async def in_flight():
        return [row for row in await rows(world, [hung]) if row["attempts"] == 1 and row["leased_until"]]

    await wait_until(in_flight, message="the hung send")
    await request_staff_code(world, YETKILI_ANKARA)
    await world.wait_for_sms(other, timeout=3)  # far within the hung send's 60 s
    [row] = await in_flight()  # still waiting at the gateway, in its own slot
    assert row["status"] == "PENDING" and row["last_error"] is None
    await world.control("sms", hang=[])
    await world.wait_for_sms(hung)  # the hung send ends in its slot, once
    await world.drain_outbox()
    assert len(await world.sms_to(hung)) == 1
