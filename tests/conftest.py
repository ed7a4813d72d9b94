"""The test world: a real PostgreSQL (embedded unless ACIKKAPI_TEST_DATABASE_URL is set), the identity, SMS and
e-İçişleri simulators on loopback, and the app served by uvicorn over real HTTP.

A template database with migrations and reference data is built once per run; each test module gets its
own copy (CREATE DATABASE … TEMPLATE) and its own server.
"""

import asyncio
import itertools
import os
import re
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine

from acikkapi.app import create_app
from acikkapi.db import (
    make_engine, make_sessionmaker, start_embedded_postgres, statement_listeners, stop_embedded_postgres, to_asyncpg_url,
)
from acikkapi.migrate import upgrade
from acikkapi.services.reference_data import load_reference_data
from acikkapi.settings import Settings
from acikkapi.simulators.runner import start_eicisleri, start_simulators

TEMPLATE = "acikkapi_template"
_addresses = itertools.count(1)


def libpq_url(base: str, database: str) -> str:
    """`base` pointed at another database, keeping the host/socket parameters."""
    return re.sub(r"/[^/?]*(\?|$)", lambda m: f"/{database}{m.group(1)}", base.split("://", 1)[1], count=1)


@pytest.fixture(scope="session")
def server_url():
    """libpq URL of the server's maintenance database."""
    url = os.environ.get("ACIKKAPI_TEST_DATABASE_URL")
    if url:
        yield url.replace("postgresql+asyncpg://", "postgresql://")
        return
    data_dir = Path(tempfile.mkdtemp(prefix="acikkapi-test-"))
    try:
        yield start_embedded_postgres(data_dir)
    finally:  # each run's cluster is some 100 MB: left behind, they fill the disk
        stop_embedded_postgres()
        shutil.rmtree(data_dir, ignore_errors=True)


def database_url(server_url: str, database: str) -> str:
    return "postgresql://" + libpq_url(server_url, database)


async def _admin(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url(server_url, "postgres"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def template(server_url: str) -> str:
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    engine = make_engine(to_asyncpg_url(database_url(server_url, TEMPLATE)), pool_size=1)
    await upgrade(engine)
    async with make_sessionmaker(engine)() as session, session.begin():
        await load_reference_data(session, demo=True)
    await engine.dispose()
    return TEMPLATE


class StatementCounter:
    """Counts SQL statements the app sends, leaving out the background outbox dispatcher's polling."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        """SQLAlchemy's before_cursor_execute event."""
        self.prepared(statement, context.execution_options)

    def prepared(self, statement: str, options) -> None:
        """A listener of acikkapi.db.Prepared."""
        if self.active and options.get("logging_token") != "outbox":
            self.statements.append(statement)

    def __enter__(self) -> "StatementCounter":
        self.statements.clear()
        self.active = True
        return self

    def __exit__(self, *exc) -> None:
        self.active = False


class World:
    """One running server with its own database and simulators, and helpers to talk to all three."""

    def __init__(self, base_url: str, identity_url: str, sms_url: str, db_url: str, settings: Settings) -> None:
        self.base_url = base_url
        self.identity_url = identity_url
        self.sms_url = sms_url
        self.db_url = db_url
        self.settings = settings
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.statements = StatementCounter()
        self.eicisleri_url = settings.eicisleri_issuer

    @staticmethod
    def new_address() -> str:
        """A fresh client address (sent as X-Forwarded-For from loopback), so per-address limits stay apart."""
        n = next(_addresses)
        return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"

    async def post(self, body, *, token: str | None = None, headers: dict | None = None,
                   address: str | None = None) -> httpx.Response:
        all_headers = {"X-Forwarded-For": address or self.new_address(), **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return await self.http.post("/graphql", json=body, headers=all_headers)

    async def gql(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """Run one operation; fails the test on any GraphQL error. Returns `data`."""
        response = await self.post({"query": query, "variables": variables or {}}, **kwargs)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]

    async def gql_raw(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        return (await self.post({"query": query, "variables": variables or {}}, **kwargs)).json()

    async def sms_to(self, phone: str) -> list[str]:
        response = await self.http.get(f"{self.sms_url}/sms/mesajlar", params={"alici": "90" + phone})
        return [message["mesaj"] for message in response.json()]

    async def wait_for_sms(self, phone: str, count: int = 1, timeout: float = 10) -> list[str]:
        """The messages to `phone` once at least `count` have arrived through the outbox."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            messages = await self.sms_to(phone)
            if len(messages) >= count:
                return messages
            assert asyncio.get_running_loop().time() < deadline, f"only {len(messages)} SMS to {phone}"
            await asyncio.sleep(0.05)

    async def last_code(self, phone: str, count: int = 1) -> str:
        messages = await self.wait_for_sms(phone, count)
        return re.search(r"onay kodunuz: (\d{6})", messages[-1]).group(1)

    async def drain_outbox(self, timeout: float = 10) -> None:
        """Wait until no outbox message is due: each one has been sent, expired or given up, or waits for a
        retry after a failed attempt. What was sent is then at the SMS simulator."""
        deadline = asyncio.get_running_loop().time() + timeout
        connection = await asyncpg.connect(self.db_url)
        try:
            while due := await connection.fetchval(
                    "SELECT count(*) FROM outbox_message WHERE status = 'PENDING'"
                    " AND (next_attempt_at <= now() OR not_after <= now())"):
                assert asyncio.get_running_loop().time() < deadline, f"{due} outbox messages still due"
                await asyncio.sleep(0.02)
        finally:
            await connection.close()

    async def control(self, service: str, **state) -> None:
        url = {"identity": self.identity_url, "sms": self.sms_url, "eicisleri": self.eicisleri_url}[service]
        await self.http.post(f"{url}/_kontrol", json=state)

    async def sql(self, query: str, *args):
        connection = await asyncpg.connect(self.db_url)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(request, server_url: str, template: str):
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    runners, identity_url, sms_url = await start_simulators()
    eicisleri_runner, eicisleri_url = await start_eicisleri(Settings())
    runners.append(eicisleri_runner)
    db_url = database_url(server_url, name)
    listener = socket.create_server(("127.0.0.1", 0))  # bound first, so links can name the server's address
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(**{
        "database_url": db_url, "identity_url": identity_url, "sms_url": sms_url, "public_base_url": base_url,
        "storage_dir": Path(tempfile.mkdtemp(prefix="acikkapi-files-")),
        "export_dir": Path(tempfile.mkdtemp(prefix="acikkapi-exports-")), "outbox_poll_seconds": 0.05,
        "outbox_backoff_seconds": 0.2, "http_timeout_seconds": 2, "otp_hourly_limit_per_identity": 50,
        "otp_hourly_limit_per_phone": 50, "otp_hourly_limit_per_client": 50, "allow_development_secret": True,
        "circuit_open_seconds": 1,  # an outage a test plays opens a breaker only briefly
        "eicisleri_issuer": eicisleri_url, "eicisleri_redirect_uri": f"{eicisleri_url}/donus",
        **getattr(request.module, "SETTINGS", {}),  # a module's own limits win
    })
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning",
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    world = World(base_url, identity_url, sms_url, db_url, settings)
    event.listen(Engine, "before_cursor_execute", world.statements)
    statement_listeners.append(world.statements.prepared)
    try:
        yield world
    finally:
        event.remove(Engine, "before_cursor_execute", world.statements)
        statement_listeners.remove(world.statements.prepared)
        await world.http.aclose()
        server.should_exit = True
        await task
        for runner in runners:
            await runner.cleanup()
        admin = await _admin(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
