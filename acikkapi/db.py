"""Database connection: an external PostgreSQL by URL, or an embedded one started from the pgserver package."""

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import asyncpg
import sqlalchemy.exc
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable

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
    if isinstance(error, (sqlalchemy.exc.TimeoutError, asyncpg.QueryCanceledError, *_UNREACHABLE)):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        cause = error.orig.__cause__ if error.orig is not None else None
        return error.connection_invalidated or isinstance(cause, (asyncpg.QueryCanceledError, *_UNREACHABLE))
    return False


# A connection refused, reset or not allowed (the server is starting, shutting down, or full). Not any
# OSError: a full disk or a slow partner service is not the database.
_UNREACHABLE = (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError, asyncpg.ConnectionDoesNotExistError)


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


# --- prepared statements: the hot paths' statements, past SQLAlchemy's per-execution work ------------------

_DIALECT = asyncpg_dialect()
# Called with each prepared statement's SQL and its connection's execution options before it runs (the tests
# count statements with it, as they count SQLAlchemy's through its before_cursor_execute event).
statement_listeners: list[Callable[[str, Mapping], None]] = []


def unnested(table, *names: str, prefix: str = ""):
    """unnest() of one array parameter per column (named `prefix` + the column's name): the rows of a multi-row
    insert, as one FROM item."""
    return (func.unnest(*(bindparam(prefix + name, type_=ARRAY(table.c[name].type)) for name in names))
            .table_valued(*names).render_derived())


def records(*columns, order_by, select_from, where):
    """The rows as an array of anonymous records (null when there are none), ordered: a scalar subquery, which
    asyncpg decodes to a list of typed tuples."""
    return (select(func.array_agg(aggregate_order_by(func.row(*columns), *order_by)))
            .select_from(select_from).where(*where).scalar_subquery())


class Prepared:
    """A statement compiled once and run on the pooled connection's asyncpg driver, which prepares it once per
    connection. SQLAlchemy's execution (the compiled-cache lookup, parameter processing, the cursor adapter and
    result objects) costs about 0.2 ms a statement on these machines, as much as the rest of a hot request.
    A Core statement keeps its types' conversions (enums, JSON) both ways and takes named parameters; plain SQL
    takes positional ones. Rows are asyncpg Records (by position or column name), or lists where a column's
    value is converted.

    `fetch` only on autocommit connections (`Context.connection()`): SQLAlchemy's driver adapter begins
    transactions lazily, so a statement sent past it could miss the transaction it belongs to. `batches` (a
    cursor) only in a transaction that has begun."""

    def __init__(self, statement: Executable | str) -> None:
        self._params: list | None = None  # plain SQL: positional parameters, passed as they are
        self._results: list = []
        self.keys: list[str] = []  # a Core statement's column names
        if isinstance(statement, str):
            self.sql = statement
            return
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        if "POSTCOMPILE" in self.sql:  # expanding IN lists and literal_execute values are rendered per execution
            raise ValueError("a statement with parameters rendered at execution cannot be prepared")
        self._params = []  # (parameter name, or None and its constant; bind processor), in the order of $1, $2, …
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise ValueError(f"{name}: a parameter computed at execution cannot be prepared")
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            self._params.append((bind.key if bind.required else None, bind.value, processor))
        processors = [column.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
                      for column in statement.exported_columns]
        self._results = processors if any(processors) else []  # empty: the rows are returned as they come
        self.keys = [column.key for column in statement.exported_columns]

    def _arguments(self, params: Mapping | Sequence) -> Sequence:
        if self._params is None:
            return params
        arguments = []
        for key, constant, processor in self._params:
            value = constant if key is None else params[key]
            arguments.append(processor(value) if processor and value is not None else value)
        return arguments

    async def fetch(self, connection: AsyncConnection, params: Mapping | Sequence = ()) -> list[Sequence]:
        sync = connection.sync_connection
        options = sync.get_execution_options()
        if options.get("isolation_level") != "AUTOCOMMIT":
            raise RuntimeError("a prepared statement runs only on an autocommit connection")
        # The checked-out connection, without the greenlet hop of get_raw_connection() (which reconnects one
        # that was invalidated).
        driver = (await connection.get_raw_connection() if sync.invalidated else sync.connection).driver_connection
        for listener in statement_listeners:
            listener(self.sql, options)
        return self._processed(await driver.fetch(self.sql, *self._arguments(params)))

    def _processed(self, rows: list) -> list[Sequence]:
        if not self._results:
            return rows
        processors = self._results
        return [[value if process is None or value is None else process(value)
                 for process, value in zip(processors, row)] for row in rows]

    async def first(self, connection: AsyncConnection, params: Mapping | Sequence = ()) -> Sequence | None:
        rows = await self.fetch(connection, params)
        return rows[0] if rows else None

    async def batches(self, connection: AsyncConnection, params: Mapping | Sequence, size: int
                      ) -> AsyncIterator[list[Sequence]]:
        """The rows `size` at a time from a server-side cursor of the connection's transaction, which must have
        begun (a statement through SQLAlchemy has run in it): a cursor lives only in a transaction."""
        driver = (await connection.get_raw_connection()).driver_connection
        if not (connection.in_transaction() and driver.is_in_transaction()):
            raise RuntimeError("a cursor runs only in a transaction that has begun")
        for listener in statement_listeners:
            listener(self.sql, connection.sync_connection.get_execution_options())
        cursor = await driver.cursor(self.sql, *self._arguments(params))
        while rows := await cursor.fetch(size):
            yield self._processed(rows)
