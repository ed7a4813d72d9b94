"""Schema migrations (alembic), run programmatically so an installed package needs no alembic.ini."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


# Replicas starting together migrate one after the other: the first applies the revisions, the others find
# the schema at head. Two int4 keys: a key space apart from the single-key locks the services take.
MIGRATION_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('acikkapi'), hashtext('migrations'))")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, command.downgrade, revision)


async def _migrate(engine: AsyncEngine, step, revision: str) -> None:
    def run(connection) -> None:
        connection.execute(MIGRATION_LOCK)  # held until the migrations' transaction ends
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)
