"""Item 6 of run_all: import time of the app and cold start of ``serve``, beside ``python -c pass``.

- import: wall time of ``python -c "import app.main"`` against ``python -c pass``, each run as
  a fresh process, alternated, ``runs`` times;
- cold start: ``jeex-idea serve`` on a data dir that an earlier ``serve`` has initialised
  (PostgreSQL cluster, Valkey, keys, Qdrant folder all present), from the spawn to the first
  200 of ``/health/ready``; the process is stopped with SIGTERM after each run.

Neither is pinned: start-up is the whole machine's work (serve starts PostgreSQL and Valkey as
processes of their own).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import BACKEND, free_port, stop, wait_ready


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("JEEX_", "OTEL_"))
    }
    env.update(extra)
    return env


def time_command(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=BACKEND, env=_clean_env())
    return (time.perf_counter() - started) * 1000


def imports(runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"python -c pass": [], "import app.main": []}
    time_command([sys.executable, "-c", "import app.main"])  # warm the page cache
    for _ in range(runs):
        figures["python -c pass"].append(time_command([sys.executable, "-c", "pass"]))
        figures["import app.main"].append(time_command([sys.executable, "-c", "import app.main"]))
    return figures


def serve_once(data_dir: Path) -> float:
    port = free_port()
    command = [str(Path(sys.executable).parent / "jeex-idea"), "serve", "--port", str(port)]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=BACKEND,
        env=_clean_env(JEEX_DATA_DIR=str(data_dir), JEEX_LOG_LEVEL="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/health/ready", process)
        return (time.monotonic() - started) * 1000
    finally:
        stop(process, timeout=60)


def cold_starts(runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="jeex-bench-serve-") as tmp:
        first = serve_once(Path(tmp))  # initialises the data dir
        return {
            "first serve (initialises the data dir)": [first],
            "serve": [serve_once(Path(tmp)) for _ in range(runs)],
        }


def run(quick: bool) -> dict[str, dict[str, list[float]]]:
    return {
        "imports": imports(3 if quick else 10),
        "cold_start": cold_starts(1 if quick else 3),
    }
