"""The benchmark's fill (scripts/bench_fill.sql) on today's schema: a change of the schema that breaks it fails
here, not at the next benchmark."""

import uuid
from pathlib import Path

import asyncpg

from tests.conftest import _admin, database_url

FILL = Path(__file__).parent.parent / "scripts" / "bench_fill.sql"


async def test_the_fill_writes_consistent_applications(server_url, template):
    name = f"fill_{uuid.uuid4().hex[:12]}"
    admin = await _admin(server_url)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        connection = await asyncpg.connect(database_url(server_url, name))
        try:
            await connection.execute("SET bench.applications = 300")
            await connection.execute(FILL.read_text())
            counts = await connection.fetchrow(
                "SELECT (SELECT count(*) FROM application) AS applications,"
                " (SELECT count(*) FROM application a WHERE NOT EXISTS"
                "   (SELECT FROM application_event e WHERE e.application_id = a.id)) AS without_history,"
                " (SELECT count(*) FROM routing) AS routings")
        finally:
            await connection.close()
        assert counts["applications"] == 300 and counts["without_history"] == 0 and counts["routings"] > 0
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
