"""Part of item 3: what the conversation protocol costs per message kind, today's beside the new.

"Today's protocol" is the engine at ``BASELINE`` (checked out into a temporary git worktree);
the new one is the working tree being benchmarked. Each runs as its own API process (the
production app as ``bench/baseline_apps.conversation_app`` serves it, job worker in the
process) with its own database migrated by its own code, one after the other, and each is
driven through the HTTP API as a user drives it: the idea, ``answers`` answer turns per stage
(the last one closes the stage), and ``POST /stages/{stage}/start`` for the next stage, through
all four stages; then, on a second project whose idea document was edited by hand to 14 KB, one
answer turn.

A warm-up project (the idea and one answer, not measured) comes first on each side.
The model is the scripted server of ``backend/tests/llm_double`` answering with realistic sizes
(``BenchModel``: a ~1,500-character section, documents that grow with every section) for both
protocols' output schemas, with no delay. Model latency is modelled, not slept: a call costs
``1 s + output tokens / 40 s`` (tokens as the scripted server counts them: words). Per run the
model server records every request: its output schema (property set) or "stream", prompt and
output tokens, order, and whether it finished before the run's first streamed token (the first
``expert.section.delta`` event on the project's SSE stream). "Modelled seconds to the next
questions" is the modelled time of the run's calls up to and including the call that wrote
the questions, plus the measured time from the POST to the ``expert.questions`` event (the
engine's own time, measured with a model that answers at once); for a turn that closes the
stage (no next questions) it is the whole run's.

    python bench/turns.py --protocol-compare [--answers 2] [--section-chars 1500]
"""

import argparse
import asyncio
import contextlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from _harness import (
    BACKEND,
    ROOT,
    Stack,
    access_token,
    api_environment,
    start_api,
)

BASELINE = "5b77134"
CALL_SECONDS = 1.0
OUTPUT_TOKENS_PER_SECOND = 40.0
STAGES = ("idea", "specs", "architecture", "plan")
IDEA = (
    "Хочу сделать приложение, через которое маленькие пекарни продают хлеб ночью: остатки дня "
    "со скидкой, заказ и оплата в приложении, курьер забирает и везёт покупателю."
)
ANSWER = "1.b, 2.a, 3.c — нужен упор на B2B"
MODEL = "scripted-model"
BIG_DOCUMENT_CHARS = 14_000

FIRST, ANSWER_TURN, CLOSING, START, BIG = (
    "first message",
    "answer turn",
    "answer turn closing the stage",
    "stage start",
    "answer turn, 14 KB document",
)
KINDS = (FIRST, ANSWER_TURN, CLOSING, START, BIG)

# Output schemas by property set, to label the calls and to tell the protocols apart.
SCHEMA_LABELS = {
    frozenset({"language"}): "language",
    frozenset({"greeting", "restructured_idea"}): "greeting",
    frozenset({"language", "greeting", "restructured_idea"}): "first message",
    frozenset({"action", "reason", "agent"}): "floor",
    frozenset({"questions"}): "questions",
    frozenset({"kind", "expert"}): "intent",
    frozenset({"kind", "expert", "reply"}): "intent with reply",
    frozenset({"document", "summary"}): "integration (whole document)",
    frozenset({"edits", "summary", "stage_covered"}): "integration (edits)",
    frozenset({"message"}): "stage closing",
}
NEW_ONLY = {"first message", "integration (edits)"}
"""Schemas only the new protocol asks for: without them the new side is not the new engine."""


# --- the model -----------------------------------------------------------------------------------


