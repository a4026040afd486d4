"""An npm package the tests run (a lockfile in a folder of tests/support), installed with
``npm ci`` once per checkout and again only when its lockfile changes."""

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

INSTALL_TIMEOUT_SECONDS = 600.0


class NpmPackageError(RuntimeError):
    """A tool is missing, or the package could not be installed."""


def require_tool(name: str, needed_for: str) -> str:
    """The path of ``name`` (node, npm), or an error saying what needs it."""
    path = shutil.which(name)
    if path is None:
        raise NpmPackageError(f"'{name}' is not on PATH: {needed_for}")
    return path


@contextlib.contextmanager
def _install_lock(folder: Path) -> Iterator[None]:
    # Two test processes on one checkout must not run `npm ci` into the same folder at once.
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"jeex-npm-{folder.name}-{digest}.lock"
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _installed_is_current(folder: Path) -> bool:
    # npm writes node_modules/.package-lock.json last on every install, so its age is the
    # age of the install; the folder's own mtime does not change when files deep inside do.
    marker = folder / "node_modules" / ".package-lock.json"
    try:
        return marker.stat().st_mtime >= (folder / "package-lock.json").stat().st_mtime
    except FileNotFoundError:
        return False


def ensure_installed(folder: Path, needed_for: str) -> None:
    """``npm ci`` in ``folder`` unless its node_modules is already current."""
    require_tool("node", needed_for)
    npm = require_tool("npm", needed_for)
    if _installed_is_current(folder):
        return
    with _install_lock(folder):
        if _installed_is_current(folder):
            return
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise NpmPackageError(
                f"'npm ci' in {folder} took longer than {INSTALL_TIMEOUT_SECONDS:.0f}s"
            ) from error
        if result.returncode != 0:
            raise NpmPackageError(
                f"'npm ci' in {folder} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
