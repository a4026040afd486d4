"""OpenSpec's own validator (``@fission-ai/openspec``, pinned by the lockfile beside this
module), installed once per checkout with ``npm ci`` and run on an unpacked export."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.support import npm_package

OPENSPEC_DIR = Path(__file__).resolve().with_name("openspec")
VALIDATE_TIMEOUT_SECONDS = 60.0


class OpenSpecError(RuntimeError):
    """The validator could not be installed or run."""


_NEEDED_FOR = (
    "OpenSpec's validator needs Node.js 20.19 or newer and npm (it is installed from "
    f"{OPENSPEC_DIR / 'package-lock.json'})"
)


def ensure_installed() -> Path:
    """The ``openspec`` executable, installed from the lockfile unless already current."""
    npm_package.ensure_installed(OPENSPEC_DIR, _NEEDED_FOR)
    return OPENSPEC_DIR / "node_modules" / ".bin" / "openspec"


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
