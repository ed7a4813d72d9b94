"""KVKK: an outbox row holds a template and its parameters, never a rendered text, and a one-time code leaves
the row once it is sent or has expired; a code held up by an outage is never sent after its expiry."""

import json

from tests.helpers import AKS_ANKARA, REQUEST_STAFF, YETKILI_ANKARA
from tests.outbox.support import rows, wait_until


async def request_staff_code(world, staff: dict) -> None:
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": staff["tckn"], "phone": staff["phone"]}})
    assert data["requestStaffCode"]["__typename"] == "Challenge", data


def text_columns(row) -> str:
    return json.dumps({key: value for key, value in row.items() if isinstance(value, str)})


async def test_a_sent_code_no_longer_stays_in_its_outbox_row(world):
    phone = AKS_ANKARA["phone"]
    await request_staff_code(world, AKS_ANKARA)
    code = await world.last_code(phone)
    await world.drain_outbox()
    row = (await rows(world, [phone]))[-1]
    assert (row["status"], row["template"]) == ("SENT", "onay_kodu")
    assert json.loads(row["params"]) == {"dakika": 3}
    assert code not in text_columns(row)


async def test_a_code_held_up_by_an_outage_is_not_sent_after_it_expires(world):
    phone = YETKILI_ANKARA["phone"]
    before = len(await world.sms_to(phone))
    try:
        await world.control("sms", down=True)
        await request_staff_code(world, YETKILI_ANKARA)

        async def failed_once():
            found = (await rows(world, [phone]))[-1]
            return found if found["last_error"] else None

        row = await wait_until(failed_once, message="a failed attempt")
        assert row["status"] == "PENDING"
        assert json.loads(row["params"])["kod"]  # still waiting: the code must stay until it is sent
        # the outage outlasts the code: its three minutes are over, then the gateway is back and a retry is due
        await world.sql("UPDATE outbox_message SET not_after = now() - interval '1 second', "
                        "next_attempt_at = now() WHERE id = $1", row["id"])
        await world.control("sms", down=False)
        await world.drain_outbox()
    finally:
        await world.control("sms", down=False)
    [row] = await world.sql("SELECT * FROM outbox_message WHERE id = $1", row["id"])
    assert row["status"] == "EXPIRED"
    assert json.loads(row["params"]) == {"dakika": 3}
    assert len(await world.sms_to(phone)) == before
