"""LISTEN on PostgreSQL channels over one dedicated connection, never a pooled one: it is held for the process's
life. NOTIFY is delivered only when the notifying transaction commits, to every listening process of every host,
so a process hears of what another one committed without a server of its own in between.

A lost connection is made again (a half-open one is found by a periodic check); `on_connect` runs each time the
channels are listened to, so a listener can catch up on what it may have missed meanwhile.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)
CHECK_SECONDS = 30.0  # a connection that dropped silently is noticed this late at most


def listener_dsn(url: URL) -> str:
    """The libpq DSN of the engine's URL (asyncpg's own driver takes it as it is)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    def __init__(self, dsn: str, handlers: dict[str, Callable[[str], None]], *,
                 on_connect: Callable[[], Awaitable[None]] | None = None, retry_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.handlers = handlers
        self.on_connect = on_connect
        self.retry_seconds = retry_seconds
        self.listening = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database restarting, a network cut: listen again shortly
                log.warning("LISTEN connection lost: %r; reconnecting", error)
            self.listening.clear()
            await asyncio.sleep(self.retry_seconds)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        try:
            for channel, handler in self.handlers.items():
                await connection.add_listener(channel, lambda _c, _pid, _channel, payload, h=handler: h(payload))
            self.listening.set()
            if self.on_connect:
                await self.on_connect()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
                except TimeoutError:
                    await connection.execute("SELECT 1", timeout=CHECK_SECONDS)
            raise ConnectionError("the LISTEN connection was closed")
        finally:
            connection.terminate()
