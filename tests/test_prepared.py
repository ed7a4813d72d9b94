"""`db.Prepared` runs a Core statement on the driver with its types' conversions, and only outside transactions."""

import pytest
from sqlalchemy import bindparam, literal_column, select

from acikkapi.db import Prepared, make_engine, to_asyncpg_url
from acikkapi.models import OutboxMessage, OutboxStatus

_outbox = OutboxMessage.__table__
ECHO = Prepared(select(bindparam("status", type_=_outbox.c.status.type).label("status"),
                       bindparam("params", type_=_outbox.c.params.type).label("params"),
                       literal_column("1").label("one")))


@pytest.fixture
async def engine(world):
    engine = make_engine(to_asyncpg_url(world.db_url))
    yield engine
    await engine.dispose()


async def test_enums_and_json_are_converted_both_ways(engine):
    async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
        [row] = await ECHO.fetch(connection, {"status": OutboxStatus.SENT, "params": {"takip_no": 1047}})
    assert list(row) == [OutboxStatus.SENT, {"takip_no": 1047}, 1]
    assert ECHO.keys == ["status", "params", "one"]


async def test_it_refuses_a_connection_in_a_transaction(engine):
    async with engine.connect() as connection:
        with pytest.raises(RuntimeError):
            await ECHO.fetch(connection, {"status": OutboxStatus.SENT, "params": {}})


def test_a_statement_with_parameters_rendered_at_execution_is_refused():
    with pytest.raises(ValueError):
        Prepared(select(_outbox.c.id).where(_outbox.c.id.in_(bindparam("ids", expanding=True))))
