"""OpenSpec's own validator (``@fission-ai/openspec``, pinned by the lockfile beside this
module), installed once per checkout with ``npm ci`` and run on an unpacked export."""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OPENSPEC_DIR = Path(__file__).resolve().with_name("openspec")
INSTALL_TIMEOUT_SECONDS = 600.0
VALIDATE_TIMEOUT_SECONDS = 60.0


class OpenSpecError(RuntimeError):
    """The validator could not be installed or run."""


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OpenSpecError(
            f"'{name}' is not on PATH: OpenSpec's validator needs Node.js 20.19 or newer and "
            f"npm (it is installed from {OPENSPEC_DIR / 'package-lock.json'})"
        )
    return path


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    # Two test processes on one checkout must not run `npm ci` into the same folder at once.
    digest = hashlib.sha256(str(OPENSPEC_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"jeex-openspec-{digest}.lock"
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _installed_is_current() -> bool:
    # npm writes node_modules/.package-lock.json last on every install.
    marker = OPENSPEC_DIR / "node_modules" / ".package-lock.json"
    try:
        return marker.stat().st_mtime >= (OPENSPEC_DIR / "package-lock.json").stat().st_mtime
    except FileNotFoundError:
        return False


def ensure_installed() -> Path:
    """The ``openspec`` executable, installed from the lockfile unless already current."""
    _require_tool("node")
    npm = _require_tool("npm")
    executable = OPENSPEC_DIR / "node_modules" / ".bin" / "openspec"
    if _installed_is_current():
        return executable
    with _install_lock():
        if _installed_is_current():
            return executable
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=OPENSPEC_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise OpenSpecError(
                f"'npm ci' in {OPENSPEC_DIR} took longer than {INSTALL_TIMEOUT_SECONDS:.0f}s"
            ) from error
        if result.returncode != 0:
            raise OpenSpecError(
                f"'npm ci' in {OPENSPEC_DIR} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
    return executable


def validate_strict(project_root: Path) -> tuple[int, dict[str, Any]]:
    """``openspec validate --all --strict --json`` in the folder holding ``openspec/``: the
    exit code and the report."""
    executable = ensure_installed()
    # No usage statistics from a test run, and no prompts.
    env = {**os.environ, "OPENSPEC_TELEMETRY": "0", "DO_NOT_TRACK": "1", "CI": "1"}
    result = subprocess.run(
        [str(executable), "validate", "--all", "--strict", "--json", "--no-interactive"],
        cwd=project_root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=VALIDATE_TIMEOUT_SECONDS,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise OpenSpecError(
            f"openspec validate printed no JSON report (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        ) from error
    return result.returncode, report
