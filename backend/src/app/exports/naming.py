"""Names derived from a project's name: the archive's top folder and its download file name.

Project names are free text in any script, so the folder keeps the letters, marks and digits of
every language and only drops what file systems and shells trip over; the download name gets
an ASCII fallback beside its UTF-8 form (RFC 6266 / RFC 5987) for clients that read only
``filename``.
"""

import re
import unicodedata
from urllib.parse import quote
from uuid import UUID

_MAX_SLUG_CHARS = 60
# Letters, combining marks (Devanagari vowel signs, Tamil virama…) and digits make words.
_WORD_CATEGORIES = ("L", "M", "N")
# Device names Windows refuses as a folder, whatever the extension.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(1, 10)}
    | {f"lpt{n}" for n in range(1, 10)}
)


def _fallback_name(project_id: UUID) -> str:
    # A name with no letters to keep still needs a name; the id tells projects apart.
    return f"project-{project_id.hex[:8]}"


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char).startswith(_WORD_CATEGORIES)


def _hyphenate(text: str) -> str:
    spaced = "".join(char if _is_word_char(char) else " " for char in text)
    slug = "-".join(spaced.split())
    if len(slug) <= _MAX_SLUG_CHARS:
        return slug
    # Cut before the character that starts the next letter, so no letter loses its marks.
    cut = _MAX_SLUG_CHARS
    while cut > 0 and unicodedata.category(slug[cut]).startswith("M"):
        cut -= 1
    return slug[:cut].rstrip("-")


def project_slug(name: str, project_id: UUID) -> str:
    """A folder name in the project's own script: ``Мой проект!`` → ``мой-проект``."""
    slug = _hyphenate(unicodedata.normalize("NFKC", name).casefold())
    if not slug:
        return _fallback_name(project_id)
    return f"{slug}-project" if slug in _WINDOWS_RESERVED else slug


def _letters(text: str) -> int:
    return sum(1 for char in text if unicodedata.category(char).startswith("L"))


def ascii_slug(name: str, project_id: UUID) -> str:
    """The name in ASCII where it has an ASCII form (``Café`` → ``cafe``); a name whose letters
    would be lost (Cyrillic, Han…) gets the id-based name instead of leftover fragments."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    if _letters(ascii_only) < _letters(unicodedata.normalize("NFC", name)):
        return _fallback_name(project_id)
    slug = _hyphenate(re.sub(r"[^a-z0-9]+", " ", ascii_only))
    return slug if slug else _fallback_name(project_id)


def content_disposition(file_name: str, ascii_file_name: str) -> str:
    """``attachment`` with both forms; the ASCII one cannot break out of its quotes."""
    return (
        f"attachment; filename=\"{ascii_file_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
    )
