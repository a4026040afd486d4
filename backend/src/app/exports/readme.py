"""The archive's README: an index of the documents in the project's language.

The titles and summaries come from the documents themselves, which are written in the
project's language; only the few words around them are translated here. A language without a
translation gets English words, and the manifest says so (``readme_language``).
"""

import re
from dataclasses import dataclass
from datetime import datetime

from app.projects.stages import DocumentType


@dataclass(frozen=True, slots=True)
class Labels:
    intro: str
    absent: str
    version: str
    manifest: str
    titles: dict[DocumentType, str]


def _titles(idea: str, specs: str, architecture: str, plan: str) -> dict[DocumentType, str]:
    return {
        DocumentType.IDEA: idea,
        DocumentType.SPECS: specs,
        DocumentType.ARCHITECTURE: architecture,
        DocumentType.PLAN: plan,
    }


README_LABELS: dict[str, Labels] = {
    "en": Labels(
        "The documents of this project, exported on {date}.",
        "not written yet",
        "version",
        "`manifest.json` lists every file with its version and SHA-256.",
        _titles("Idea", "Specifications", "Architecture", "Plan"),
    ),
    "ru": Labels(
        "Документы проекта, выгруженные {date}.",
        "ещё не написан",
        "версия",
        "В `manifest.json` перечислены все файлы с версиями и SHA-256.",
        _titles("Идея", "Спецификация", "Архитектура", "План"),
    ),
    "uk": Labels(
        "Документи проєкту, вивантажені {date}.",
        "ще не написаний",
        "версія",
        "У `manifest.json` перелічено всі файли з версіями та SHA-256.",
        _titles("Ідея", "Специфікація", "Архітектура", "План"),
    ),
    "de": Labels(
        "Die Dokumente dieses Projekts, exportiert am {date}.",
        "noch nicht geschrieben",
        "Version",
        "`manifest.json` führt jede Datei mit Version und SHA-256 auf.",
        _titles("Idee", "Spezifikation", "Architektur", "Plan"),
    ),
    "fr": Labels(
        "Les documents de ce projet, exportés le {date}.",
        "pas encore rédigé",
        "version",
        "`manifest.json` liste chaque fichier avec sa version et son SHA-256.",
        _titles("Idée", "Spécifications", "Architecture", "Plan"),
    ),
    "es": Labels(
        "Los documentos de este proyecto, exportados el {date}.",
        "aún no redactado",
        "versión",
        "`manifest.json` enumera cada archivo con su versión y su SHA-256.",
        _titles("Idea", "Especificaciones", "Arquitectura", "Plan"),
    ),
    "it": Labels(
        "I documenti di questo progetto, esportati il {date}.",
        "non ancora scritto",
        "versione",
        "`manifest.json` elenca ogni file con la sua versione e il suo SHA-256.",
        _titles("Idea", "Specifiche", "Architettura", "Piano"),
    ),
    "pt": Labels(
        "Os documentos deste projeto, exportados em {date}.",
        "ainda não escrito",
        "versão",
        "`manifest.json` lista cada arquivo com sua versão e seu SHA-256.",
        _titles("Ideia", "Especificações", "Arquitetura", "Plano"),
    ),
    "nl": Labels(
        "De documenten van dit project, geëxporteerd op {date}.",
        "nog niet geschreven",
        "versie",
        "`manifest.json` noemt elk bestand met zijn versie en SHA-256.",
        _titles("Idee", "Specificaties", "Architectuur", "Plan"),
    ),
    "pl": Labels(
        "Dokumenty tego projektu, wyeksportowane {date}.",
        "jeszcze nie napisany",
        "wersja",
        "`manifest.json` wymienia każdy plik z jego wersją i SHA-256.",
        _titles("Pomysł", "Specyfikacja", "Architektura", "Plan"),
    ),
    "zh": Labels(
        "本项目的文档，导出于 {date}。",
        "尚未撰写",
        "版本",
        "`manifest.json` 列出了每个文件的版本和 SHA-256。",
        _titles("构想", "需求规格", "架构", "计划"),
    ),
    "ja": Labels(
        "このプロジェクトのドキュメント（{date} にエクスポート）。",
        "未作成",
        "バージョン",
        "`manifest.json` に各ファイルのバージョンと SHA-256 が記載されています。",
        _titles("アイデア", "仕様", "アーキテクチャ", "計画"),
    ),
}
DEFAULT_README_LANGUAGE = "en"

