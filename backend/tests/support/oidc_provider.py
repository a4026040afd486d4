"""A real, independent OpenID Connect provider for sign-in tests.

panva's ``oidc-provider`` (an OpenID-certified implementation, installed from the npm registry
with the lockfile beside this module) runs under Node.js on loopback with one confidential test
client. ``complete_login`` plays the browser through the provider's development login and
consent pages, so a test drives the real authorization code + PKCE flow without a browser.
"""

import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urljoin, urlsplit

import httpx

from tests.support import npm_package

PROVIDER_DIR = Path(__file__).resolve().with_name("oidc_provider")
CLIENT_ID = "jeex-test"
CLIENT_SECRET = "jeex-test-secret"
SCOPES = "openid email profile"

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic"]

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
MAX_LOGIN_STEPS = 20
_OUTPUT_LINES_SHOWN = 200


class OidcProviderError(RuntimeError):
    """The provider could not be installed, started or stopped."""


class OidcLoginError(RuntimeError):
    """The provider did not lead the simulated browser back to the client."""


_NEEDED_FOR = (
    "the OIDC test provider needs Node.js 18 or newer and npm (it is installed from "
    f"{PROVIDER_DIR / 'package-lock.json'})"
)


def ensure_installed() -> None:
    """Install the provider from its lockfile unless node_modules is already current."""
    npm_package.ensure_installed(PROVIDER_DIR, _NEEDED_FOR)


class OidcProvider:
    """The provider as a child process; use it as a context manager or call start/stop."""

    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET
    scopes = SCOPES

    def __init__(
        self,
        redirect_uris: Sequence[str],
        *,
        token_endpoint_auth_method: ClientAuthMethod = "client_secret_post",
        start_timeout: float = START_TIMEOUT_SECONDS,
    ) -> None:
        if not redirect_uris:
            raise ValueError("the test client needs at least one redirect URI")
        if any("," in uri for uri in redirect_uris):
            raise ValueError("redirect URIs are passed comma-separated and cannot contain ','")
        self.redirect_uris = list(redirect_uris)
        self.token_endpoint_auth_method: ClientAuthMethod = token_endpoint_auth_method
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._issuer: str | None = None
        self._output: list[str] = []
        self._output_changed = threading.Condition()

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise OidcProviderError("the provider is not running: call start() first")
        return self._issuer

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def output(self) -> str:
        """The last lines the provider printed (stdout and stderr), for failure messages."""
        with self._output_changed:
            return "\n".join(self._output[-_OUTPUT_LINES_SHOWN:])

    def output_position(self) -> int:
        """A mark for wait_for_output: only lines printed after it are searched."""
        with self._output_changed:
            return len(self._output)

    def wait_for_output(self, text: str, *, since: int = 0, timeout: float = 5.0) -> bool:
        """Whether a line containing ``text`` was printed after ``since`` within ``timeout``.

        The provider logs why it refused a request (e.g. ``grant.error: invalid_grant (PKCE
        verification failed)``) while its clients only get a generic error_description.
        """
        with self._output_changed:
            return self._output_changed.wait_for(
                lambda: any(text in line for line in self._output[since:]), timeout
            )

    def start(self) -> None:
        if self._process is not None:
            raise OidcProviderError("the provider is already running")
        ensure_installed()
        node = npm_package.require_tool("node", _NEEDED_FOR)
        env = {
            **os.environ,
            "OIDC_REDIRECT_URIS": ",".join(self.redirect_uris),
            "OIDC_CLIENT_AUTH_METHOD": self.token_endpoint_auth_method,
            "OIDC_EXIT_ON_STDIN_CLOSE": "1",
        }
        self._ready.clear()
        self._issuer = None
        with self._output_changed:
            self._output.clear()
        # Port 0: the server binds first and builds the issuer from the port it got, so no
        # other process can take the port between choosing and binding it. The open stdin pipe
        # is a lifeline: if this process dies without stop(), the server sees EOF and exits.
        self._process = subprocess.Popen(
            [node, "server.mjs", "0"],
            cwd=PROVIDER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(
            target=self._read_output, args=(self._process,), name="oidc-provider", daemon=True
        )
        self._reader.start()
        if self._ready.wait(self._start_timeout) and self._issuer is not None:
            return
        if not self._ready.is_set():
            reason = f"did not report READY within {self._start_timeout:g}s"
        else:
            # Its output ended first: the process is exiting, though it may not be reaped yet.
            try:
                reason = f"exited with code {self._process.wait(STOP_TIMEOUT_SECONDS)}"
            except subprocess.TimeoutExpired:
                reason = "closed its output without reporting READY"
        self.stop()
        raise OidcProviderError(f"the OIDC test provider {reason}:\n{self.output}")

    def _read_output(self, process: subprocess.Popen[str]) -> None:
        # Draining the pipe for the process's whole life keeps a chatty provider from
        # blocking on a full pipe buffer.
        assert process.stdout is not None
        for raw_line in process.stdout:
            line = raw_line.rstrip("\n")
            with self._output_changed:
                self._output.append(line)
                self._output_changed.notify_all()
            if self._issuer is None and line.startswith("READY "):
                self._issuer = line.removeprefix("READY ").strip()
                self._ready.set()
        # End of output before READY means the process died; wake start() up at once.
        self._ready.set()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT_SECONDS)
            self._reader = None
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        self._issuer = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class _Field:
    name: str
    kind: str
    value: str


