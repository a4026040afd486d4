"""What every layout is built from, and the pieces they share: requirements in EARS form and
the gaps a layout reports instead of inventing what a document does not say.

The words a layout adds around the documents' own text are fixed English (the tools read
English keywords such as SHALL, WHEN and ``#### Scenario:``); everything else is quoted from
the documents as written, in the project's language.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from app.exports.outline import ChecklistItem, Outline, Section, short_name
from app.projects.stages import DocumentType

NOT_STATED = "*Not stated in the project's documents (see `gaps` in manifest.json).*"

# "When the order is paid, the system shall send a receipt": the document's own trigger.
_CONDITIONAL = re.compile(
    r"^(?P<word>when|while|if)\s+(?P<condition>[^,]+),\s*(?P<rest>\S.*)$", re.I
)
_MODAL = re.compile(r"^(?:(?:the\s+)?system\s+)?(?:shall|must)\s+(?P<response>\S.*)$", re.I)


@dataclass(frozen=True, slots=True)
class SourceDocument:
    version: int
    outline: Outline


@dataclass(frozen=True, slots=True)
class LayoutSource:
    project_name: str
    # ASCII, for folder names tools put in branch names and paths (``001-coffee-at-home``).
    slug: str
    generated_at: datetime
    documents: dict[DocumentType, SourceDocument]

    def outline(self, document_type: DocumentType) -> Outline | None:
        document = self.documents.get(document_type)
        return document.outline if document else None

    def section(self, document_type: DocumentType, key: str) -> Section | None:
        found = self.outline(document_type)
        return found.section(key) if found else None

    def sections(self, document_type: DocumentType, keys: tuple[str, ...]) -> list[Section]:
        return [s for key in keys if (s := self.section(document_type, key)) is not None]

    def parts(self, document_type: DocumentType) -> tuple[Section, ...]:
        found = self.outline(document_type)
        return found.parts if found else ()

    def checklist(self) -> tuple[tuple[Section, ChecklistItem], ...]:
        plan = self.outline(DocumentType.PLAN)
        return plan.checklist if plan else ()

    @property
    def summary(self) -> str | None:
        idea = self.outline(DocumentType.IDEA)
        return idea.summary if idea else None

    @property
    def day(self) -> str:
        return self.generated_at.date().isoformat()


@dataclass(frozen=True, slots=True)
class Gap:
    """A file of the layout lacks something its tool expects, because no document says it."""

    file: str
    missing: str
    source: DocumentType | None


@dataclass(slots=True)
class LayoutFiles:
    files: dict[str, str] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    def gap(self, file: str, missing: str, source: DocumentType | None) -> None:
        self.gaps.append(Gap(file=file, missing=missing, source=source))


@dataclass(frozen=True, slots=True)
class Requirement:
    """One statement of a section, with the trigger the statement itself names (if any)."""

    name: str
    text: str
    keyword: str | None
    condition: str | None
    response: str

    @property
    def ears(self) -> str:
        """``WHEN …, THE SYSTEM SHALL …`` / ``THE SYSTEM SHALL …`` (IF takes THEN)."""
        shall = f"THE SYSTEM SHALL {self.response}"
        if self.keyword is None:
            return shall
        then = "THEN " if self.keyword == "IF" else ""
        return f"{self.keyword} {self.condition}, {then}{shall}"


def _response(text: str) -> str:
    modal = _MODAL.match(text)
    return modal.group("response") if modal else f"satisfy: {text}"


def requirement(text: str) -> Requirement:
    conditional = _CONDITIONAL.match(text)
    if conditional is None:
        return Requirement(short_name(text), text, None, None, _response(text))
    return Requirement(
        name=short_name(text),
        text=text,
        keyword=conditional.group("word").upper(),
        condition=conditional.group("condition").strip(),
        response=_response(conditional.group("rest").strip()),
    )


def requirements(section: Section) -> list[Requirement]:
    return [requirement(statement) for statement in section.statements]


def unique_names(names: list[str]) -> list[str]:
    """The names with a counter added to repeats, so each heading is told apart."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return unique


def bullets(items: tuple[str, ...] | list[str]) -> list[str]:
    return [f"- {item}" for item in items]


def section_block(section: Section, heading: str) -> list[str]:
    """A section copied under a heading of the layout, its Markdown as written."""
    return [f"{heading} {section.title}".rstrip(), "", section.body, ""] if section.body else []
