"""The database is busy: a query waits at most the pool timeout for a connection and runs at most the statement
timeout; either way the client is told the system is busy (DATABASE_UNAVAILABLE), never internals. Errors never carry bound parameters."""

import asyncio
import logging
import traceback

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from acikkapi.db import make_engine, to_asyncpg_url
from acikkapi.settings import Settings

SETTINGS = {"db_pool_size": 1, "db_pool_timeout_seconds": 0.3, "db_statement_timeout_seconds": 3,
            "db_idle_in_transaction_timeout_seconds": 7}
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "QueuePool", "timeout", "canceling", "pool", "SELECT", 'File "')


def assert_masked(response) -> None:
    body = response.json()
    assert response.status_code == 200, body
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", body
    assert error["message"].startswith("Sistem şu anda yanıt veremiyor")
    assert not any(leak in str(body) for leak in LEAKS), body


async def waiting_on_lock(world) -> int:
    rows = await world.sql("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
    return rows[0]["n"]


async def test_a_query_waits_neither_for_a_connection_nor_for_a_statement_for_ever(world):
    loop = asyncio.get_running_loop()
    blocker = await asyncpg.connect(world.db_url)
    try:
        await blocker.execute("BEGIN; LOCK TABLE province IN ACCESS EXCLUSIVE MODE")
        # The one pooled connection (pool size 1, no overflow) gets stuck behind the lock…
        stuck = [asyncio.ensure_future(world.post({"query": "{ provinces { id } }"}))]
        deadline = loop.time() + 5
        while await waiting_on_lock(world) < 1:
            assert loop.time() < deadline, "the queries never reached the lock"
            await asyncio.sleep(0.02)
        # …so a third query finds no connection and gives up after the pool timeout.
        started = loop.time()
        response = await world.post({"query": "{ provinces { id } }"})
        assert loop.time() - started < 2, "waited for a connection longer than the pool timeout"
        assert_masked(response)
        # The stuck ones are cancelled by the statement timeout, long before the lock goes away.
        for response in await asyncio.wait_for(asyncio.gather(*stuck), timeout=10):
            assert_masked(response)
    finally:
        await blocker.close()
    assert len((await world.gql("{ provinces { id } }"))["provinces"]) == 81  # and all is well again


@pytest.fixture
async def engine(world):
    engine = make_engine(to_asyncpg_url(world.db_url), 1, world.settings)
    yield engine
    await engine.dispose()


async def test_every_connection_has_the_statement_and_idle_timeouts(engine):
    async with engine.connect() as connection:
        statement = await connection.scalar(text("SHOW statement_timeout"))
        idle = await connection.scalar(text("SHOW idle_in_transaction_session_timeout"))
    assert (statement, idle) == ("3s", "7s")


async def test_a_database_error_does_not_carry_its_parameters(engine, caplog):
    tckn = "10000000146"
    with pytest.raises(DBAPIError) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1 / 0 WHERE CAST(:value AS text) <> ''"), {"value": tckn})
    logging.getLogger("test").error("database error", exc_info=raised.value)
    assert "parameters hidden" in str(raised.value)
    assert tckn not in str(raised.value)
    assert tckn not in caplog.text


async def test_values_quoted_by_the_database_are_hidden_in_logged_traces(engine, caplog):
    value = 45000 + 157  # made here: the logged trace shows this file's lines
    with pytest.raises(DBAPIError) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT CAST(:value AS smallint)"), {"value": value})
    assert str(value) in str(raised.value.orig)  # asyncpg quotes it…
    logging.getLogger("acikkapi.errors").error("unexpected error", exc_info=raised.value)
    assert "query argument $1" in caplog.text and str(value) not in caplog.text  # …the log does not


async def test_a_failing_row_quoted_by_the_database_is_hidden_in_logged_traces(engine, caplog):
    name = "GİZLİ" + "İSİM"  # made here: the logged trace shows this file's lines
    with pytest.raises(DBAPIError) as raised:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TEMP TABLE kisi (ad text, soyad text NOT NULL)"))
            await connection.execute(text("INSERT INTO kisi VALUES (:name, NULL)"), {"name": name})
    assert name in "".join(traceback.format_exception(raised.value))  # asyncpg quotes the row in its DETAIL…
    logging.getLogger("acikkapi.errors").error("unexpected error", exc_info=raised.value)
    assert "DETAIL" in caplog.text and name not in caplog.text  # …the log does not


def test_the_defaults_are_sensible():
    settings = Settings()
    assert settings.db_pool_timeout_seconds == 5
    assert (settings.db_statement_timeout_seconds, settings.db_idle_in_transaction_timeout_seconds) == (10, 30)
