"""Where attachment bytes live. Keys are generated here; nothing the client sends becomes a path.

A file is written to a pending area and moved into place only once the transaction that records it has
committed (`settle_files`); downloads read only files in place. A file whose transaction fails is
deleted at once; one left pending by a process that died is settled by the retention sweep.
"""

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
PENDING = "pending"


@dataclass(frozen=True)
class StoredFile:
    key: str
    pending: bool
    written_at: datetime


class Storage(Protocol):
    async def save(self, source: BinaryIO) -> str: ...
    async def promote(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...
    def read(self, key: str) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def listing(self) -> list[StoredFile]: ...


def _is_key(name: str) -> bool:
    return len(name) == 32 and name.isalnum()


class FileSystemStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        if not _is_key(key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def _pending_path(self, key: str) -> Path:
        return self.root / PENDING / self._path(key).name

    async def save(self, source: BinaryIO) -> str:
        """Write `source` to the pending area under a new key."""
        key = secrets.token_hex(16)
        path = self._pending_path(key)

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

    def new_pending(self) -> tuple[str, Path]:
        """A new key and the pending path to write its file at, for a writer that makes the file itself; the
        file is then `promote`d like a saved one."""
        key = secrets.token_hex(16)
        path = self._pending_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return key, path

    async def promote(self, key: str) -> None:
        """Move a pending file into place. Done twice (the request and the sweep), the second finds it there."""
        source, target = self._pending_path(key), self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                source.rename(target)
            except FileNotFoundError:
                if not target.is_file():
                    raise

        await asyncio.to_thread(move)

    async def exists(self, key: str) -> bool:
        """Whether the file is in place (a pending file is not)."""
        return await asyncio.to_thread(self._path(key).is_file)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        await asyncio.to_thread(self._pending_path(key).unlink, missing_ok=True)

    async def listing(self) -> list[StoredFile]:
        """Every stored file, pending or in place, with the time it was written."""
        def scan() -> list[StoredFile]:
            found = []
            if not self.root.is_dir():
                return found
            for folder in os.scandir(self.root):
                if not folder.is_dir():
                    continue
                for entry in os.scandir(folder.path):
                    if _is_key(entry.name) and entry.is_file():
                        written = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                        found.append(StoredFile(entry.name, folder.name == PENDING, written))
            return found

        return await asyncio.to_thread(scan)


async def settle_files(storage: Storage, keys: list[str], *, committed: bool) -> None:
    """Promote (after the write that recorded them committed) or delete (after it did not) pending files. A
    failure here does not undo the outcome: a file left pending is promoted or deleted by the retention sweep."""
    for key in keys:
        try:
            await (storage.promote(key) if committed else storage.delete(key))
        except OSError:
            log.exception("stored file %s could not be %s", key, "promoted" if committed else "deleted")
