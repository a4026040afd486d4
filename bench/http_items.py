"""Items 1, 2, 4 and 5 of the benchmark issue: the HTTP API under load, beside its baselines.

Up to four servers run at once on CPU 0, each in its own process (``bench/serve_api.py``):

- ``full``: the production replica as it runs without an OTLP exporter configured (so nothing
  is instrumented), structlog's JSON request log on, rate limits on (set high), bearer auth;
- ``traced``: the same with spans recorded: the OpenTelemetry SDK installed before the app is
  built (batch processor, an exporter that counts and drops), every request sampled;
- ``bare``: FastAPI over raw asyncpg with the same SQL (``bench/baseline_apps.py``);
- ``noauth``: the production replica with its auth dependency replaced by a fixed user.

Only one is loaded at a time; the others sit idle. Load comes from CPU 1: wrk for the maximum
rate (closed loop) and ``bench/loadgen.py`` for latency at a fixed rate (open loop). Every
repetition runs each app once, one after another, so a noisy moment hits all apps alike.
"""

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from _harness import (
    BENCH,
    LOAD_CPU,
    ApiProcess,
    Stack,
    access_token,
    api_environment,
    percentile,
    pinned_command,
    seed,
    start_api,
)

ROUTES = {
    "me": "/api/v1/auth/me",
    "document": "/api/v1/projects/{project}/documents/idea",
    "projects": "/api/v1/projects",
}
WRK_CONNECTIONS = 32
DOCUMENT_CHARS = 4_000
PROJECTS = 10
SSE_STREAMS = 2_000


@dataclass(frozen=True, slots=True)
class Durations:
    repetitions: int
    warmup: float
    wrk: float
    fixed: float
    auth_calls: int

    @classmethod
    def of(cls, quick: bool) -> "Durations":
        if quick:
            return cls(repetitions=1, warmup=1, wrk=3, fixed=3, auth_calls=500)
        return cls(repetitions=3, warmup=3, wrk=10, fixed=10, auth_calls=10_000)


@dataclass
class Window:
    """A stretch of wall-clock time on one server, to pick its event-loop lag samples."""

    app: str
    label: str
    started: float
    ended: float = 0.0


@dataclass
class Results:
    raw: dict[str, Any] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)


# --- load tools (on CPU 1) ---------------------------------------------------------------------


