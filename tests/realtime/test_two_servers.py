"""Two servers on one database, as two hosts behind a load balancer: a step sent to one reaches the subscribers
connected to the other, told by PostgreSQL NOTIFY when it commits.

The first server is the test world's (in this process); the second is `acikkapi serve` run as a process of its
own on the same database and simulators, leaving SMS to the first (ACIKKAPI_OUTBOX_IN_SERVER=false)."""

import asyncio
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import World
from tests.documents import ANSWER, ROUTE
from tests.helpers import AKS_ANKARA, YETKILI_ANKARA, staff_session
from tests.realtime.test_subscriptions import closing, subscribed
from tests.workflow.support import MILLI_EGITIM, done, register, staff_view

STARTED = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
EVENTS = "subscription { applicationEvents { trackingNo action status } }"
# The backends of a server's LISTEN connection (services/pg_listener.py): their last statement is a LISTEN until
# the connection's check, every 30 seconds, runs `SELECT 1`.
LISTENERS = """SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (query LIKE 'LISTEN %' OR query = 'SELECT 1')"""
STARTUP_SECONDS = 90
STOP_SECONDS = 15


class ServerProcess:
    """`acikkapi serve --no-migrate` on the world's database and simulators, on a port of its own choosing."""

    def __init__(self, world) -> None:
        settings = world.settings
        self.data_dir = Path(tempfile.mkdtemp(prefix="acikkapi-second-"))
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("ACIKKAPI_")}
        self.env.update({
            "ACIKKAPI_DATABASE_URL": world.db_url, "ACIKKAPI_HOST": "127.0.0.1", "ACIKKAPI_PORT": "0",
            "ACIKKAPI_IDENTITY_URL": world.identity_url, "ACIKKAPI_SMS_URL": world.sms_url,
            "ACIKKAPI_EICISLERI_ISSUER": settings.eicisleri_issuer,
            "ACIKKAPI_EICISLERI_REDIRECT_URI": settings.eicisleri_redirect_uri,
            "ACIKKAPI_SECRET_KEY": settings.secret_key, "ACIKKAPI_ALLOW_DEVELOPMENT_SECRET": "true",
            "ACIKKAPI_OUTBOX_IN_SERVER": "false", "ACIKKAPI_DATA_DIR": str(self.data_dir),
            "ACIKKAPI_STORAGE_DIR": str(settings.storage_dir), "ACIKKAPI_EXPORT_DIR": str(settings.export_dir),
        })
        self.stderr: list[str] = []
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        """Its base URL once it serves and listens to the database."""
        # the first server's LISTEN connection is up (it is started as that server starts serving), so the new
        # one is the second's
        await self._until(bool, "the first server never listened to the database")
        before = {row["pid"] for row in await self.sql(LISTENERS)}
        # cwd: no developer's .env file gets read
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acikkapi.cli", "serve", "--no-migrate", cwd=self.data_dir, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        port = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read_stderr(port))
        base_url = f"http://127.0.0.1:{await asyncio.wait_for(port, STARTUP_SECONDS)}"
        # Serving does not wait for the LISTEN connection: a step committed before it is up would go unheard.
        await self._until(lambda pids: pids - before, "the second server never listened to the database")
        return base_url

    async def stop(self) -> int | None:
        """Stopped as an operator stops it (SIGTERM), killed if it hangs; its exit code (None if killed)."""
        code = None
        if self.process is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            return None
        if self.process.returncode is None:
            self.process.terminate()
            try:
                code = await asyncio.wait_for(self.process.wait(), STOP_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        else:
            code = self.process.returncode
        await self.reader
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return code

    async def _read_stderr(self, port: asyncio.Future) -> None:
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr.append(line)
            if (match := STARTED.search(line)) and not port.done():
                port.set_result(int(match.group(1)))
        if not port.done():
            port.set_exception(AssertionError("the second server ended before serving:\n" + "\n".join(self.stderr)))

    async def _until(self, found, failure: str) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
        while not found({row["pid"] for row in await self.sql(LISTENERS)}):
            if self.process is not None:
                assert self.process.returncode is None, "the second server ended:\n" + "\n".join(self.stderr)
            assert asyncio.get_running_loop().time() < deadline, failure
            await asyncio.sleep(0.05)

    async def sql(self, query: str) -> list:
        connection = await asyncpg.connect(self.env["ACIKKAPI_DATABASE_URL"])
        try:
            return await connection.fetch(query)
        finally:
            await connection.close()


@pytest.fixture(scope="module")
async def second(world):
    """The second server, as a World of its own: the same database, simulators and staff sessions."""
    server = ServerProcess(world)
    try:
        base_url = await server.start()
        other = World(base_url, world.identity_url, world.sms_url, world.db_url, world.settings)
        try:
            yield other
        finally:
            await other.http.aclose()
    finally:
        code = await server.stop()
    assert code == 143, "the second server did not stop at SIGTERM:\n" + "\n".join(server.stderr)
    assert not any("Traceback" in line for line in server.stderr), "\n".join(server.stderr)


@pytest.fixture(scope="module")
async def tokens(world) -> dict[str, str]:
    return {"aks": await staff_session(world, AKS_ANKARA["tckn"]),
            "yetkili": await staff_session(world, YETKILI_ANKARA["tckn"])}


async def test_a_registration_sent_to_the_second_server_reaches_the_office_on_both(world, second, tokens):
    on_first = await subscribed(world, tokens["aks"], query=EVENTS)
    on_second = await subscribed(second, tokens["aks"], query=EVENTS)
    try:
        tracking_no = await register(second, tokens["aks"])
        submitted = {"trackingNo": tracking_no, "action": "SUBMITTED", "status": "HAVUZDA"}
        assert await on_first.next(timeout=10) == submitted
        assert await on_second.next(timeout=10) == submitted
    finally:
        await closing(on_first, on_second)


async def test_a_routing_sent_to_the_first_server_reaches_the_unit_on_the_second_and_its_answer_comes_back(
        world, second, tokens):
    tracking_no = await register(world, tokens["aks"])
    yetkili = await subscribed(second, tokens["yetkili"], query=EVENTS)
    try:
        await done(world, tokens["aks"], ROUTE, trackingNo=tracking_no, unitNos=[MILLI_EGITIM])
        assert await yetkili.next(timeout=10) == \
            {"trackingNo": tracking_no, "action": "ROUTED", "status": "YONLENDIRILDI"}
    finally:
        await closing(yetkili)
    aks = await subscribed(world, tokens["aks"], query=EVENTS)
    try:
        routing = (await staff_view(second, tokens["aks"], tracking_no))["routings"][0]["id"]
        await done(second, tokens["yetkili"], ANSWER, routingId=routing, answer="İl müdürlüğünün cevabı.")
        assert await aks.next(timeout=10) == {"trackingNo": tracking_no, "action": "ANSWERED", "status": "CEVAPLANDI"}
    finally:
        await closing(aks)
