"""The whole product for the browser tests: `jeex-idea serve` on a fresh data dir, with the test
model server playing a Russian conversation, a local owner and a second user to sign in as.

The scripted models answer from what each request asks (its output schema and prompt), never
from the order of the calls: a raw idea gets the PM's greeting and `idea` v1, then an expert's
questions (five options a–e each, one recommended); an answer gets that expert's section,
streamed a word at a time slowly enough to watch, which the PM takes into the next version;
completing the stage and starting `specs` brings that stage's first expert with questions.

By hand, for `npm run e2e` in frontend/ (Ctrl-C stops it)::

    cd backend && ../.venv/bin/python -m tests.e2e.web_stack
"""

import asyncio
import re
import shlex
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from tests.conversation_double import conversation_responder
from tests.e2e.helpers import CLI, ServeProcess, cli_env, run_cli
from tests.llm_double import ScriptedLLMServer
from tests.llm_double.script import Reply, TextReply, requested_schema, structured_reply

SECOND_EMAIL = "second@example.com"
SECOND_NAME = "Second user"
# Per streamed word: a section of about sixty words takes a couple of seconds to come in.
CHUNK_DELAY_SECONDS = 0.03
_SIGN_IN_LINE = re.compile(r"^Sign in: (http://\S+/sign-in\?code=\S+)$", re.MULTILINE)

QUESTIONS: list[dict[str, Any]] = [
    {
        "text": "Кто главный пользователь сервиса?",
        "options": [
            "Маленькие пекарни",
            "Покупатели, которые не спят ночью",
            "Курьеры",
            "Кафе и рестораны",
            "Сетевые магазины",
        ],
        "recommended": 1,
    },
    {
        "text": "Как сервис зарабатывает?",
        "options": [
            "Подписка для пекарен",
            "Комиссия с каждого заказа",
            "Реклама в приложении",
            "Платная доставка",
            "Продажа оборудования",
        ],
        "recommended": 2,
    },
    {
        "text": "Что обязательно в первой версии?",
        "options": [
            "Каталог хлеба рядом",
            "Оплата в приложении",
            "Отслеживание курьера",
            "Отзывы покупателей",
            "Скидки на вчерашний хлеб",
        ],
        "recommended": 1,
    },
]

SECTION_TAIL = (
    "Эксперт разобрал ответы и предлагает начать с небольшого района города: несколько "
    "пекарен, которые уже работают ночью, и покупатели, которым удобно заказать свежий хлеб "
    "до утра. Так команда быстро проверит спрос, посчитает стоимость доставки и поймёт, "
    "какие функции действительно нужны в первой версии, прежде чем расширяться дальше."
)


def web_responder(body: dict[str, Any]) -> Reply | None:
    """The conversation of tests.conversation_double, with five options to every question and
    a longer section, so that a person sees both the cards and the text coming in."""
    schema = requested_schema(body)
    if schema is not None and set(schema.get("properties", {})) == {"questions"}:
        return structured_reply(body, {"questions": QUESTIONS})
    reply = conversation_responder(body)
    if schema is None and isinstance(reply, TextReply):
        return TextReply(f"{reply.content}\n\n{SECTION_TAIL}")
    return reply


class ModelsThread:
    """The scripted model server on an event loop of its own, beside synchronous callers."""

    def __init__(self, chunk_delay: float) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.server = ScriptedLLMServer(responder=web_responder, chunk_delay=chunk_delay)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class WebStack:
    """``with WebStack(tmp) as stack:`` serve, the models and both users' sign-in links."""

    def __init__(self, root: Path, *, chunk_delay: float = CHUNK_DELAY_SECONDS) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.models = ModelsThread(chunk_delay)
        self.serve: ServeProcess | None = None
        self.sign_in_url = ""
        self.second_sign_in_url = ""

    @property
    def base_url(self) -> str:
        assert self.serve is not None, "the stack is not running"
        return self.serve.base_url

    def _serve_env(self) -> dict[str, str]:
        return cli_env(
            self.data_dir,
            JEEX_LLM_BASE_URL=self.models.server.base_url,
            JEEX_LLM_MODEL="scripted-model",
            JEEX_LLM_READ_TIMEOUT_SECONDS="10",
            JEEX_LLM_BACKOFF_INITIAL_SECONDS="0.01",
            JEEX_LLM_BACKOFF_MAX_SECONDS="0.05",
            # One browser signs in, refreshes and signs in again many times a minute.
            JEEX_RATE_LIMIT_AUTH_PER_WINDOW="1000",
        )

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.models.start()
        env = self._serve_env()
        self.serve = ServeProcess(env, self.root / "serve.log")
        self.serve.wait_ready()
        links = _SIGN_IN_LINE.findall(self.serve.output())
        assert len(links) == 1, f"serve printed {len(links)} sign-in lines:\n{self.serve.output()}"
        self.sign_in_url = links[0]
        created = run_cli(
            "users", "create", "--email", SECOND_EMAIL, "--name", SECOND_NAME, env=env
        )
        assert created.returncode == 0, created.stderr
        self.second_sign_in_url = self.mint_sign_in_url(SECOND_EMAIL)

    def mint_sign_in_url(self, email: str | None = None) -> str:
        """Another single-use link, for the local owner or ``email``."""
        extra = ["--email", email] if email is not None else []
        result = run_cli("sign-in-link", *extra, env=cli_env(self.data_dir))
        assert result.returncode == 0, result.stderr
        [link] = _SIGN_IN_LINE.findall(result.stdout)
        return str(link)

    def sign_in_command(self) -> str:
        """The shell command that prints a new `Sign in:` line (add ``--email`` for another
        user): what a browser test runs when it needs more than the two links."""
        return shlex.join(["env", f"JEEX_DATA_DIR={self.data_dir}", CLI, "sign-in-link"])

    def environment(self) -> dict[str, str]:
        """What `npm run e2e` reads."""
        return {
            "JEEX_E2E_BASE_URL": self.base_url,
            "JEEX_E2E_SIGN_IN_URL": self.sign_in_url,
            "JEEX_E2E_SECOND_SIGN_IN_URL": self.second_sign_in_url,
            "JEEX_E2E_SECOND_EMAIL": SECOND_EMAIL,
            "JEEX_E2E_SIGN_IN_COMMAND": self.sign_in_command(),
        }

    def stop(self) -> None:
        try:
            if self.serve is not None:
                self.serve.terminate()
        finally:
            self.models.stop()

    def __enter__(self) -> "WebStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _raise_interrupt)
    root = Path(tempfile.mkdtemp(prefix="jeex-web-stack-"))
    try:
        with WebStack(root) as stack:
            for name, value in stack.environment().items():
                print(f"export {name}={shlex.quote(value)}")
            print(f"# sign-in links are single-use; more with: {stack.sign_in_command()}")
            print(f"#   (add --email {SECOND_EMAIL} for the second user)")
            print(f"# serve's output: {root / 'serve.log'}; Ctrl-C stops everything", flush=True)
            try:
                while True:
                    signal.pause()
            except KeyboardInterrupt:
                pass
    finally:
        shutil.rmtree(root, ignore_errors=True)
        print("stopped", flush=True)


if __name__ == "__main__":
    main()
