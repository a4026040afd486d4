"""The data dir is private to the OS user that runs the service.

It holds every project's data (PostgreSQL, Valkey's AOF, Qdrant's files, export archives) and
the keys, so before any embedded part starts: the process's umask becomes 077 (everything it
and the servers it starts create is theirs alone), the dir becomes 0700, and whatever an older
version, a restore or a copy left readable to group or others below it is made private.
"""

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

PRIVATE_UMASK = 0o077
# A data dir holds a few thousand files (PostgreSQL's, one archive per export); the walk
# stops past this many, so a start-up on a huge or looping tree stays quick.
MAX_ENTRIES = 200_000

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Tightened:
    checked: int
    fixed: int
    complete: bool


def secure_data_dir(data_dir: Path) -> Tightened:
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.perf_counter()
    result = _drop_group_and_other_bits(data_dir)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    # A fix means something had been exposed (or a walk left unfinished): worth a warning.
    log = logger.warning if result.fixed or not result.complete else logger.info
    log(
        "data_dir_permissions",
        checked=result.checked,
        fixed=result.fixed,
        complete=result.complete,
        duration_ms=elapsed_ms,
    )
    return result


def _drop_group_and_other_bits(root: Path) -> Tightened:
    fixed = 0
    checked = 0
    pending = [str(root)]
    fixed += _tighten(str(root), os.stat(root, follow_symlinks=False).st_mode)
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:  # removed while we walk (a server's runtime file)
            continue
        for entry in entries:
            checked += 1
            if checked > MAX_ENTRIES:
                return Tightened(checked=checked - 1, fixed=fixed, complete=False)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except FileNotFoundError:
                continue
            # A link is never followed: its target may lie outside the data dir, and a link's
            # own mode means nothing on Linux.
            if stat.S_ISLNK(mode):
                continue
            fixed += _tighten(entry.path, mode)
            if stat.S_ISDIR(mode):
                pending.append(entry.path)
    return Tightened(checked=checked, fixed=fixed, complete=True)


def _tighten(path: str, mode: int) -> int:
    permissions = stat.S_IMODE(mode)
    if not permissions & 0o077:
        return 0
    try:
        os.chmod(path, permissions & ~0o077)
    except FileNotFoundError:
        return 0
    return 1
