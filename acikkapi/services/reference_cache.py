"""Reference data (il, ilçe, mahalle/köy, service categories) kept in the server between requests.

It changes only when an administrator changes it. Triggers on its tables count every change in
`reference_version` (migration 0006); the count is read at most every `check_seconds`, and when it has
moved, everything cached for the old data is dropped. A change is therefore served at most `check_seconds`
after it committed.
"""

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from acikkapi.models import ReferenceVersion

T = TypeVar("T")
VERSION = select(ReferenceVersion.version)


class ReferenceCache:
    def __init__(self, sessionmaker: async_sessionmaker, check_seconds: float) -> None:
        self.sessionmaker = sessionmaker
        self.check_seconds = check_seconds
        self._version: int | None = None
        self._values: dict = {}
        self._fresh_until = -math.inf
        self._checking = asyncio.Lock()

    async def current(self) -> dict:
        """What is cached for the reference data as it is now; callers add to it. Raises when the database
        cannot say which version is current."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._fresh_until:
            return self._values
        async with self._checking:
            if loop.time() >= self._fresh_until:  # not checked by another request while this one waited
                started = loop.time()
                async with self.sessionmaker() as session:
                    version = await session.scalar(VERSION)
                if version != self._version:
                    # A new dict: what a request loaded for the old data goes into the old one, unseen.
                    self._version, self._values = version, {}
                self._fresh_until = started + self.check_seconds
        return self._values

    async def get(self, key: object, load: Callable[[], Awaitable[T]]) -> T:
        """The cached value for `key`, loaded (after the version was read) when there is none."""
        values = await self.current()
        if key not in values:
            values[key] = await load()
        return values[key]
