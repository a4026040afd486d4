"""Where archives live: a small interface, and the local folder that implements it.

The API and the worker see archives only through :class:`ExportStorage`, so an object store
can replace the folder without touching them. Keys are ``<project_id>/<export_id>.zip``: a
project's archives share a prefix, and deleting the project removes the prefix.
"""

import errno
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from uuid import UUID

import anyio
from anyio import AsyncFile

from app.exports.exceptions import ArchiveNotStoredError

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^(?P<project>[0-9a-f-]{36})/(?P<export>[0-9a-f-]{36})\.zip$")


def archive_key(project_id: UUID, export_id: UUID) -> str:
    return f"{project_id}/{export_id}.zip"


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: str
    project_id: UUID
    export_id: UUID
    modified_at: datetime


class OpenedArchive(Protocol):
    """One stored archive, opened: its size and its bytes come from the same object, so a
    delete or a replace after opening cannot change what is being read."""

    size: int

    def chunks(self) -> AsyncIterator[bytes]:
        """The bytes in order; closes the archive when they run out."""

    async def aclose(self) -> None: ...


class ExportStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` whole or not at all (a reader never sees half)."""

    async def open(self, key: str) -> OpenedArchive:
        """:class:`ArchiveNotStoredError` when nothing is stored under ``key``."""

    async def delete(self, key: str) -> bool:
        """Remove one archive; False when it was not there."""

    async def delete_project(self, project_id: UUID) -> None:
        """Remove every archive of a project."""

    async def stored(self) -> list[StoredKey]:
        """Every archive held, for the sweep that removes what no export points to."""


async def read_all(storage: ExportStorage, key: str) -> bytes:
    archive = await storage.open(key)
    return b"".join([chunk async for chunk in archive.chunks()])


class _LocalArchive:
    def __init__(self, handle: AsyncFile[bytes], size: int) -> None:
        self._handle = handle
        self.size = size

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while chunk := await self._handle.read(CHUNK_BYTES):
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._handle.aclose()


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

    async def open(self, key: str) -> OpenedArchive:
        try:
            handle = await anyio.open_file(self._path(key), "rb")
        except FileNotFoundError:
            raise ArchiveNotStoredError(key) from None
        # From the open descriptor, not the path: a file replaced or unlinked meanwhile is
        # still read whole, with the length announced.
        stat = await anyio.to_thread.run_sync(os.fstat, handle.wrapped.fileno())
        return _LocalArchive(handle, stat.st_size)

    async def delete(self, key: str) -> bool:
        try:
            await anyio.Path(self._path(key)).unlink()
        except FileNotFoundError:
            return False
        return True

    async def delete_project(self, project_id: UUID) -> None:
        await anyio.to_thread.run_sync(_remove_folder, self.root / str(project_id))

    async def stored(self) -> list[StoredKey]:
        return await anyio.to_thread.run_sync(_list_archives, self.root)


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
    # A build finishing at the same moment may add a file while the folder is being removed;
    # one more pass takes it too.
    for _ in range(3):
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.ENOTEMPTY:
                raise
        else:
            return
    shutil.rmtree(folder)


def _list_archives(root: Path) -> list[StoredKey]:
    if not root.is_dir():
        return []
    found = []
    for path in root.glob("*/*.zip"):
        key = f"{path.parent.name}/{path.name}"
        match = _KEY.fullmatch(key)
        if match is None:
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            continue
        found.append(
            StoredKey(
                key=key,
                project_id=UUID(match["project"]),
                export_id=UUID(match["export"]),
                modified_at=datetime.fromtimestamp(modified, UTC),
            )
        )
    return found
