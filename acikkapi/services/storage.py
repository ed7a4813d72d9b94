"""Where attachment bytes live. Keys are generated here; nothing the client sends becomes a path."""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024


class Storage(Protocol):
    async def save(self, source: BinaryIO) -> str: ...
    def read(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...


class FileSystemStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        if len(key) != 32 or not key.isalnum():
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    async def save(self, source: BinaryIO) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)

        def copy() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            source.seek(0)
            with open(path.with_suffix(".part"), "wb") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                target.flush()
                os.fsync(target.fileno())
            path.with_suffix(".part").rename(path)

        await asyncio.to_thread(copy)
        return key

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
