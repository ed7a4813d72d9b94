"""The server sweeps by itself, every `retention_interval_seconds`, with no command to run."""

from tests.helpers import AKS_ANKARA, REQUEST_STAFF
from tests.outbox.support import wait_until

SETTINGS = {"retention_interval_seconds": 0.2}


async def test_the_server_deletes_an_old_challenge_by_itself(world):
    data = await world.gql(REQUEST_STAFF, {"input": {"tcKimlikNo": AKS_ANKARA["tckn"], "phone": AKS_ANKARA["phone"]}})
    challenge_id = data["requestStaffCode"]["id"]
    await world.sql("UPDATE otp_challenge SET created_at = now() - interval '8 days' WHERE id = $1::uuid", challenge_id)

    async def gone() -> bool:
        return not await world.sql("SELECT 1 FROM otp_challenge WHERE id = $1::uuid", challenge_id)

    await wait_until(gone, message="the sweep")
