"""The web app's browser tests (`npm run e2e` in frontend/, the system's Chromium) against the
whole stack of tests.e2e.web_stack. scripts/test installs the packages and builds the app
first; this test only runs them, and copies the main screens into docs/screenshots/ when
JEEX_E2E_UPDATE_SCREENSHOTS=1."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.web_stack import WebStack

CHECKOUT = Path(__file__).resolve().parents[3]
FRONTEND = CHECKOUT / "frontend"
SCREENSHOTS = CHECKOUT / "docs" / "screenshots"
SHOWN_IN_README = ("projects.png", "chat.png", "document.png")
CHROMIUM = "/usr/bin/chromium"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    not (FRONTEND / "package.json").exists(),
    reason="frontend/package.json does not exist: the web app has not landed in this checkout",
)


def _tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


def test_the_web_app_passes_its_browser_tests(tmp_path: Path) -> None:
    assert (FRONTEND / "node_modules").is_dir(), (
        "frontend/node_modules is missing: run scripts/test"
    )
    assert (FRONTEND / "dist" / "index.html").is_file(), (
        "frontend/dist is not built: run scripts/test"
    )
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install the Debian package chromium"
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with WebStack(tmp_path / "stack") as stack:
        env = {
            **os.environ,
            **stack.environment(),
            "JEEX_E2E_SCREENSHOTS_DIR": str(shots),
            "CHROMIUM_PATH": CHROMIUM,
        }
        result = subprocess.run(
            ["npm", "run", "e2e"],
            cwd=FRONTEND,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        serve_log = stack.serve.output() if stack.serve is not None else ""
    assert result.returncode == 0, (
        f"npm run e2e failed:\n{_tail(result.stdout)}\n{_tail(result.stderr)}\n"
        f"--- serve:\n{_tail(serve_log, 40)}"
    )
    taken = sorted(shots.rglob("*.png"))
    assert taken, f"the browser tests took no screenshots in {shots}"
    for shot in taken:
        assert shot.read_bytes()[:8] == PNG_SIGNATURE, shot
    if os.environ.get("JEEX_E2E_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name in SHOWN_IN_README:
            source = next((shot for shot in taken if shot.name == name), None)
            if source is not None:
                shutil.copyfile(source, SCREENSHOTS / name)
