"""Names derived from a project's name: the archive's top folder and its download file name.

Project names are free text in any script, so the folder keeps letters of every language and
only drops what file systems and shells trip over; the download name gets an ASCII fallback
beside its UTF-8 form (RFC 6266 / RFC 5987), for clients that read only ``filename``.
"""

import re
import unicodedata
from urllib.parse import quote
from uuid import UUID

_MAX_SLUG_CHARS = 60
_NOT_WORD = re.compile(r"[^\w]+")
_NOT_ASCII_WORD = re.compile(r"[^A-Za-z0-9]+")
# Device names Windows refuses as a folder, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)


def _fallback_name(project_id: UUID) -> str:
    # A name made only of emoji or punctuation has no letters to keep; the id still tells
    # projects apart.
    return f"project-{project_id.hex[:8]}"


def _hyphenate(text: str, pattern: re.Pattern[str]) -> str:
    words = pattern.sub("-", text).replace("_", "-")
    return re.sub(r"-{2,}", "-", words).strip("-")[:_MAX_SLUG_CHARS].strip("-")


def project_slug(name: str, project_id: UUID) -> str:
    """A folder name in the project's own script: ``Мой проект!`` → ``мой-проект``."""
    slug = _hyphenate(unicodedata.normalize("NFKC", name).casefold(), _NOT_WORD)
    if not slug:
        return _fallback_name(project_id)
    return f"{slug}-project" if slug in _WINDOWS_RESERVED else slug


def ascii_slug(name: str, project_id: UUID) -> str:
    """The same name reduced to ASCII (accents dropped), for ``filename=``."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = _hyphenate(ascii_only, _NOT_ASCII_WORD)
    return slug if slug else _fallback_name(project_id)


def content_disposition(file_name: str, ascii_file_name: str) -> str:
    """``attachment`` with both forms; the ASCII one cannot break out of its quotes."""
    return (
        f"attachment; filename=\"{ascii_file_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    )
