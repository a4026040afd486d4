"""Where each part lives: a configured URL, or an embedded server started here."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from app.core.config import Settings, SettingsError
from app.core.embedded.data_dir import secure_data_dir
from app.core.embedded.postgres import EmbeddedPostgres
from app.core.embedded.redis import EmbeddedRedis


class Part(StrEnum):
    DATABASE = "database"
    REDIS = "redis"
    QDRANT = "qdrant"


@dataclass(frozen=True, slots=True)
class Endpoints:
    database_url: str
    redis_url: str
    qdrant_url: str | None
    qdrant_path: Path | None
    embedded: frozenset[Part]

    @classmethod
    def assemble(
        cls, settings: Settings, *, database: tuple[str, bool], redis: tuple[str, bool]
    ) -> "Endpoints":
        """Combine the database and Redis endpoints with Qdrant's from the settings."""
        embedded = {Part.DATABASE} if database[1] else set()
        embedded |= {Part.REDIS} if redis[1] else set()
        qdrant_path = None
        if settings.qdrant_url is None:
            embedded.add(Part.QDRANT)
            qdrant_path = settings.data_dir / "qdrant"
        return cls(
            database_url=database[0],
            redis_url=redis[0],
            qdrant_url=settings.qdrant_url,
            qdrant_path=qdrant_path,
            embedded=frozenset(embedded),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "Endpoints":
        """Endpoints for a process that starts nothing itself (extra replicas behind uvicorn)."""
        missing = [
            name
            for name, value in (
                ("JEEX_DATABASE_URL", settings.database_url),
                ("JEEX_REDIS_URL", settings.redis_url),
                ("JEEX_QDRANT_URL", settings.qdrant_url),
            )
            if value is None
        ]
        if missing or settings.database_url is None or settings.redis_url is None:
            raise SettingsError(
                f"{', '.join(missing)}: required when the service is not started with "
                "`jeex-idea serve`, which runs the missing parts embedded"
            )
        return cls(
            database_url=asyncpg_url(settings.database_url),
            redis_url=str(settings.redis_url),
            qdrant_url=settings.qdrant_url,
            qdrant_path=None,
            embedded=frozenset(),
        )


def asyncpg_url(url: str) -> str:
    """The same database through the asyncpg driver, whatever driver the URL named."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """``url`` fit to show or log: a password in it becomes ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


_secured: set[Path] = set()


def prepare_data_dir(settings: Settings) -> None:
    """Make the data dir private before anything is written to it or started on it. Once a
    process: the walk repairs what an earlier run left, and all this process creates is
    private already through the umask."""
    if settings.data_dir in _secured:
        return
    secure_data_dir(settings.data_dir)
    _secured.add(settings.data_dir)


@contextmanager
def database_endpoint(settings: Settings) -> Iterator[tuple[str, bool]]:
    """The database URL, and whether it is an embedded server that lives as long as the block."""
    if settings.database_url is not None:
        yield asyncpg_url(settings.database_url), False
        return
    prepare_data_dir(settings)
    postgres = EmbeddedPostgres(settings.data_dir)
    postgres.start()
    try:
        yield postgres.url(), True
    finally:
        postgres.stop()


@contextmanager
def redis_endpoint(settings: Settings) -> Iterator[tuple[str, bool]]:
    if settings.redis_url is not None:
        yield str(settings.redis_url), False
        return
    prepare_data_dir(settings)
    redis = EmbeddedRedis(settings.data_dir)
    redis.start()
    try:
        yield redis.url, True
    finally:
        redis.stop()