class BenchModel:
    """Answers both protocols' schemas the way a real model would, in realistic sizes.

    ``closing`` (set by the driver for the last answer turn of a stage) makes the floor
    decision say ``stage_covered`` (today's protocol) or the integration set ``stage_covered``
    (the new one). A schema it does not know, or a built answer the schema rejects, gets a
    random valid instance instead; such calls are listed in ``unexpected``.
    """

    def __init__(self, seed: int = 1, section_chars: int = 1500) -> None:
        import random

        from tests.llm_double.random_schema import markdown_document

        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - reproducible text, not secrets
        self.section_chars = section_chars
        self.markdown = markdown_document
        self.closing = False
        self.last_section: tuple[str, str] = ("summary", "")
        self.unexpected: list[str] = []
        self._validators: dict[str, Any] = {}

    def reset(self) -> None:
        """Start the text over, so both sides get the same text for the same calls."""
        self.rng.seed(self.seed)
        self.closing = False
        self.last_section = ("summary", "")

    def __call__(self, body: dict[str, Any]) -> Any:
        from tests.conversation_double import _prompt
        from tests.llm_double.random_schema import random_instance
        from tests.llm_double.script import TextReply, requested_schema, structured_reply

        prompt = _prompt(body)
        schema = requested_schema(body)
        if schema is None:
            return TextReply(self.section(prompt))
        properties = frozenset(schema.get("properties", {}))
        for candidate in self.candidates(properties, prompt):
            if self.valid(schema, candidate):
                return structured_reply(body, candidate)
        self.unexpected.append(",".join(sorted(properties)))
        value = random_instance(schema, self.rng, overrides={"stage_covered": self.closing})
        return structured_reply(body, value)

    def valid(self, schema: dict[str, Any], value: Any) -> bool:
        import jsonschema_rs

        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema_rs.Draft202012Validator(schema)
        return bool(self._validators[key].is_valid(value))

    # --- what it writes ------------------------------------------------------------------

    def prose(self, chars: int) -> str:
        return self.markdown(self.rng, chars, ()).strip()

    def sentence(self, chars: int) -> str:
        return " ".join(self.prose(chars + 40).replace("#", "").split())[:chars].strip() + "."

    def section(self, prompt: str) -> str:
        """An expert's section: a heading, then each of the expert's markers under a heading."""
        task = prompt.split("<<<", 1)[0]
        keys = (
            re.findall(r"<!-- section:([a-z0-9_]+) -->", task)
            or re.findall(r"<!-- section:([a-z0-9_]+) -->", prompt)[:1]
        )
        keys = list(dict.fromkeys(keys)) or ["summary"]
        share = max(200, self.section_chars // len(keys))
        parts = [f"## {self.sentence(30).rstrip('.')}\n"]
        for key in keys:
            parts.append(f"\n### {key.replace('_', ' ').capitalize()}\n\n<!-- section:{key} -->\n")
            parts.append(f"\n{self.prose(share)}\n")
        text = "".join(parts)
        self.last_section = (keys[0], text)
        return text

    def questions(self, lettered: bool) -> list[dict[str, Any]]:
        result = []
        for _ in range(3):
            options = [self.sentence(60) for _ in range(self.rng.randint(3, 4))]
            if lettered:
                result.append(
                    {
                        "text": self.sentence(120),
                        "options": [
                            {"letter": "abcde"[index], "text": text}
                            for index, text in enumerate(options)
                        ],
                        "recommended": "b",
                    }
                )
            else:
                result.append({"text": self.sentence(120), "options": options, "recommended": 2})
        return result

    def candidates(  # noqa: PLR0912 - one branch per output schema, as a table reads
        self, properties: frozenset[str], prompt: str
    ) -> Iterator[dict[str, Any]]:
        from tests.conversation_double import _block

        greeting = self.sentence(250)
        idea = (
            f"# Идея\n\n## Summary\n\n<!-- section:summary -->\n\n"
            f"{_block(prompt, 'Raw idea:') or IDEA}\n\n{self.prose(1200)}\n"
        )
        if properties == {"language"}:
            yield {"language": "ru"}
        elif properties == {"greeting", "restructured_idea"}:
            yield {"greeting": greeting, "restructured_idea": idea}
        elif properties == {"language", "greeting", "restructured_idea"}:
            yield {"language": "ru", "greeting": greeting, "restructured_idea": idea}
        elif {"action", "reason"} <= properties:
            experts = [
                name.strip()
                for name in _line_after(prompt, "The experts of this stage:").split(",")
                if name.strip()
            ]
            spoken = _line_after(prompt, "Experts who already had the floor in this stage")
            waiting = [name for name in experts if name not in spoken] or experts
            if self.closing or not waiting:
                yield {"action": "stage_covered", "agent": None, "reason": self.sentence(150)}
            else:
                yield {"action": "give_floor", "agent": waiting[0], "reason": self.sentence(150)}
        elif properties == {"questions"}:
            yield {"questions": self.questions(lettered=False)}
            for question in (questions := self.questions(lettered=False)):
                question["recommended"] = 1
            yield {"questions": questions}
            yield {"questions": self.questions(lettered=True)}
        elif properties == {"kind", "expert"}:
            yield {"kind": "answers", "expert": None}
        elif properties == {"kind", "expert", "reply"}:
            yield {"kind": "answers", "expert": None, "reply": None}
            yield {"kind": "answers", "expert": None, "reply": ""}
        elif properties == {"document", "summary"}:
            document = _block(prompt, "document:\n<<<")
            section = _block(prompt, "section:\n<<<") or self.last_section[1]
            yield {"document": f"{document}\n\n{section}", "summary": self.sentence(120)}
        elif properties == {"edits", "summary", "stage_covered"}:
            key, _ = self.last_section
            yield {
                "edits": [{"op": "accept", "section": key, "content": None}],
                "summary": self.sentence(120),
                "stage_covered": self.closing,
            }
        elif properties == {"message"}:
            yield {"message": self.sentence(400)}


def _line_after(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(label):
            return line[len(label) :].strip()
    return ""


class ModelThread:
    """The scripted server with a ``BenchModel``, on a thread of this process (CPU 1)."""

    def __init__(self, section_chars: int) -> None:
        sys.path.insert(0, str(BACKEND))  # tests.llm_double and tests.conversation_double
        import threading

        from tests.llm_double import ScriptedLLMServer

        self.model = BenchModel(section_chars=section_chars)
        self.server = ScriptedLLMServer(responder=self.model)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "ModelThread":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


# --- what one run cost ---------------------------------------------------------------------------


@dataclass
class CallRecord:
    order: int
    schema: str  # a label of SCHEMA_LABELS, the sorted property set, or "stream"
    prompt_tokens: int
    output_tokens: int
    before_first_token: bool
    modelled_s: float


@dataclass
class RunRecord:
    kind: str
    stage: str
    wall_s: float  # POST to run.completed, with a model that answers at once
    questions_s: float | None  # POST to expert.questions
    first_token_s: float | None  # POST to the first expert.section.delta
    calls: list[CallRecord]
    stage_completed: bool
    failed: bool = False

    @property
    def calls_before_first_token(self) -> int:
        return sum(call.before_first_token for call in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(call.output_tokens for call in self.calls)

    @property
    def modelled_to_questions_s(self) -> float:
        """Modelled seconds until the user sees the next questions (or the run ends)."""
        asking = [index for index, call in enumerate(self.calls) if call.schema == "questions"]
        if asking and self.questions_s is not None:
            upto = self.calls[: asking[-1] + 1]
            return sum(call.modelled_s for call in upto) + self.questions_s
        return sum(call.modelled_s for call in self.calls) + self.wall_s


def modelled_seconds(output_tokens: int) -> float:
    return CALL_SECONDS + output_tokens / OUTPUT_TOKENS_PER_SECOND


def schema_label(body: dict[str, Any]) -> str:
    from tests.llm_double.script import requested_schema

    schema = requested_schema(body)
    if schema is None:
        return "stream"
    properties = frozenset(schema.get("properties", {}))
    return SCHEMA_LABELS.get(properties, "{" + ", ".join(sorted(properties)) + "}")


@dataclass
class EventLog:
    """Every event of a project's SSE stream, with its arrival (time.monotonic)."""

    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)

    async def listen(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while True:
            size_line = await reader.readline()
            if not size_line:
                return
            size = int(size_line.strip() or b"0", 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return
            arrived = time.monotonic()
            buffer += chunk[:-2]
            *complete, buffer = re.split(rb"\r?\n\r?\n", buffer)
            for message in complete:
                self._add(arrived, message)

    def _add(self, arrived: float, message: bytes) -> None:
        kind, data = "", ""
        for line in message.decode().splitlines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if kind and data:
            self.events.append((arrived, kind, json.loads(data)))

    def first(self, kind: str, run_id: str, since: float) -> float | None:
        for arrived, name, data in self.events:
            if arrived >= since and name == kind and data.get("run_id", run_id) == run_id:
                return arrived
        return None


@dataclass
class Project:
    client: httpx.AsyncClient
    base: str
    headers: dict[str, str]
    log: EventLog
    model: ModelThread

    async def run(
        self, kind: str, stage: str, send: Callable[[], Awaitable[httpx.Response]]
    ) -> RunRecord:
        exchanges = self.model.server.exchanges
        before = len(exchanges())
        sent = time.monotonic()
        accepted = await send()
        if accepted.status_code >= 400:
            raise RuntimeError(f"{kind}: HTTP {accepted.status_code} {accepted.text[:500]}")
        run_id = accepted.json()["run"]["id"]
        deadline = sent + 120
        while True:
            done = self.log.first("run.completed", run_id, sent)
            failed = self.log.first("run.failed", run_id, sent)
            if done or failed:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind}: run {run_id} did not end within 120 s")
            await asyncio.sleep(0.002)
        ended = done or failed or sent
        await asyncio.sleep(0.2)  # the worker's bookkeeping, before the next message
        first_token = self.log.first("expert.section.delta", run_id, sent)
        questions = self.log.first("expert.questions", run_id, sent)
        made = exchanges()[before:]
        streaming = (
            max((i for i, e in enumerate(made) if e.received_at < first_token), default=0)
            if first_token is not None
            else len(made)
        )
        calls = [
            CallRecord(
                order=index + 1,
                schema=schema_label(exchange.body),
                prompt_tokens=exchange.usage[0],
                output_tokens=exchange.usage[1],
                before_first_token=index < streaming,
                modelled_s=modelled_seconds(exchange.usage[1]),
            )
            for index, exchange in enumerate(made)
        ]
        completed = any(
            sent <= at <= ended + 0.2 and name == "stage.completed" and data.get("stage") == stage
            for at, name, data in self.log.events
        )
        return RunRecord(
            kind=kind,
            stage=stage,
            wall_s=ended - sent,
            questions_s=None if questions is None else questions - sent,
            first_token_s=None if first_token is None else first_token - sent,
            calls=calls,
            stage_completed=completed,
            failed=failed is not None and done is None,
        )

    def message(self, text: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: self.client.post(
            f"{self.base}/messages", json={"content": text}, headers=self.headers
        )

    def start(self, stage: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: self.client.post(f"{self.base}/stages/{stage}/start", headers=self.headers)


@contextlib.asynccontextmanager
async def open_project(client: httpx.AsyncClient, port: int, token: str, model: ModelThread) -> Any:
    from sse_fanout import open_subscriber

    headers = {"Authorization": f"Bearer {token}"}
    created = await client.post("/api/v1/projects", json={"name": "protocol"}, headers=headers)
    created.raise_for_status()
    base = f"/api/v1/projects/{created.json()['id']}"
    stream = await open_subscriber("127.0.0.1", port, f"{base}/events", token)
    log = EventLog()
    listener = asyncio.create_task(log.listen(stream.reader))
    try:
        yield Project(client, base, headers, log, model)
    finally:
        stream.writer.close()
        listener.cancel()


def big_document(chars: int) -> str:
    """A stage document of about ``chars`` characters with the idea stage's section markers."""
    import random

    from tests.llm_double.random_schema import markdown_document

    keys = ("summary", "problem", "audience", "goals_kpis", "monetisation", "market", "risks")
    rng = random.Random(14)  # noqa: S311 - reproducible text, not secrets
    share = chars // len(keys)
    parts = ["# Идея\n"]
    for key in keys:
        parts.append(f"\n## {key.replace('_', ' ').capitalize()}\n\n<!-- section:{key} -->\n\n")
        parts.append(markdown_document(rng, share - 60, ()))
    return "".join(parts)[:chars]


async def drive(
    api_url: str, token: str, model: ModelThread, answers: int
) -> tuple[list[RunRecord], list[str]]:
    """The whole project, then the 14 KB turn; returns the runs and what went wrong."""
    port = int(api_url.rsplit(":", 1)[1])
    runs: list[RunRecord] = []
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as client:
        # Not measured: the process's first run loads the embeddings model and warms its code.
        async with open_project(client, port, token, model) as project:
            await project.run(FIRST, "idea", project.message(IDEA))
            await project.run(ANSWER_TURN, "idea", project.message(ANSWER))
        async with open_project(client, port, token, model) as project:
            runs.append(await project.run(FIRST, "idea", project.message(IDEA)))
            for index, stage in enumerate(STAGES):
                if index:
                    runs.append(await project.run(START, stage, project.start(stage)))
                for number in range(1, answers + 1):
                    model.model.closing = number == answers
                    kind = CLOSING if model.model.closing else ANSWER_TURN
                    try:
                        runs.append(await project.run(kind, stage, project.message(ANSWER)))
                    finally:
                        model.model.closing = False
                if not runs[-1].stage_completed:
                    problems.append(f"the {stage} stage did not close on its last answer turn")
                    closed = await client.post(
                        f"{project.base}/stages/{stage}/complete", headers=project.headers
                    )
                    closed.raise_for_status()
        async with open_project(client, port, token, model) as project:
            await project.run(FIRST, "idea", project.message(IDEA))
            url = f"{project.base}/documents/idea"
            current = await client.get(url, headers=project.headers)
            current.raise_for_status()
            edited = await client.put(
                url,
                json={"content": big_document(BIG_DOCUMENT_CHARS), "reason": "a long document"},
                headers={**project.headers, "If-Match": current.headers["ETag"]},
            )
            edited.raise_for_status()
            runs.append(await project.run(BIG, "idea", project.message(ANSWER)))
    problems += [f"{run.kind} ({run.stage}) failed" for run in runs if run.failed]
    return runs, problems


# --- one side: its own database, its own API process ---------------------------------------------


def side_urls(stack: Stack, name: str, redis_db: int) -> tuple[str, str, str]:
    """The side's database (SQLAlchemy and libpq forms) and Valkey URLs."""
    from sqlalchemy.engine import make_url

    database = make_url(stack.database_url).set(database=f"bench_{name}")
    plain = database.set(drivername="postgresql")
    redis = stack.redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    return (
        database.render_as_string(hide_password=False),
        plain.render_as_string(hide_password=False),
        redis,
    )


def prepare(source: Path, database_url: str, data_dir: Path) -> str:
    """Migrate the side's database with the side's own code and seed its user; the user id."""
    command = [
        sys.executable,
        str(Path(__file__)),
        "--prepare",
        "--database-url",
        database_url,
        "--data-dir",
        str(data_dir),
    ]
    done = subprocess.run(
        command,
        env={**api_environment_base(), "PYTHONPATH": str(source)},
        cwd=BACKEND,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"preparing {database_url} failed: {done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def api_environment_base() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if not name.startswith("JEEX_")}


def measure_side(
    stack: Stack, name: str, source: Path, redis_db: int, model: ModelThread, answers: int
) -> dict[str, Any]:
    from uuid import UUID

    database_url, plain_url, redis_url = side_urls(stack, name, redis_db)
    user_id = UUID(prepare(source, database_url, stack.data_dir))
    model.model.reset()
    env = api_environment(
        stack,
        JEEX_DATABASE_URL=plain_url,
        JEEX_REDIS_URL=redis_url,
        JEEX_LLM_PROVIDER="openai",
        JEEX_LLM_BASE_URL=model.server.base_url,
        JEEX_LLM_MODEL=MODEL,
        JEEX_WORKER_IN_PROCESS="true",
        BENCH_QDRANT_PATH=str(stack.root / f"qdrant-{name}"),
        PYTHONPATH=str(source),
    )
    env.pop("JEEX_QDRANT_URL")
    api = start_api(stack, factory="baseline_apps:conversation_app", env=env, name=name)
    try:
        before = len(model.model.unexpected)
        runs, problems = asyncio.run(drive(api.url, access_token(stack, user_id), model, answers))
    finally:
        api.stop()
    unexpected = model.model.unexpected[before:]
    if unexpected:
        problems.append(f"schemas the bench model does not know: {sorted(set(unexpected))}")
    return {"source": str(source), "runs": [asdict(run) for run in runs], "problems": problems}


@contextlib.contextmanager
def baseline_tree(commit: str) -> Iterator[Path]:
    """The engine at ``commit`` in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="jeex-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), commit],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)],
                cwd=ROOT,
                check=False,
                capture_output=True,
            )


def run(
    stack: Stack,
    *,
    answers: int = 2,
    section_chars: int = 1500,
    baseline: str = BASELINE,
    sides: tuple[str, ...] = ("old", "new"),
    new_ref: str | None = None,
) -> dict[str, Any]:
    """Both protocols on the same stack; never raises for the new side: its error is recorded."""
    result: dict[str, Any] = {
        "baseline": baseline,
        "new_ref": new_ref or "the working tree",
        "answers_per_stage": answers,
        "section_chars": section_chars,
        "call_seconds": CALL_SECONDS,
        "output_tokens_per_second": OUTPUT_TOKENS_PER_SECOND,
    }
    with ModelThread(section_chars) as model:
        if "old" in sides:
            with baseline_tree(baseline) as tree:
                result["old"] = measure_side(
                    stack, "old", tree / "backend" / "src", 1, model, answers
                )
        if "new" in sides:
            try:
                with contextlib.ExitStack() as trees:
                    source = BACKEND / "src"
                    if new_ref is not None:
                        source = trees.enter_context(baseline_tree(new_ref)) / "backend" / "src"
                    new = measure_side(stack, "new", source, 2, model, answers)
            except Exception as error:
                new = {"runs": [], "problems": [], "error": f"{type(error).__name__}: {error}"}
            labels = {call["schema"] for run in new["runs"] for call in run["calls"]}
            if new["runs"] and not labels & NEW_ONLY:
                new["error"] = (
                    "the working tree does not speak the new protocol: none of its output "
                    f"schemas ({', '.join(sorted(NEW_ONLY))}) was requested; seen: "
                    f"{', '.join(sorted(labels))}"
                )
            result["new"] = new
    return result


# --- the figures ---------------------------------------------------------------------------------


def summary(side: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per message kind, the mean per run of each figure."""
    by_kind: defaultdict[str, list[RunRecord]] = defaultdict(list)
    for raw in side.get("runs", []):
        calls = [CallRecord(**call) for call in raw["calls"]]
        by_kind[raw["kind"]].append(RunRecord(**{**raw, "calls": calls}))
    figures = {}
    for kind, runs in by_kind.items():
        count = len(runs)
        figures[kind] = {
            "runs": count,
            "calls": sum(len(run.calls) for run in runs) / count,
            "before_first_token": sum(run.calls_before_first_token for run in runs) / count,
            "output_tokens": sum(run.output_tokens for run in runs) / count,
            "prompt_tokens": sum(c.prompt_tokens for run in runs for c in run.calls) / count,
            "modelled_s": sum(run.modelled_to_questions_s for run in runs) / count,
            "engine_s": sum(run.wall_s for run in runs) / count,
        }
    return figures


def project_tokens(side: dict[str, Any]) -> tuple[int, int]:
    """Output and prompt tokens of the whole four-stage project (the 14 KB turn apart)."""
    calls = [call for run in side.get("runs", []) if run["kind"] != BIG for call in run["calls"]]
    return sum(c["output_tokens"] for c in calls), sum(c["prompt_tokens"] for c in calls)


def _cell(old: float | None, new: float | None, digits: int = 1) -> str:
    def fmt(value: float | None) -> str:
        return "—" if value is None else f"{value:,.{digits}f}"

    ratio = f" ({new / old:.2f}×)" if old and new is not None else ""
    return f"{fmt(old)} / {fmt(new)}{ratio}"


def markdown(result: dict[str, Any]) -> str:
    old, new = result.get("old", {}), result.get("new", {})
    old_figures, new_figures = summary(old), summary(new)
    lines = [
        f"Protocol cost per message kind: today's (`{result['baseline']}`) / the new one's "
        f"({result.get('new_ref', 'the working tree')}) "
        f"(ratio new ÷ old); means per message; {result['answers_per_stage']} answer turns per "
        f"stage; sections of about {result['section_chars']:,} characters; a model call is "
        f"modelled as {result['call_seconds']:.0f} s + output tokens / "
        f"{result['output_tokens_per_second']:.0f} s.",
        "",
        "| message kind | runs | model calls | calls before the first streamed token | "
        "output tokens | prompt tokens | modelled s to the next questions |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KINDS:
        a, b = old_figures.get(kind), new_figures.get(kind)
        if a is None and b is None:
            continue

        def get(figures: dict[str, float] | None, key: str) -> float | None:
            return None if figures is None else figures[key]

        lines.append(
            f"| {kind} | {_cell(get(a, 'runs'), get(b, 'runs'), 0)} "
            f"| {_cell(get(a, 'calls'), get(b, 'calls'))} "
            f"| {_cell(get(a, 'before_first_token'), get(b, 'before_first_token'))} "
            f"| {_cell(get(a, 'output_tokens'), get(b, 'output_tokens'), 0)} "
            f"| {_cell(get(a, 'prompt_tokens'), get(b, 'prompt_tokens'), 0)} "
            f"| {_cell(get(a, 'modelled_s'), get(b, 'modelled_s'))} |"
        )
    (old_out, old_in), (new_out, new_in) = project_tokens(old), project_tokens(new)
    lines += [
        "",
        f"Whole project (first message, {len(STAGES)} stages): output tokens "
        f"{_cell(old_out, new_out if new.get('runs') else None, 0)}; prompt tokens "
        f"{_cell(old_in, new_in if new.get('runs') else None, 0)}.",
        "",
        "Calls by output schema (whole run, all messages): calls, output tokens.",
        "",
        "| schema | old calls | old output tokens | new calls | new output tokens |",
        "|---|---|---|---|---|",
    ]
    by_schema: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for offset, side in ((0, old), (2, new)):
        for raw in side.get("runs", []):
            for call in raw["calls"]:
                by_schema[call["schema"]][offset] += 1
                by_schema[call["schema"]][offset + 1] += call["output_tokens"]
    for schema, (a_calls, a_tokens, b_calls, b_tokens) in sorted(by_schema.items()):
        lines.append(f"| {schema} | {a_calls} | {a_tokens:,} | {b_calls} | {b_tokens:,} |")
    for label, side in (("old", old), ("new", new)):
        for problem in side.get("problems", []):
            lines.append(f"\n**{label}:** {problem}")
        if side.get("error"):
            lines.append(f"\n**{label} side failed:** {side['error']}")
    return "\n".join(lines) + "\n"


# --- entry points --------------------------------------------------------------------------------


def compare(arguments: argparse.Namespace) -> int:
    """``bench/turns.py --protocol-compare``: both sides on a fresh stack; prints the table."""
    import os

    from _harness import LOAD_CPU, can_pin, embedded_stack

    if can_pin():
        os.sched_setaffinity(0, {LOAD_CPU})
    sides = tuple(arguments.sides.split(","))
    started = time.monotonic()
    with embedded_stack("jeex-protocol-") as stack:
        result = run(
            stack,
            answers=arguments.answers,
            section_chars=arguments.section_chars,
            baseline=arguments.baseline,
            sides=sides,
            new_ref=arguments.new_ref,
        )
    result["minutes"] = (time.monotonic() - started) / 60
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, indent=1))
    print(markdown(result))
    failed = [side for side in sides if result.get(side, {}).get("error")]
    return 1 if failed else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--answers", type=int, default=2, help="answer turns per stage")
    parser.add_argument("--section-chars", type=int, default=1500)
    parser.add_argument("--baseline", default=BASELINE, help="commit of today's protocol")
    parser.add_argument("--sides", default="old,new", help="old, new or both")
    parser.add_argument(
        "--new-ref", default=None, help="measure this commit as the new side, not the working tree"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the raw result here")


def _prepare_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", action="store_true", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    arguments = parser.parse_args()
    from app.core import migrations

    asyncio.run(migrations.ensure_database_exists(arguments.database_url, connect_timeout=10))
    migrations.upgrade(arguments.database_url)
    print(asyncio.run(_seed_user(arguments.database_url, arguments.data_dir)))


async def _seed_user(database_url: str, data_dir: Path) -> Any:
    """The benchmark's user, written by the side's own repository (only what both have)."""
    from app.core.config import Settings
    from app.core.db import create_engine, create_session_factory
    from app.users import repository as user_repository

    engine = create_engine(Settings(data_dir=data_dir), database_url)
    try:
        async with create_session_factory(engine)() as session:
            user = await user_repository.add(session, email="protocol@example.com", name="bench")
            await session.commit()
            return user.id
    finally:
        await engine.dispose()


if __name__ == "__main__":
    _prepare_main()