@dataclass
class _Form:
    action: str
    method: str
    fields: list[_Field] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.text: list[str] = []
        self._form: _Form | None = None
        self._skip_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag in {"script", "style"}:
            self._skip_text += 1
        elif tag == "form":
            self._form = _Form(
                action=attributes.get("action", ""),
                method=(attributes.get("method") or "get").upper(),
            )
            self.forms.append(self._form)
        elif tag in {"input", "button"} and self._form is not None and attributes.get("name"):
            default_kind = "submit" if tag == "button" else "text"
            self._form.fields.append(
                _Field(
                    name=attributes["name"],
                    kind=(attributes.get("type") or default_kind).lower(),
                    value=attributes.get("value", ""),
                )
            )

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip_text:
            self._skip_text -= 1
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if not self._skip_text and data.strip():
            self.text.append(" ".join(data.split()))


def _form_data(form: _Form, login: str, password: str) -> dict[str, str]:
    data: dict[str, str] = {}
    login_filled = False
    submit_chosen = False
    for item in form.fields:
        if item.kind == "password":
            data[item.name] = password
        elif item.kind in {"text", "email"} and not login_filled:
            # The first visible text field of a sign-in form is the login name.
            data[item.name] = login
            login_filled = True
        elif item.kind == "submit":
            # A browser sends only the button that was pressed.
            if not submit_chosen:
                data[item.name] = item.value
                submit_chosen = True
        elif item.kind in {"checkbox", "radio", "file", "reset", "image"}:
            continue
        else:
            data[item.name] = item.value
    return data


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _page_summary(response: httpx.Response, parser: _PageParser) -> str:
    text = " | ".join(parser.text)[:1000]
    return f"{response.status_code} at {response.request.url}: {text or response.text[:1000]}"


async def complete_login(
    http: httpx.AsyncClient, authorize_url: str, login: str, *, password: str = "any"
) -> str:
    """Sign in as ``login`` at the provider and return where it sends the browser back.

    The returned URL is the client's redirect_uri with the authorization response (``code``,
    ``state``, ``iss``, or ``error``); it is not requested, since that host is the application
    under test. Cookies live in ``http``'s jar; redirects are followed here one by one.
    """
    provider_origin = _origin(authorize_url)
    request = http.build_request("GET", authorize_url)
    for _ in range(MAX_LOGIN_STEPS):
        response = await http.send(request, follow_redirects=False)
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if _origin(location) != provider_origin:
                return location
            request = http.build_request("GET", location)
            continue
        parser = _PageParser()
        parser.feed(response.text)
        parser.close()
        forms = [form for form in parser.forms if form.method == "POST"]
        if response.status_code != 200 or not forms:
            raise OidcLoginError(
                f"the provider showed no sign-in step: {_page_summary(response, parser)}"
            )
        form = forms[0]
        action = urljoin(str(response.url), form.action)
        if _origin(action) != provider_origin:
            raise OidcLoginError(
                "the provider answered with a form that posts to the client "
                "(response_mode=form_post?); only redirects back to the client are supported"
            )
        request = http.build_request("POST", action, data=_form_data(form, login, password))
    raise OidcLoginError(f"no redirect back to the client after {MAX_LOGIN_STEPS} steps")
