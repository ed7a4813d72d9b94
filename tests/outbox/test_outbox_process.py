"""With `outbox_in_server` off the server only queues SMS, and `acikkapi outbox` sends them from a process of its
own; it stops cleanly on SIGTERM. (No dispatcher but the test's own runs here.)"""

import asyncio
import os
import signal
import sys

from tests.helpers import AKS_ANKARA, REQUEST_STAFF
from tests.outbox.support import dispatcher_factory, queue, received, rows, wait_until

SETTINGS = {"outbox_in_server": False}


async def test_the_outbox_command_sends_what_the_server_queued(world):
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": AKS_ANKARA["tckn"], "phone": AKS_ANKARA["phone"]}})
    assert data["requestStaffCode"]["__typename"] == "Challenge"
    await asyncio.sleep(1.5)  # past the server's own poll, had it a dispatcher
    assert await world.sms_to(AKS_ANKARA["phone"]) == []
    [row] = await world.sql("SELECT status FROM outbox_message WHERE phone = $1", AKS_ANKARA["phone"])
    assert row["status"] == "PENDING"

    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acikkapi.cli", "outbox", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ACIKKAPI_DATABASE_URL": world.db_url, "ACIKKAPI_SMS_URL": world.sms_url,
             "ACIKKAPI_OUTBOX_POLL_SECONDS": "0.2"})
    try:
        [sms] = await world.wait_for_sms(AKS_ANKARA["phone"], 1, timeout=15)
        assert "onay kodunuz" in sms
    finally:
        command.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(command.communicate(), timeout=15)
    assert command.returncode == 128 + signal.SIGTERM, err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    [row] = await world.sql("SELECT status FROM outbox_message WHERE phone = $1", AKS_ANKARA["phone"])
    assert row["status"] == "SENT"


async def test_a_stopped_dispatcher_marks_what_the_gateway_took(world, monkeypatch):
    monkeypatch.setattr("acikkapi.services.outbox.GATHER_SECONDS", 60)  # no claim marks it before the stop
    phone = "5350000400"
    await queue(world, [phone])
    async with dispatcher_factory(world) as make_dispatcher:
        dispatcher = make_dispatcher()
        task = asyncio.create_task(dispatcher.run_forever())
        await wait_until(lambda: received(world, phone), message="the SMS at the gateway")
        await wait_until(lambda: asyncio.sleep(0, dispatcher.sent), message="the gateway's answer")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    [row] = await rows(world, [phone])
    assert row["status"] == "SENT"  # not left leased, to be sent again once the lease ends
