"""Two staff acting on one application at once. The test holds the application's row lock while both requests
arrive, so both have read the application and are inside their write, waiting, when it lets go: exactly one wins,
the other writes nothing and is decided again on what the first left (a typed error, or its step taken after),
and nothing is lost."""

import asyncio
from contextlib import asynccontextmanager

import asyncpg
import pytest

from tests.documents import ANSWER, CLOSE, ROUTE, SEND_TO_MIA
from tests.workflow.support import (
    KECIOREN_MILLI_EGITIM, MILLI_EGITIM, SAGLIK, Staff, prepare, snapshot, staff_view, step,
)

SETTINGS = {"staff_identity_lookups_per_hour": 10_000}


@pytest.fixture(scope="module")
async def staff(world) -> Staff:
    return await Staff.of(world)


@asynccontextmanager
async def both_waiting(world, tracking_no: int, *requests):
    """Runs `requests` while this test holds the application's row lock, and lets go once both wait for it.
    Yields the tasks."""
    holder, watcher = await asyncpg.connect(world.db_url), await asyncpg.connect(world.db_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM application WHERE tracking_no = $1 FOR UPDATE", tracking_no)
        tasks = [asyncio.create_task(request) for request in requests]
        deadline = asyncio.get_running_loop().time() + 10
        # Watched from outside the holder's transaction: PostgreSQL reads pg_stat_activity once per transaction.
        while await watcher.fetchval(_WAITING_BEHIND, holder.get_server_pid()) < len(tasks):
            assert asyncio.get_running_loop().time() < deadline, "the requests never waited for the lock"
            await asyncio.sleep(0.01)
        await transaction.rollback()
        yield tasks
    finally:
        await holder.close()
        await watcher.close()


# The backends waiting for the holder ($1), directly or behind another waiter (the row's tuple lock).
_WAITING_BEHIND = """
    WITH RECURSIVE behind(pid) AS (
        SELECT $1::int
        UNION SELECT activity.pid FROM pg_stat_activity activity, behind
        WHERE behind.pid = ANY(pg_blocking_pids(activity.pid)))
    SELECT count(*) - 1 FROM behind"""


async def outcomes(tasks) -> list[str]:
    return sorted(payload.get("status") or payload["code"] for payload in await asyncio.gather(*tasks))


async def routed_units(world, tracking_no: int) -> list[int]:
    rows = await world.sql("SELECT r.unit_no FROM routing r JOIN application a ON a.id = r.application_id "
                           "WHERE a.tracking_no = $1 ORDER BY r.unit_no", tracking_no)
    return [row["unit_no"] for row in rows]


async def forwarded_messages(world, tracking_no: int) -> int:
    rows = await world.sql("SELECT count(*) AS n FROM outbox_message WHERE template = 'yonlendirildi' "
                           "AND params->>'takip_no' = $1", str(tracking_no))
    return rows[0]["n"]


class TestTwoRoutesAtOnce:
    async def test_on_the_version_both_saw_one_routes_and_the_other_gets_a_conflict(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        version = (await snapshot(world, app.tracking_no))["version"]
        async with both_waiting(world, app.tracking_no, *(
                step(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[unit], expectedVersion=version)
                for unit in (MILLI_EGITIM, SAGLIK))) as tasks:
            assert await outcomes(tasks) == ["CONCURRENT_CHANGE", "YONLENDIRILDI"]
        assert len(await routed_units(world, app.tracking_no)) == 1
        after = await snapshot(world, app.tracking_no)
        assert (after["version"], after["events"]) == (version + 1, 2)  # registered, routed once

    async def test_to_one_unit_one_routes_and_the_other_finds_it_routed(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        async with both_waiting(world, app.tracking_no, *(
                step(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[MILLI_EGITIM])
                for _ in range(2))) as tasks:
            assert await outcomes(tasks) == ["UNIT_ALREADY_ROUTED", "YONLENDIRILDI"]
        assert await routed_units(world, app.tracking_no) == [MILLI_EGITIM]
        assert await forwarded_messages(world, app.tracking_no) == 1

    async def test_to_two_units_without_a_version_both_route_and_the_citizen_hears_once(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        async with both_waiting(world, app.tracking_no, *(
                step(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[unit])
                for unit in (MILLI_EGITIM, SAGLIK))) as tasks:
            assert await outcomes(tasks) == ["YONLENDIRILDI", "YONLENDIRILDI"]
        assert await routed_units(world, app.tracking_no) == sorted([MILLI_EGITIM, SAGLIK])
        # The second saw the first one's routing (read after the lock): it is not the first routing any more.
        assert await forwarded_messages(world, app.tracking_no) == 1


class TestCloseAndSendToMiaAtOnce:
    async def test_exactly_one_succeeds_and_the_other_is_refused_by_the_table(self, world, staff):
        app = await prepare(world, staff, "CEVAPLANDI")
        version = (await snapshot(world, app.tracking_no))["version"]
        async with both_waiting(
                world, app.tracking_no,
                step(world, staff.aks, CLOSE, trackingNo=app.tracking_no, result="OLUMLU", answer="Karşılandı."),
                step(world, staff.aks, SEND_TO_MIA, trackingNo=app.tracking_no, confirm=True)) as tasks:
            results = await outcomes(tasks)
        assert results in (["MIA_ONAYINDA", "TRANSITION_NOT_ALLOWED"], ["SONUCLANDI", "TRANSITION_NOT_ALLOWED"])
        after = await snapshot(world, app.tracking_no)
        assert (after["status"], after["version"]) == (results[0], version + 1)


class TestTheLastTwoAnswersAtOnce:
    async def test_the_second_answer_sees_the_first_and_the_application_is_answered(self, world, staff):
        app = await prepare(world, staff, "HAVUZDA")
        await step(world, staff.aks, ROUTE, trackingNo=app.tracking_no, unitNos=[MILLI_EGITIM, KECIOREN_MILLI_EGITIM])
        milli_egitim, kecioren = (r["id"] for r in (await staff_view(world, staff.aks, app.tracking_no))["routings"])
        async with both_waiting(
                world, app.tracking_no,
                step(world, staff.yetkili, ANSWER, routingId=milli_egitim, answer="İl müdürlüğünün cevabı."),
                step(world, staff.yetkili_kecioren, ANSWER, routingId=kecioren, answer="İlçenin cevabı.")) as tasks:
            assert await outcomes(tasks) == ["CEVAPLANDI", "YONLENDIRILDI"]
        assert (await snapshot(world, app.tracking_no))["status"] == "CEVAPLANDI"