def wrk(url: str, token: str | None, seconds: float, pid: int | None = None) -> dict[str, float]:
    """The maximum rate; with ``pid``, also the server's CPU time per request (user + system),
    which other work on the machine disturbs far less than the rate itself."""
    command = [
        "wrk",
        "-t1",
        f"-c{WRK_CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "wrk_report.lua"),
    ]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(
        pinned_command([*command, url], LOAD_CPU), capture_output=True, text=True, check=True
    )
    cpu = cpu_seconds(pid) - cpu_before
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["non_2xx"] or figures["socket_errors"]:
        raise RuntimeError(f"wrk saw failures on {url}: {figures}")
    return {
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "cpu_ms_per_request": cpu * 1000 / figures["requests"],
        "p50_ms": figures["p50_us"] / 1000,
        "p95_ms": figures["p95_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
    }


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def fixed_rate(url: str, token: str | None, rate: float, seconds: float) -> dict[str, float]:
    command = [
        sys.executable,
        str(BENCH / "loadgen.py"),
        "--url",
        url,
        "--rate",
        f"{rate:.1f}",
        "--duration",
        str(seconds),
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    done = subprocess.run(
        pinned_command(command, LOAD_CPU), capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["errors"]:
        raise RuntimeError(f"fixed-rate load saw failures on {url}: {figures}")
    return figures


def wait_idle(pid: int, timeout: float = 60) -> None:
    """Wait until a freshly started server stops using CPU (the embeddings model loads in the
    background after start-up), so that no measurement pays for it."""
    process = psutil.Process(pid)
    deadline = time.monotonic() + timeout
    process.cpu_percent(None)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if process.cpu_percent(None) < 5:
            return


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Servers:
    stack: Stack
    user: Any
    apps: dict[str, ApiProcess] = field(default_factory=dict)
    personal_token: str = ""

    def token(self, app: str) -> str | None:
        # Fresh for every call: access tokens live 15 minutes, a full run lasts longer.
        return access_token(self.stack, self.user.user_id) if app != "bare" else None

    def url(self, app: str, route: str) -> str:
        return self.apps[app].url + ROUTES[route].format(project=self.user.project_id)


def start_servers(stack: Stack, apps: list[str]) -> Servers:
    user = asyncio.run(seed(stack, projects=PROJECTS, document_chars=DOCUMENT_CHARS))
    servers = Servers(stack, user, personal_token=asyncio.run(personal_token(stack, user.user_id)))
    env = api_environment(stack, BENCH_USER_ID=str(user.user_id))
    factories = {
        "full": ("app.main:app_from_environment", "lag,gc"),
        "traced": ("app.main:app_from_environment", "lag,tracing"),
        "bare": ("baseline_apps:bare_app", "lag"),
        "noauth": ("baseline_apps:full_app_without_auth", "lag"),
    }
    for app in apps:
        factory, probes = factories[app]
        servers.apps[app] = start_api(stack, factory=factory, env=env, probes=probes, name=app)
    for app in apps:
        wait_idle(servers.apps[app].pid)
    return servers


def measured(
    results: Results, app: str, label: str, run: Callable[[], dict[str, float]]
) -> dict[str, float]:
    window = Window(app, label, time.time())
    figures = run()
    window.ended = time.time()
    results.windows.append(window)
    return figures


def throughput_and_latency(servers: Servers, durations: Durations, results: Results) -> None:
    """Items 1 and 4: the maximum rate of each route on each app, then latency at half of it."""
    for route in ROUTES:
        for app in ("full", "bare"):
            wrk(servers.url(app, route), servers.token(app), durations.warmup)
        maxima: dict[str, list[dict[str, float]]] = {"full": [], "bare": []}
        for _ in range(durations.repetitions):
            for app in ("full", "bare"):
                url, token = servers.url(app, route), servers.token(app)
                maxima[app].append(
                    measured(
                        results,
                        app,
                        f"max:{route}",
                        partial(wrk, url, token, durations.wrk, servers.apps[app].pid),
                    )
                )
        fixed: dict[str, list[dict[str, float]]] = {"full": [], "bare": []}
        rates = {app: statistics.median(run["rps"] for run in maxima[app]) / 2 for app in maxima}
        for _ in range(durations.repetitions):
            for app in ("full", "bare"):
                url, token, rate = servers.url(app, route), servers.token(app), rates[app]
                fixed[app].append(
                    measured(
                        results,
                        app,
                        f"half:{route}",
                        partial(fixed_rate, url, token, rate, durations.fixed),
                    )
                )
        results.raw.setdefault("item1", {})[route] = {"max": maxima, "half": fixed, "rates": rates}


def tracing_cost(servers: Servers, durations: Durations, results: Results) -> None:
    """Item 1's routes on the app with every request's spans recorded, beside the full app
    run again in the same repetition: what turning tracing on costs."""
    for route in ROUTES:
        runs: dict[str, list[dict[str, float]]] = {"full": [], "traced": []}
        wrk(servers.url("traced", route), servers.token("traced"), durations.warmup)
        for _ in range(durations.repetitions):
            for app, measured_runs in runs.items():
                url, token = servers.url(app, route), servers.token(app)
                measured_runs.append(wrk(url, token, durations.wrk, servers.apps[app].pid))
        results.raw.setdefault("tracing", {})[route] = runs


def personal_token_cost(servers: Servers, durations: Durations, results: Results) -> None:
    """``me`` with a personal access token instead of an access token, on the full app."""
    url = servers.url("full", "me")
    wrk(url, servers.personal_token, durations.warmup)
    results.raw["personal_token"] = [
        wrk(url, servers.personal_token, durations.wrk, servers.apps["full"].pid)
        for _ in range(durations.repetitions)
    ]


async def personal_token(stack: Stack, user_id: Any) -> str:
    """A personal access token of the benchmark user, made by the service as the API makes
    one."""
    from app.auth import service as auth_service
    from app.auth.schemas import PersonalTokenCreate
    from app.core.config import Settings
    from app.core.db import create_engine, create_session_factory

    engine = create_engine(Settings(data_dir=stack.data_dir), stack.database_url)
    try:
        async with create_session_factory(engine)() as session:
            created = await auth_service.create_personal_token(
                session, user_id, PersonalTokenCreate(name="bench"), max_active=10
            )
            await session.commit()
    finally:
        await engine.dispose()
    return created.token


def auth_cost(servers: Servers, durations: Durations, results: Results) -> None:
    """Item 2 over HTTP: the trivial route with and without its auth dependency, at the
    maximum rate, then both at one moderate fixed rate (a quarter of the full app's maximum)."""
    route = "me"
    apps = ("full", "noauth")
    for app in apps:
        wrk(servers.url(app, route), servers.token(app), durations.warmup)
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        app: {"max": [], "fixed": []} for app in apps
    }
    for _ in range(durations.repetitions):
        for app in apps:
            url, token = servers.url(app, route), servers.token(app)
            runs[app]["max"].append(wrk(url, token, durations.wrk, servers.apps[app].pid))
    rate = statistics.median(run["rps"] for run in runs["full"]["max"]) / 4
    for _ in range(durations.repetitions):
        for app in apps:
            url, token = servers.url(app, route), servers.token(app)
            runs[app]["fixed"].append(fixed_rate(url, token, rate, durations.fixed))
    results.raw["item2_http"] = {"rate": rate, "runs": runs}


def auth_in_process(stack: Stack, user_id: str, calls: int) -> dict[str, list[float]]:
    """Item 2 in process: ``bench/auth_timing.py`` on CPU 0 while the servers are idle."""
    from _harness import SERVER_CPU

    command = [
        sys.executable,
        str(BENCH / "auth_timing.py"),
        "--calls",
        str(calls),
        "--user",
        user_id,
    ]
    done = subprocess.run(
        pinned_command(command, SERVER_CPU),
        env=api_environment(stack),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"auth timing failed: {done.stderr[-2000:]}")
    timings: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return timings


def sse_held(servers: Servers, durations: Durations, results: Results, rate: float) -> None:
    """Item 5: RSS per held stream, and the trivial route's latency with and without them."""
    full = servers.apps["full"]
    url = servers.url("full", "me")
    figures: dict[str, Any] = {"rate": rate, "without": [], "with": [], "rss": []}
    for _ in range(durations.repetitions):
        figures["without"].append(
            measured(
                results,
                "full",
                "sse-without:me",
                partial(fixed_rate, url, servers.token("full"), rate, durations.fixed),
            )
        )
        before = full.rss()
        holder = subprocess.Popen(
            pinned_command(
                [
                    sys.executable,
                    str(BENCH / "sse_hold.py"),
                    "--url",
                    f"{full.url}/api/v1/projects/{servers.user.project_id}/events",
                    "--token",
                    servers.token("full") or "",
                    "--streams",
                    str(SSE_STREAMS),
                ],
                LOAD_CPU,
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            ready = json.loads(holder.stdout.readline())
            time.sleep(2.0)  # every stream is now parked in its XREAD
            after = full.rss()
            figures["rss"].append(
                {
                    "before_mib": before / 2**20,
                    "after_mib": after / 2**20,
                    "per_stream_kib": (after - before) / SSE_STREAMS / 1024,
                    "connect_seconds": ready["connect_seconds"],
                }
            )
            figures["with"].append(
                measured(
                    results,
                    "full",
                    "sse-with:me",
                    partial(fixed_rate, url, servers.token("full"), rate, durations.fixed),
                )
            )
        finally:
            assert holder.stdin is not None
            holder.stdin.close()  # the holder closes its streams and exits
            holder.wait(timeout=120)
        time.sleep(3.0)  # let the server tear the streams down before the next repetition
    results.raw["item5"] = figures


def lag_of_windows(servers: Servers, results: Results) -> None:
    """Item 4: the event-loop lag samples of each loaded window, from the stopped servers."""
    lag: dict[str, dict[str, list[float]]] = {}
    for app, server in servers.apps.items():
        samples = server.probes.get("lag", [])
        for window in (item for item in results.windows if item.app == app):
            inside = [ms for at, ms in samples if window.started <= at <= window.ended]
            if inside:
                lag.setdefault(app, {}).setdefault(window.label, []).append(
                    percentile(inside, 0.99)
                )
        if "spans_exported" in server.probes:
            exported = server.probes["spans_exported"][0][0]
            results.raw.setdefault("spans_exported", {})[app] = exported
        if "gc" in server.probes:
            # Item 1's load (max:, half:) apart from item 5's (sse-without:, sse-with:).
            groups: dict[str, list[Window]] = {}
            for window in (item for item in results.windows if item.app == app):
                kind = window.label.split(":")[0]
                groups.setdefault("item1" if kind in {"max", "half"} else kind, []).append(window)
            results.raw.setdefault("gc", {})[app] = {
                group: collections_under_load(server.probes["gc"], windows)
                for group, windows in groups.items()
            }
    results.raw["item4"] = lag


def collections_under_load(samples: list[list[float]], windows: list[Window]) -> dict[str, Any]:
    """Garbage collections that started inside the load windows: count, total and longest
    pause per generation, and the seconds of load they fell in."""
    inside = [
        (int(generation), ms)
        for at, ms, generation in samples
        if any(window.started <= at <= window.ended for window in windows)
    ]
    return {
        "load_seconds": sum(window.ended - window.started for window in windows),
        "generations": {
            str(generation): {
                "count": len(pauses),
                "total_ms": sum(pauses),
                "max_ms": max(pauses),
            }
            for generation in (0, 1, 2)
            if (pauses := [ms for gen, ms in inside if gen == generation])
        },
    }


def run(stack: Stack, items: set[str], quick: bool) -> dict[str, Any]:
    durations = Durations.of(quick)
    apps = ["full"]
    if "item1" in items:
        apps += ["bare", "traced"]
    if "item2" in items:
        apps.append("noauth")
    results = Results()
    servers = start_servers(stack, apps)
    try:
        if "item1" in items:
            throughput_and_latency(servers, durations, results)
            personal_token_cost(servers, durations, results)
            tracing_cost(servers, durations, results)
        if "item2" in items:
            auth_cost(servers, durations, results)
            results.raw["item2_in_process"] = auth_in_process(
                stack, str(servers.user.user_id), durations.auth_calls
            )
        if "item5" in items:
            me = results.raw.get("item1", {}).get("me")
            rate = me["rates"]["full"] if me else 200.0
            sse_held(servers, durations, results, rate)
    finally:
        for server in servers.apps.values():
            server.stop()
    lag_of_windows(servers, results)
    results.raw["durations"] = asdict(durations)
    with Path(servers.apps["full"].log_file).open() as log:
        results.raw["log_lines"] = sum(1 for _ in log)
    return results.raw
