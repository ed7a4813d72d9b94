"""A committed mutation wakes the outbox dispatcher: a code goes out at once, not at the next poll."""

from tests.helpers import AKS_ANKARA, REQUEST_STAFF

SETTINGS = {"outbox_poll_seconds": 60}


async def test_a_sign_in_code_goes_out_without_waiting_for_the_poll(world):
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": AKS_ANKARA["tckn"], "phone": AKS_ANKARA["phone"]}})
    assert data["requestStaffCode"]["__typename"] == "Challenge"
    await world.wait_for_sms(AKS_ANKARA["phone"], 1, timeout=3)
