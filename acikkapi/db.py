"""Database connection: an external PostgreSQL by URL, or an embedded one started from the pgserver package."""

import logging
import re
from pathlib import Path

import asyncpg
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from acikkapi.settings import Settings

log = logging.getLogger(__name__)
_embedded: dict[Path, object] = {}


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) a private PostgreSQL in `data_dir/pg` and return its libpq URL."""
    import pgserver  # imported lazily: production never needs it

    pg_dir = (data_dir / "pg").resolve()
    if pg_dir not in _embedded:
        pg_dir.mkdir(parents=True, exist_ok=True)
        _embedded[pg_dir] = pgserver.get_server(pg_dir, cleanup_mode="stop")
        log.info("embedded PostgreSQL running in %s", pg_dir)
    return _embedded[pg_dir].get_uri()


def stop_embedded_postgres() -> None:
    """Stop the embedded servers this process started, unless another live process still uses one."""
    import psutil  # pgserver's dependency

    while _embedded:
        pg_dir, server = _embedded.popitem()
        # pgserver stops a server when its last user lets go; forget users that died without letting go
        # (killed with SIGKILL, say), or their ghost keeps the server running forever.
        with server._lock:
            users = server.global_process_id_list
            users.put([pid for pid in users.get() if psutil.pid_exists(pid)])
        server.cleanup()
        log.info("embedded PostgreSQL in %s released", pg_dir)


def resolve_database_url(settings: Settings, database: str = "acikkapi") -> str:
    """The SQLAlchemy asyncpg URL for the configured server; the embedded one gets `database` created."""
    if settings.database_url:
        url = settings.database_url
    else:
        uri = start_embedded_postgres(settings.data_dir)
        server = _embedded[(settings.data_dir / "pg").resolve()]
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
        url = uri.replace("/postgres?", f"/{database}?", 1)
    return to_asyncpg_url(url)


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError("ACIKKAPI_DATABASE_URL must be a postgresql:// URL")


def make_engine(url: str, pool_size: int = 10, settings: Settings | None = None) -> AsyncEngine:
    """The server's engine gets `settings`: a bounded wait for a pooled connection, and on every connection a
    statement timeout and an idle-in-transaction timeout. Without it (migrations, seeding) statements may run
    as long as they need. Bound parameters (T.C. numbers, names) never appear in errors or logs.

    No overflow: a connection opened beyond the pool would be closed again at its return, and a new one costs
    far more than waiting a moment for a pooled one (asyncpg introspects types, statements are prepared anew).
    No pre-ping: on a healthy pool it costs a round trip per checkout. A connection that died (the server
    restarted) fails its statement, and SQLAlchemy then discards every connection of the pool made before."""
    connect_args = {}
    if settings:
        connect_args["server_settings"] = {
            "statement_timeout": _milliseconds(settings.db_statement_timeout_seconds),
            "idle_in_transaction_session_timeout": _milliseconds(settings.db_idle_in_transaction_timeout_seconds),
        }
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=0, hide_parameters=True,
        pool_timeout=settings.db_pool_timeout_seconds if settings else 30.0, connect_args=connect_args)


def _milliseconds(seconds: float) -> str:
    return str(round(seconds * 1000))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is busy or unreachable (an operational condition, not a bug): no
    pooled connection in time, a statement cancelled by its timeout, or a connection that failed."""
    if isinstance(error, (sqlalchemy.exc.TimeoutError, *_UNREACHABLE)):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        cause = error.orig.__cause__ if error.orig is not None else None
        return error.connection_invalidated or isinstance(cause, (asyncpg.QueryCanceledError, *_UNREACHABLE))
    return False


# A connection refused, reset or not allowed (the server is starting, shutting down, or full). Not any
# OSError: a full disk or a slow partner service is not the database.
_UNREACHABLE = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError)


class HideValues(logging.Filter):
    """Database errors quote the values they were given ("invalid input for query argument $1: …",
    "Key (tckn)=(…) already exists"): T.C. numbers and names must not reach the log through a trace."""

    QUOTED = [(re.compile(r"(query argument \$\d+: ).*"), r"\1…"), (re.compile(r"(\)=\()[^\n]*?(\) )"), r"\1…\2"),
              (re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE), r"\1 …")]  # "Failing row contains (…)"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for pattern, replacement in self.QUOTED:
                record.exc_text = pattern.sub(replacement, record.exc_text)
        return True


def hide_values(logger: logging.Logger) -> logging.Logger:
    logger.addFilter(HideValues())
    return logger

