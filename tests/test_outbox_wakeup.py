"""A committed mutation wakes the outbox dispatcher: a code goes out at once, not at the next poll."""

from tests.helpers import AKS_ANKARA, REQUEST_STAFF

SETTINGS = {"outbox_poll_seconds": 60}


async def test_a_sign_in_code_goes_out_without_waiting_for_the_poll(world):
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": AKS_ANKARA["tckn"], "phone": AKS_ANKARA["phone"]}})
    assert data["requestStaffCode"]["__typename"] == "Challenge"
    await world.wait_for_sms(AKS_ANKARA["phone"], 1, timeout=3)


async def test_a_message_queued_by_another_process_goes_out_without_waiting_for_the_poll(world):
    """Queued by another worker or host (here: straight into the table): the database's NOTIFY wakes this
    server's dispatcher."""
    await world.sql("INSERT INTO outbox_message (phone, template, params) "
                    "VALUES ('5329998877', 'takip_numarasi', '{\"ad\": \"AYŞE\", \"takip_no\": 1047}')")
    await world.wait_for_sms("5329998877", 1, timeout=3)
