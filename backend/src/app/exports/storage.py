"""Where archives live: a small interface, and the local folder that implements it.

The API and the worker see archives only through :class:`ExportStorage`, so an object store
can replace the folder without touching them. Keys are ``<project_id>/<export_id>.zip``: a
project's archives share a prefix, and deleting the project removes the prefix.
"""

import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol
from uuid import UUID

import anyio

from app.exports.exceptions import ArchiveNotStoredError

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^(?P<project>[0-9a-f-]{36})/[0-9a-f-]{36}\.zip$")


def archive_key(project_id: UUID, export_id: UUID) -> str:
    return f"{project_id}/{export_id}.zip"


class ExportStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` whole or not at all (a reader never sees half)."""

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; :class:`ArchiveNotStoredError` when there are none."""

    async def size(self, key: str) -> int: ...

    async def delete(self, key: str) -> bool:
        """Remove one archive; False when it was not there."""

    async def delete_project(self, project_id: UUID) -> None:
        """Remove every archive of a project."""


async def read_all(storage: ExportStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key)])


class LocalExportStorage:
    """Archives as files under one folder (by default ``<data dir>/exports``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # Keys are made from ids only; anything else (``..``, an absolute path) is a bug.
        if _KEY.fullmatch(key) is None:
            raise ValueError(f"not an archive key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(_write_atomically, self._path(key), data)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await anyio.open_file(path, "rb")
        except FileNotFoundError:
            raise ArchiveNotStoredError(key) from None
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def size(self, key: str) -> int:
        try:
            stat = await anyio.Path(self._path(key)).stat()
        except FileNotFoundError:
            raise ArchiveNotStoredError(key) from None
        return stat.st_size

    async def delete(self, key: str) -> bool:
        try:
            await anyio.Path(self._path(key)).unlink()
        except FileNotFoundError:
            return False
        return True

    async def delete_project(self, project_id: UUID) -> None:
        folder = self.root / str(project_id)
        await anyio.to_thread.run_sync(_remove_folder, folder)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written beside the target and renamed over it: a crash leaves no half archive under
    # the real name, and a reader sees either nothing or the whole file.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_folder(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