_ATX_HEADING = re.compile(r"^#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
_SETEXT_UNDERLINE = re.compile(r"^(?:=+|-+)\s*$")
_THEMATIC_BREAK = re.compile(r"^(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_FENCE = re.compile(r"^(?:```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_NOT_PROSE = ("#", "|", ">", "<")
# Inline markup, unwrapped to its text; emphasis only where it wraps words, so that
# snake_case names and "2 * 3" stay as written.
_INLINE = (
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
)
# After a Western full stop a space follows; after a CJK one, the next sentence starts at once.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")
_MAX_SUMMARY_CHARS = 200
# The inline patterns backtrack over the text they are given (an unclosed ``__`` scans to its
# end), so they only ever see this much of a heading or paragraph: more than a summary or a
# title can show, and it keeps a hostile document linear ("__a " * 20000 took 84 s).
_MAX_INLINE_CHARS = 1_000


def without_comments(text: str) -> str:
    """Drop ``<!-- … -->`` in one pass (a regex would rescan after every unclosed one)."""
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        kept.append(text[position:start])
        end = text.find("-->", start + 4)
        if end == -1:
            return "".join(kept)
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


def readme_language(language: str | None) -> str:
    """The language the README's own words are in: the project's, where translated."""
    if language is not None and language in README_LABELS:
        return language
    return DEFAULT_README_LANGUAGE


def _blocks(content: str) -> list[list[str]]:
    """The document's paragraphs (runs of non-blank lines), without front matter, comments
    and fenced code."""
    text = without_comments(_FRONT_MATTER.sub("", content.replace("\r\n", "\n")))
    blocks: list[list[str]] = [[]]
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line.strip()):
            in_code = not in_code
            blocks.append([])
        elif in_code or not line.strip():
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [block for block in blocks if block]


def _setext_title(block: list[str]) -> str | None:
    if len(block) >= 2 and _SETEXT_UNDERLINE.match(block[1].strip()):
        first = block[0].strip()
        if first and not _LIST_ITEM.match(first) and not _THEMATIC_BREAK.match(first):
            return first
    return None


def document_title(content: str) -> str | None:
    """The document's first heading (``# Title`` or a title underlined with ``===``)."""
    for block in _blocks(content):
        for line in block:
            match = _ATX_HEADING.match(line.strip()[:_MAX_INLINE_CHARS])
            if match:
                return plain_text(match.group(1))
        setext = _setext_title(block)
        if setext is not None:
            return plain_text(setext)
    return None


def _is_prose(block: list[str]) -> bool:
    first = block[0]
    stripped = first.strip()
    return not (
        first.startswith(("    ", "\t"))  # indented code
        or stripped.startswith(_NOT_PROSE)
        or _LIST_ITEM.match(stripped)
        or _THEMATIC_BREAK.match(stripped)
        or _setext_title(block) is not None
    )


def document_summary(content: str) -> str | None:
    """The first sentence of the first paragraph of prose (headings, lists, tables, quotes,
    code and HTML skipped), on one line."""
    for block in _blocks(content):
        if not _is_prose(block):
            continue
        paragraph = plain_text(" ".join(line.strip() for line in block))
        if not paragraph:
            continue
        return _shorten(_SENTENCE_END.split(paragraph, maxsplit=1)[0].strip())
    return None


def plain_text(text: str) -> str:
    text = text[:_MAX_INLINE_CHARS]
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _shorten(text: str) -> str:
    if len(text) <= _MAX_SUMMARY_CHARS:
        return text
    return text[: _MAX_SUMMARY_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _link_text(title: str) -> str:
    # Brackets in a title would end the link text early.
    return title.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    document_type: DocumentType
    path: str
    content: str | None
    version: int | None


def render_readme(
    project_name: str, language: str | None, generated_at: datetime, entries: list[IndexEntry]
) -> str:
    labels = README_LABELS[readme_language(language)]
    lines = [f"# {project_name}", "", labels.intro.format(date=generated_at.date().isoformat()), ""]
    for number, entry in enumerate(entries, start=1):
        fallback_title = labels.titles[entry.document_type]
        if entry.content is None:
            lines.append(f"{number}. {fallback_title} — *{labels.absent}*")
            continue
        title = document_title(entry.content)
        if title is None:
            title = fallback_title
        summary = document_summary(entry.content)
        line = f"{number}. [{_link_text(title)}]({entry.path}) ({labels.version} {entry.version})"
        lines.append(f"{line} — {summary}" if summary else line)
    lines += ["", labels.manifest, ""]
    return "\n".join(lines)
